import { windowMs, type FeatureValue, type FeatureView } from '@shepherd/contracts/features';

/** One event of one entity, as window aggregates see it. */
export interface TimedValues {
  timeMs: number;
  values: Record<string, FeatureValue>;
}

export type AggregateValues = Record<string, number | null>;

/** The longest window of a view's aggregates, in ms (0 without aggregates). */
export function maxWindowMs(view: Pick<FeatureView, 'aggregates'>): number {
  return view.aggregates.reduce((max, agg) => Math.max(max, windowMs(agg.window)), 0);
}

/**
 * The view's aggregates as of `asOfMs`, over the events of one entity whose time lies in
 * (asOfMs − window, asOfMs]. Events after `asOfMs` never count, so a value computed for an event
 * holds only what was true at its time (no leakage). Empty windows: count and sum are 0; avg, min
 * and max are null. Null and non-numeric values are skipped, as SQL aggregates skip nulls.
 */
export function computeAggregates(
  view: Pick<FeatureView, 'aggregates'>,
  events: readonly TimedValues[],
  asOfMs: number,
): AggregateValues {
  const result: AggregateValues = {};
  for (const agg of view.aggregates) {
    const from = asOfMs - windowMs(agg.window);
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const event of events) {
      if (event.timeMs <= from || event.timeMs > asOfMs) continue;
      if (agg.field === undefined) {
        count += 1;
        continue;
      }
      const value = event.values[agg.field];
      if (typeof value !== 'number') continue;
      count += 1;
      sum += value;
      if (value < min) min = value;
      if (value > max) max = value;
    }
    switch (agg.function) {
      case 'count':
        result[agg.name] = count;
        break;
      case 'sum':
        result[agg.name] = sum;
        break;
      case 'avg':
        result[agg.name] = count === 0 ? null : sum / count;
        break;
      case 'min':
        result[agg.name] = count === 0 ? null : min;
        break;
      case 'max':
        result[agg.name] = count === 0 ? null : max;
        break;
    }
  }
  return result;
}
