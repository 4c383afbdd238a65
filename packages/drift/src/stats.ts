/**
 * The drift statistics on plain samples, each equal to its scipy counterpart:
 * ks_2samp, wasserstein_distance, spatial.distance.jensenshannon, chisquare, and the two-proportion
 * Z-test and PSI as Evidently writes them. Column-level drift (method choice, thresholds, profiles)
 * lives in detect.ts and reuses these.
 */
import { type KsPValue, ksTwoSamplePValue } from './kolmogorov.ts';
import { sortedCopy } from './sort.ts';
import { chiSquaredSf, erfc } from './special.ts';

function toSortedFloat64(values: ArrayLike<number>, name: string): Float64Array {
  const copy = Float64Array.from(values);
  for (let i = 0; i < copy.length; i++) {
    if (Number.isNaN(copy[i]!)) throw new RangeError(`${name} contains NaN at index ${i}`);
  }
  return sortedCopy(copy);
}

/** Largest |F₁(x) - F₂(x)| over the data, for two ascending samples (scipy's D, side='right'). */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= x) i++;
    while (j < n2 && b[j]! <= x) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > d) d = diff;
  }
  return d;
}

/** Two-sample Kolmogorov-Smirnov test, two-sided, as scipy.stats.ks_2samp(method='auto'). */
export function ksTwoSample(reference: ArrayLike<number>, current: ArrayLike<number>): KsPValue {
  if (reference.length === 0 || current.length === 0)
    throw new RangeError('ks_2samp needs two non-empty samples');
  const a = toSortedFloat64(reference, 'reference');
  const b = toSortedFloat64(current, 'current');
  return ksTwoSamplePValue(ksStatisticSorted(a, b), a.length, b.length);
}

/** First Wasserstein distance between two ascending samples: ∫|F₁ - F₂| over the merged steps. */
export function wassersteinSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let total = 0;
  let block = 0;
  let blockLength = 0;
  let x = Math.min(a[0]!, b[0]!);
  while (i < n1 || j < n2) {
    while (i < n1 && a[i]! <= x) i++;
    while (j < n2 && b[j]! <= x) j++;
    if (i >= n1 && j >= n2) break;
    const next = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    block += Math.abs(i / n1 - j / n2) * (next - x);
    // Blocked summation keeps the rounding error of millions of steps near that of pairwise sums.
    if (++blockLength === 1024) {
      total += block;
      block = 0;
      blockLength = 0;
    }
    x = next;
  }
  return total + block;
}

/** scipy.stats.wasserstein_distance(u, v) for unweighted samples. */
export function wassersteinDistance(u: ArrayLike<number>, v: ArrayLike<number>): number {
  if (u.length === 0 || v.length === 0)
    throw new RangeError('wasserstein_distance needs two non-empty samples');
  return wassersteinSorted(toSortedFloat64(u, 'u'), toSortedFloat64(v, 'v'));
}

/** Population standard deviation (numpy's np.std, ddof=0), two-pass. */
export function populationStd(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let squares = 0;
  let residual = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    squares += d * d;
    residual += d;
  }
  // The residual term corrects the rounding of the mean (the "corrected two-pass" formula).
  return Math.sqrt(Math.max(0, (squares - (residual * residual) / n) / n));
}

/**
 * Jensen-Shannon distance between two frequency vectors (scipy.spatial.distance.jensenshannon):
 * both are normalised to sum to 1; natural logarithm unless a base is given.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base?: number): number {
  if (p.length !== q.length) throw new RangeError(`vectors differ in length: ${p.length} and ${q.length}`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i]! >= 0) || !(q[i]! >= 0)) throw new RangeError('frequencies must be non-negative numbers');
    sp += p[i]!;
    sq += q[i]!;
  }
  if (!(sp > 0) || !(sq > 0)) throw new RangeError('each frequency vector needs a positive total');
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp;
    const qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) left += pi * Math.log(pi / m);
    if (qi > 0) right += qi * Math.log(qi / m);
  }
  let js = left + right;
  if (base !== undefined) js /= Math.log(base);
  return Math.sqrt(Math.max(0, js) / 2);
}

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  degreesOfFreedom: number;
}

/**
 * Pearson's chi-squared goodness of fit (scipy.stats.chisquare with f_exp, ddof=0). An expected
 * count of 0 where something was observed gives an infinite statistic and p = 0, as in scipy. With a
 * single category there is nothing to test: scipy returns NaN; this returns p = 1 (no evidence).
 */
export function chiSquareTest(observed: ArrayLike<number>, expected: ArrayLike<number>): ChiSquareResult {
  const k = observed.length;
  if (k !== expected.length)
    throw new RangeError(`observed has ${k} categories, expected ${expected.length}`);
  if (k === 0) throw new RangeError('chi-squared test needs at least one category');
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const o = observed[i]!;
    const e = expected[i]!;
    if (!(o >= 0) || !(e >= 0)) throw new RangeError('counts must be non-negative numbers');
    if (e === 0) {
      if (o > 0) statistic = Infinity;
      continue;
    }
    statistic += ((o - e) * (o - e)) / e;
  }
  const degreesOfFreedom = k - 1;
  if (degreesOfFreedom === 0) return { statistic, pValue: 1, degreesOfFreedom };
  return {
    statistic,
    pValue: statistic === Infinity ? 0 : chiSquaredSf(statistic, degreesOfFreedom),
    degreesOfFreedom,
  };
}

