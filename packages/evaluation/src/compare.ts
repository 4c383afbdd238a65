import type { Metrics } from './metrics.ts';

/** Which way is better for the metrics Shepherd computes; others are compared without a verdict. */
export const metricDirections: Record<string, 'higher' | 'lower'> = {
  roc_auc: 'higher',
  accuracy: 'higher',
  precision: 'higher',
  recall: 'higher',
  f1: 'higher',
  log_loss: 'lower',
  rmse: 'lower',
  mae: 'lower',
  r2: 'higher',
};

export interface MetricDelta {
  metric: string;
  candidate: number | null;
  champion: number | null;
  /** candidate - champion; null when either side lacks the metric. */
  absolute: number | null;
  /** (candidate - champion) / |champion|; null when either is missing or the champion is 0. */
  relative: number | null;
  /** Whether the candidate is better, by `metricDirections`; null when unknown or equal. */
  better: boolean | null;
}

/** Per-metric deltas over the union of both records, in the candidate's metric order first. */
export function compare(
  candidate: Metrics,
  champion: Metrics,
  directions: Record<string, 'higher' | 'lower'> = metricDirections,
): MetricDelta[] {
  const names = [...new Set([...Object.keys(candidate), ...Object.keys(champion)])];
  return names.map((metric) => {
    const c = finite(candidate[metric]);
    const b = finite(champion[metric]);
    const absolute = c === null || b === null ? null : c - b;
    const relative = absolute === null || b === 0 || b === null ? null : absolute / Math.abs(b);
    const direction = directions[metric];
    const better =
      absolute === null || absolute === 0 || direction === undefined
        ? null
        : direction === 'higher'
          ? absolute > 0
          : absolute < 0;
    return { metric, candidate: c, champion: b, absolute, relative, better };
  });
}

function finite(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
