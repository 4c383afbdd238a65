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
  /** Where to start in `events`: the caller knows every event before it is outside all windows. */
  from = 0,
): AggregateValues {
  const { specs, count, sum, min, max } = compiled(view.aggregates);
  const n = specs.length;
  // Scratch arrays of this definition, reset here: the call is synchronous, so no one else is
  // using them.
  count.fill(0);
  sum.fill(0);
  min.fill(Infinity);
  max.fill(-Infinity);
  // One pass over the events for every aggregate (each event's fields read once per aggregate
  // whose window holds it), in the events' own order, so sums add up exactly as they always did.
  for (let e = from; e < events.length; e++) {
    const event = events[e]!;
    const age = asOfMs - event.timeMs;
    if (age < 0) continue;
    for (let i = 0; i < n; i++) {
      const spec = specs[i]!;
      if (age >= spec.windowMs) continue;
      if (spec.field === undefined) {
        count[i]! += 1;
        continue;
      }
      const value = event.values[spec.field];
      if (typeof value !== 'number') continue;
      count[i]! += 1;
      sum[i]! += value;
      if (value < min[i]!) min[i] = value;
      if (value > max[i]!) max[i] = value;
    }
  }
  const result: AggregateValues = {};
  for (let i = 0; i < n; i++) {
    const spec = specs[i]!;
    const c = count[i]!;
    switch (spec.function) {
      case 'count':
        result[spec.name] = c;
        break;
      case 'sum':
        result[spec.name] = sum[i]!;
        break;
      case 'avg':
        result[spec.name] = c === 0 ? null : sum[i]! / c;
        break;
      case 'min':
        result[spec.name] = c === 0 ? null : min[i]!;
        break;
      case 'max':
        result[spec.name] = c === 0 ? null : max[i]!;
        break;
    }
  }
  return result;
}

interface CompiledAggregate {
  name: string;
  function: FeatureView['aggregates'][number]['function'];
  field: string | undefined;
  windowMs: number;
}

interface Compiled {
  specs: CompiledAggregate[];
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
}

/** Window lengths parsed once per definition, not once per event; running totals allocated once. */
function compiled(aggregates: FeatureView['aggregates']): Compiled {
  let found = compiledAggregates.get(aggregates);
  if (!found) {
    const n = aggregates.length;
    found = {
      specs: aggregates.map((agg) => ({
        name: agg.name,
        function: agg.function,
        field: agg.field,
        windowMs: windowMs(agg.window),
      })),
      count: new Float64Array(n),
      sum: new Float64Array(n),
      min: new Float64Array(n),
      max: new Float64Array(n),
    };
    compiledAggregates.set(aggregates, found);
  }
  return found;
}

const compiledAggregates = new WeakMap<FeatureView['aggregates'], Compiled>();

/**
 * One entity's events in the order they became known, as the ingestion writer builds them, with
 * the running maximum of their times. An aggregate as of t can then skip the leading events that
 * are all older than the longest window before t (a binary search), and still read the rest in the
 * same order as a full scan: the same events, so the same sums to the last bit. Ingestion computes
 * an aggregate for every event, over an entity's last two windows of history, and that scan was
 * its largest single cost (18 % of the process's CPU).
 */
export class EntityHistory {
  private readonly runningMax: number[] = [];

  /** Takes `events` as it is and appends to it. */
  constructor(readonly events: TimedValues[]) {
    let max = -Infinity;
    for (const event of events) {
      if (event.timeMs > max) max = event.timeMs;
      this.runningMax.push(max);
    }
  }

  push(event: TimedValues): void {
    this.events.push(event);
    const last = this.runningMax.length === 0 ? -Infinity : this.runningMax[this.runningMax.length - 1]!;
    this.runningMax.push(event.timeMs > last ? event.timeMs : last);
  }

  /** The aggregates as of `asOfMs`, exactly as `computeAggregates` over every event gives them. */
  aggregates(
    view: Pick<FeatureView, 'aggregates'>,
    asOfMs: number,
    longestWindowMs: number,
  ): AggregateValues {
    // An event counts when asOfMs - windowMs < time; at or before this bound it counts for none.
    const bound = asOfMs - longestWindowMs;
    let low = 0;
    let high = this.runningMax.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.runningMax[mid]! <= bound) low = mid + 1;
      else high = mid;
    }
    return computeAggregates(view, this.events, asOfMs, low);
  }
}