/**
 * Chi-squared test of homogeneity on the 2×k table (reference counts, current counts), as
 * scipy.stats.chi2_contingency with its default Yates correction when k = 2. Unlike Evidently's
 * goodness-of-fit form it treats the reference as a sample too, so its false-alarm rate is α.
 */
export function chiSquareContingency(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): ChiSquareResult {
  const k = referenceCounts.length;
  if (k !== currentCounts.length) throw new RangeError('count vectors differ in length');
  let n1 = 0;
  let n2 = 0;
  for (let j = 0; j < k; j++) {
    if (!(referenceCounts[j]! >= 0) || !(currentCounts[j]! >= 0))
      throw new RangeError('counts must be non-negative');
    n1 += referenceCounts[j]!;
    n2 += currentCounts[j]!;
  }
  if (!(n1 > 0) || !(n2 > 0)) throw new RangeError('both samples need at least one value');
  const total = n1 + n2;
  const degreesOfFreedom = k - 1;
  if (degreesOfFreedom === 0) return { statistic: 0, pValue: 1, degreesOfFreedom };
  let statistic = 0;
  for (let j = 0; j < k; j++) {
    const column = referenceCounts[j]! + currentCounts[j]!;
    if (column === 0) throw new RangeError('a category with no count in either sample');
    for (const [observed, rowTotal] of [
      [referenceCounts[j]!, n1],
      [currentCounts[j]!, n2],
    ] as const) {
      const expected = (rowTotal * column) / total;
      let o = observed;
      if (degreesOfFreedom === 1) {
        // Yates: move each observation half a unit towards its expectation (never past it).
        const diff = expected - o;
        o += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      statistic += ((o - expected) * (o - expected)) / expected;
    }
  }
  return { statistic, pValue: chiSquaredSf(statistic, degreesOfFreedom), degreesOfFreedom };
}

export interface ZTestResult {
  statistic: number;
  pValue: number;
}

/**
 * Two-proportion Z-test, pooled variance, two-sided: z = (p₁ - p₂)/√(P(1-P)(1/n₁ + 1/n₂)).
 * The p-value is erfc(|z|/√2), i.e. 2·(1 - Φ(|z|)) without its cancellation (Evidently computes the
 * latter, which reads 0 below ~1e-16 where this keeps digits).
 */
export function zTestTwoProportions(
  successes1: number,
  n1: number,
  successes2: number,
  n2: number,
): ZTestResult {
  if (!(n1 > 0) || !(n2 > 0)) throw new RangeError('both samples need at least one value');
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  if (variance === 0) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / Math.sqrt(variance);
  return { statistic: z, pValue: erfc(Math.abs(z) / Math.SQRT2) };
}

/** PSI = Σ (r - c)·ln(r/c) over bins, on shares that contain no zeros (see fillZeroShares). */
export function populationStabilityIndex(
  referenceShares: ArrayLike<number>,
  currentShares: ArrayLike<number>,
): number {
  if (referenceShares.length !== currentShares.length) throw new RangeError('share vectors differ in length');
  let psi = 0;
  for (let i = 0; i < referenceShares.length; i++) {
    const r = referenceShares[i]!;
    const c = currentShares[i]!;
    psi += (r - c) * Math.log(r / c);
  }
  return psi;
}

/**
 * Evidently's zero filling before PSI: an empty bin gets 1e-4, or a millionth of the smallest
 * non-empty share when that is itself ≤ 1e-4, so the logarithm stays finite.
 */
export function fillZeroShares(shares: Float64Array): Float64Array {
  let smallest = Infinity;
  for (const s of shares) if (s !== 0 && s < smallest) smallest = s;
  const fill = smallest <= 0.0001 ? smallest / 10 ** 6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

/**
 * numpy.histogram_bin_edges(data, bins='sturges') from the data's size and range: ⌈ptp/width⌉
 * equal bins with width = ptp/(log₂ n + 1), edges by numpy's linspace.
 */
export function sturgesEdges(min: number, max: number, size: number): Float64Array {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const width = (max - min) / (Math.log2(size) + 1);
  const bins = width ? Math.ceil((last - first) / width) : 1;
  const step = (last - first) / bins;
  const edges = new Float64Array(bins + 1);
  for (let i = 0; i < bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/** Index of the histogram bin of x for ascending edges; the last bin includes its right edge (numpy). */
export function binIndex(edges: Float64Array, x: number): number {
  const bins = edges.length - 1;
  const first = edges[0]!;
  const last = edges[bins]!;
  if (x === last) return bins - 1;
  let i = Math.floor(((x - first) / (last - first)) * bins);
  if (i < 0) i = 0;
  if (i > bins - 1) i = bins - 1;
  while (i > 0 && x < edges[i]!) i--;
  while (i < bins - 1 && x >= edges[i + 1]!) i++;
  return i;
}

/**
 * Benjamini-Hochberg adjusted p-values (q-values): q₍ᵢ₎ = min_{j ≥ i} p₍ⱼ₎·m/j, capped at 1.
 * A hypothesis is rejected at FDR level α when its q-value is ≤ α.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const adjusted = new Array<number>(m).fill(1);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const [p, index] = order[rank - 1]!;
    running = Math.min(running, (p * m) / rank);
    adjusted[index] = running;
  }
  return adjusted;
}
