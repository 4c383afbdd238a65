/**
 * The arithmetic behind the dashboard's SVG charts, kept apart from React so it is tested alone:
 * axis ticks, scales, line paths with gaps, and histograms as shares.
 */

/** Ticks at 1, 2 or 5 × 10ⁿ covering [0, max] (charts here start at zero), at most `count` + 1 of them. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: number[] = [];
  // Rounded to the step's precision: 0.1 * 3 is not 0.30000000000000004 on an axis.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let value = 0; value < max + step * 1e-9; value += step) ticks.push(Number(value.toFixed(digits)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number((ticks.length * step).toFixed(digits)));
  return ticks;
}

/** Maps [domain0, domain1] onto [range0, range1]; a zero-width domain maps to the range's middle. */
export function linearScale(domain: [number, number], range: [number, number]) {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  return (value: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + ((value - d0) / (d1 - d0)) * (r1 - r0));
}

/**
 * An SVG path through the points, broken where a value is missing (null): a bucket without traffic
 * has no latency, and a line drawn across it would invent one.
 */
export function linePath(
  values: readonly (number | null)[],
  x: (index: number) => number,
  y: (value: number) => number,
): string {
  let path = '';
  let drawing = false;
  values.forEach((value, i) => {
    if (value === null || !Number.isFinite(value)) {
      drawing = false;
      return;
    }
    path += `${drawing ? 'L' : 'M'}${x(i).toFixed(1)},${y(value).toFixed(1)} `;
    drawing = true;
  });
  return path.trim();
}

/** Points that have no neighbour with a value: a path of one point draws nothing, so they get a dot. */
export function isolatedPoints(values: readonly (number | null)[]): number[] {
  const has = (i: number) => {
    const value = values[i];
    return value !== null && value !== undefined && Number.isFinite(value);
  };
  return values.map((_, i) => i).filter((i) => has(i) && !has(i - 1) && !has(i + 1));
}

/** The largest finite value of several series (and extra lines such as a threshold), or 0. */
export function maxOf(...series: readonly (readonly (number | null)[])[]): number {
  let max = 0;
  for (const values of series)
    for (const value of values) if (value !== null && Number.isFinite(value) && value > max) max = value;
  return max;
}

/** One bin of a paired histogram: each side's share of its own total. */
export interface HistogramBar {
  label: string;
  reference: number;
  current: number;
}

/** Counts as shares of their total, so a window of 300 compares with a reference of 30 000. */
export function shares(counts: readonly number[], total: number): number[] {
  return counts.map((count) => (total > 0 ? count / total : 0));
}

/**
 * A drift score on an axis where higher always means "moved more": p-value tests (drifted below
 * their threshold) as −log₁₀ p, distances (drifted above it) as they are. p = 0 is capped at 10⁻³⁰⁰.
 */
export const pValueMethods = new Set(['ks', 'chisquare', 'chi2_contingency', 'z']);

export function driftAxisValue(method: string, score: number): number {
  return pValueMethods.has(method) ? -Math.log10(Math.max(score, 1e-300)) : score;
}
