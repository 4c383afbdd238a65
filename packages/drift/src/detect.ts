/**
 * Column and dataset drift, deciding like Evidently's DataDriftPreset unless told otherwise:
 *
 * - reference ≤ 1000 rows: numeric → KS (p ≤ 0.05), but with ≤ 5 distinct values (reference and
 *   current together) chi² (p < 0.05), or the Z-test (p < 0.05) with ≤ 2; categorical → chi², or Z
 *   with ≤ 2 distinct values;
 * - reference > 1000 rows: numeric → Wasserstein distance / reference std ≥ 0.1, but Jensen-Shannon
 *   ≥ 0.1 with ≤ 5 distinct values; categorical → Jensen-Shannon distance ≥ 0.1;
 * - the dataset drifts when the share of drifted columns is ≥ 0.5.
 *
 * Beyond Evidently (both off by default, so default verdicts equal Evidently's): a minimum effect
 * size for the p-value tests, and Benjamini-Hochberg adjustment of their p-values across columns.
 * See README.md for the reasoning.
 */
import { driftMethods } from '@shepherd/contracts/drift';
import { z } from 'zod';
import { ShepherdError } from '@shepherd/core/errors';
import {
  type CategoricalValues,
  type ColumnKind,
  type ColumnsInput,
  type NumericValues,
  cleanNumeric,
  countCategories,
  resolveColumn,
} from './columns.ts';
import { ksTwoSamplePValue } from './kolmogorov.ts';
import { sortedCopy } from './sort.ts';
import {
  type CategoricalReference,
  type ColumnReference,
  type NumericReference,
  type ProfileOptions,
  type ReferenceProfile,
  MAX_DISTINCT_KEPT,
  referenceFromProfile,
  referencesFromColumns,
} from './profile.ts';
import {
  benjaminiHochberg,
  binIndex,
  chiSquareContingency,
  chiSquareTest,
  fillZeroShares,
  jensenShannonDistance,
  populationStabilityIndex,
  sturgesEdges,
  zTestTwoProportions,
} from './stats.ts';

export const DRIFT_METHODS = driftMethods;
export type DriftMethod = (typeof DRIFT_METHODS)[number];

/** Tests that yield a p-value (drift when it is small); the others yield a distance (drift when large). */
export const P_VALUE_METHODS = ['ks', 'chisquare', 'chi2_contingency', 'z'] as const;
export type PValueMethod = (typeof P_VALUE_METHODS)[number];
const isPValueMethod = (m: DriftMethod): m is PValueMethod =>
  (P_VALUE_METHODS as readonly string[]).includes(m);

/** Evidently's default thresholds. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  chi2_contingency: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** Minimum effects suggested when `minEffect: 'recommended'`: Cohen's "small" for w, V and h; D = 0.1 for KS. */
export const RECOMMENDED_MIN_EFFECT: Readonly<Record<PValueMethod, number>> = {
  ks: 0.1,
  chisquare: 0.1,
  chi2_contingency: 0.1,
  z: 0.2,
};

const METHODS_FOR_KIND: Readonly<Record<ColumnKind, readonly DriftMethod[]>> = {
  numeric: DRIFT_METHODS,
  categorical: ['jensenshannon', 'psi', 'chisquare', 'chi2_contingency', 'z'],
};

export type EffectMeasure =
  | 'ks_statistic'
  | 'cohens_w'
  | 'cramers_v'
  | 'cohens_h'
  | 'wasserstein_normed'
  | 'jensenshannon_distance'
  | 'psi';

const methodSchema = z.enum(DRIFT_METHODS);
const pValueMinEffectSchema = z.object({
  ks: z.number().min(0).optional(),
  chisquare: z.number().min(0).optional(),
  chi2_contingency: z.number().min(0).optional(),
  z: z.number().min(0).optional(),
});

export const DriftOptionsSchema = z.object({
  /** Method for every column (overrides the automatic choice). */
  method: methodSchema.optional(),
  numericMethod: methodSchema.optional(),
  categoricalMethod: methodSchema.optional(),
  /** Threshold for every column (overrides each method's default). */
  threshold: z.number().nonnegative().optional(),
  numericThreshold: z.number().nonnegative().optional(),
  categoricalThreshold: z.number().nonnegative().optional(),
  /** Per column: method, threshold, minimum effect. */
  columns: z
    .record(
      z.string(),
      z.object({
        method: methodSchema.optional(),
        threshold: z.number().nonnegative().optional(),
        minEffect: z.number().min(0).optional(),
      }),
    )
    .optional(),
  /** Minimum effect size for p-value tests: a significant column with a smaller effect does not drift. */
  minEffect: z.union([z.literal('recommended'), pValueMinEffectSchema]).optional(),
  /** Adjust p-values across columns (Benjamini-Hochberg false-discovery rate). */
  multipleTesting: z.enum(['none', 'benjamini-hochberg']).optional(),
  /** Share of drifted columns at which the dataset drifts (default 0.5). */
  driftShare: z.number().min(0).max(1).optional(),
  /** Reference sizes up to this use the p-value tests, above it the distances (default 1000). */
  smallReferenceRows: z.number().int().nonnegative().optional(),
  /** Columns to test (default: every profiled column). */
  only: z.array(z.string()).optional(),
});
export type DriftOptions = z.infer<typeof DriftOptionsSchema>;

export interface ColumnDrift {
  column: string;
  kind: ColumnKind;
  method: DriftMethod;
  /** KS D, chi², z, normalised Wasserstein distance, Jensen-Shannon distance or PSI. */
  statistic: number;
  pValue?: number;
  /** Benjamini-Hochberg adjusted p-value, when that adjustment is on. */
  pValueAdjusted?: number;
  /** What is compared with the threshold: the (adjusted) p-value, or the distance. */
  score: number;
  threshold: number;
  drifted: boolean;
  effect: number;
  effectMeasure: EffectMeasure;
  /** Set when a minimum effect applied to this column. */
  minEffect?: number;
  /** True when the p-value said drift but the effect was below the minimum. */
  suppressedBySmallEffect?: boolean;
  referenceCount: number;
  currentCount: number;
  currentMissing: number;
  /** Computed against a sampled reference rather than every reference value (see README). */
  approximate: boolean;
}

export interface DatasetDrift {
  columns: ColumnDrift[];
  numberOfColumns: number;
  numberOfDriftedColumns: number;
  shareOfDriftedColumns: number;
  driftShare: number;
  datasetDrift: boolean;
  multipleTesting: 'none' | 'benjamini-hochberg';
}

// ---------------------------------------------------------------------------------------------
// Numeric comparison against a sorted reference, without sorting the current window.

interface BucketedReference {
  /** Distinct reference values, ascending, and how many reference values are ≤ each. */
  unique: Float64Array;
  cumulative: Float64Array;
  size: number;
  /** Grid over [unique[0], unique[last]] for the bucket search: cell → range of candidate values. */
  grid?: { cellStart: Int32Array; cellEnd: Int32Array; cellScale: number };
}

const bucketCache = new WeakMap<Float64Array, BucketedReference>();

function bucketed(sorted: Float64Array): BucketedReference {
  const cached = bucketCache.get(sorted);
  if (cached) return cached;
  const n = sorted.length;
  const uniqueAll = new Float64Array(n);
  const cumulativeAll = new Float64Array(n);
  let d = 0;
  for (let i = 0; i < n;) {
    const v = sorted[i]!;
    let j = i + 1;
    while (j < n && sorted[j] === v) j++;
    uniqueAll[d] = v;
    cumulativeAll[d++] = j;
    i = j;
  }
  const result: BucketedReference = {
    unique: d === n ? uniqueAll : uniqueAll.slice(0, d),
    cumulative: d === n ? cumulativeAll : cumulativeAll.slice(0, d),
    size: n,
  };
  bucketCache.set(sorted, result);
  return result;
}

/**
 * Grid cell of x ≥ lo; one formula for reference values and window values, so cells are monotone in x.
 * Truncation equals floor here (the argument is non-negative and below 2^22).
 */
function cellIndex(x: number, lo: number, scale: number, cells: number): number {
  const c = ((x - lo) * scale) | 0;
  return c < cells ? c : cells - 1;
}

function gridOf(reference: BucketedReference): NonNullable<BucketedReference['grid']> {
  if (reference.grid) return reference.grid;
  const { unique } = reference;
  const d = unique.length;
  const cells = Math.max(1, Math.min(2 * d, 1 << 22));
  const span = unique[d - 1]! - unique[0]!;
  const cellScale = span > 0 ? cells / span : 0;
  const cellStart = new Int32Array(cells).fill(d);
  const cellEnd = new Int32Array(cells).fill(0);
  // Every value goes to cell ⌊(v - lo)·scale⌋; the map is monotone, so a value's bucket lies among the
  // unique values that share its cell (or at the boundary with the cells before it).
  for (let j = 0; j < d; j++) {
    const c = cellIndex(unique[j]!, unique[0]!, cellScale, cells);
    if (cellStart[c]! > j) cellStart[c] = j;
    cellEnd[c] = j + 1;
  }
  let next = d;
  for (let c = cells - 1; c >= 0; c--) {
    if (cellEnd[c] === 0 && cellStart[c] === d) {
      cellStart[c] = next;
      cellEnd[c] = next;
    } else {
      next = cellStart[c]!;
    }
  }
  reference.grid = { cellStart, cellEnd, cellScale };
  return reference.grid;
}

interface NumericComparison {
  ks: number;
  wasserstein: number;
}

/**
 * KS statistic and first Wasserstein distance between the reference (as its sorted values, each of
 * weight 1/size) and the current window. The window is not sorted: each value is placed in the
 * bucket between two consecutive distinct reference values, where the reference CDF is constant.
 * Per bucket, counts give the KS candidates exactly, and Σ(upper edge - x) gives ∫F_current exactly;
 * only buckets where the current CDF crosses the reference level need a look at their values.
 */
function compareNumeric(
  reference: BucketedReference,
  current: Float64Array,
  wantWasserstein: boolean,
): NumericComparison {
  // With about as many reference steps as current values (every value of a large reference), buckets
  // hold one value each and sorting the window once is cheaper.
  if (reference.unique.length > MERGE_ABOVE_STEPS) return compareSorted(reference, sortedCopy(current));
  const { unique, cumulative, size } = reference;
  const { cellStart, cellEnd, cellScale } = gridOf(reference);
  const d = unique.length;
  const n = current.length;
  const lo = unique[0]!;
  const hi = unique[d - 1]!;
  const cells = cellStart.length;
  const count = new Float64Array(d + 1);
  const equal = new Float64Array(d + 1);
  const partial = new Float64Array(d + 1);
  const bucketOf = wantWasserstein ? (d < 65535 ? new Uint16Array(n) : new Int32Array(n)) : undefined;
  for (let i = 0; i < n; i++) {
    const x = current[i]!;
    let b: number;
    if (x < lo) {
      b = 0;
      partial[0]! += lo - x;
    } else if (x >= hi) {
      b = d;
      partial[d]! += x - hi;
      if (x === hi) equal[d]!++;
    } else {
      // Bucket b = number of unique values ≤ x, with lo ≤ x < hi, so 1 ≤ b ≤ d - 1.
      const c = cellIndex(x, lo, cellScale, cells);
      let l = cellStart[c]!;
      let h = cellEnd[c]!;
      // unique[l - 1] ≤ x always holds (cells before hold smaller values); search [l, h) for the first > x.
      while (l < h) {
        const mid = (l + h) >>> 1;
        if (unique[mid]! <= x) l = mid + 1;
        else h = mid;
      }
      b = l;
      partial[b]! += unique[b]! - x;
      if (x === unique[b - 1]) equal[b]!++;
    }
    count[b]!++;
    if (bucketOf) bucketOf[i] = b;
  }

  // KS: at each reference value, and at the last current value of each bucket.
  let ks = 0;
  let before = 0;
  for (let b = 0; b <= d; b++) {
    const level = b === 0 ? 0 : cumulative[b - 1]! / size;
    if (b >= 1) {
      const diff = Math.abs(level - (before + equal[b]!) / n);
      if (diff > ks) ks = diff;
    }
    before += count[b]!;
    if (count[b]! > 0) {
      const diff = Math.abs(level - before / n);
      if (diff > ks) ks = diff;
    }
  }
  if (!wantWasserstein || !bucketOf) return { ks, wasserstein: NaN };

  // Wasserstein: ∫|F_current - F_reference| bucket by bucket.
  let total = partial[0]! / n + partial[d]! / n;
  const crossing: number[] = [];
  before = count[0]!;
  for (let b = 1; b < d; b++) {
    const level = cumulative[b - 1]! / size;
    const width = unique[b]! - unique[b - 1]!;
    const start = before / n;
    const end = (before + count[b]!) / n;
    if (level >= end) total += (level - start) * width - partial[b]! / n;
    else if (level <= start) total += (start - level) * width + partial[b]! / n;
    else crossing.push(b);
    before += count[b]!;
  }
  if (crossing.length > 0)
    total += crossingIntegral(crossing, unique, cumulative, size, count, current, bucketOf);
  return { ks, wasserstein: total };
}

/**
 * ∫|F_current - level| over buckets where the current CDF crosses the reference level. Inside such a
 * bucket [u, v) holding c values, F_current < level exactly left of y₍ₘ₎, the m-th smallest value with
 * m = ⌈level·n - before⌉; so a selection of y₍ₘ₎ (not a sort) splits the integral into two one-signed
 * parts, each given by sums over the values on its side:
 *   ∫_u^{y₍ₘ₎} (level - F) = (level - a)(y₍ₘ₎ - u) - Σ_{k<m} (y₍ₘ₎ - y₍ₖ₎)/n
 *   ∫_{y₍ₘ₎}^v (F - level) = (a - level)(v - y₍ₘ₎) + [(m-1)(v - y₍ₘ₎) + Σ_{k≥m} (v - y₍ₖ₎)]/n
 * with a = before/n, the current CDF just below u.
 */
function crossingIntegral(
  crossing: number[],
  unique: Float64Array,
  cumulative: Float64Array,
  size: number,
  count: Float64Array,
  current: Float64Array,
  bucketOf: Uint16Array | Int32Array,
): number {
  const n = current.length;
  const d = unique.length;
  const slot = new Int32Array(d + 1).fill(-1);
  const offsets = new Int32Array(crossing.length + 1);
  for (let k = 0; k < crossing.length; k++) {
    slot[crossing[k]!] = k;
    offsets[k + 1] = offsets[k]! + count[crossing[k]!]!;
  }
  const values = new Float64Array(offsets[crossing.length]!);
  const fill = offsets.slice(0, crossing.length);
  for (let i = 0; i < n; i++) {
    const k = slot[bucketOf[i]!]!;
    if (k >= 0) values[fill[k]!++] = current[i]!;
  }
  const below = new Float64Array(d + 1);
  for (let b = 1; b <= d; b++) below[b] = below[b - 1]! + count[b - 1]!;
  let total = 0;
  for (let k = 0; k < crossing.length; k++) {
    const b = crossing[k]!;
    const from = offsets[k]!;
    const to = offsets[k + 1]!;
    const level = cumulative[b - 1]! / size;
    const lower = unique[b - 1]!;
    const upper = unique[b]!;
    const a = below[b]! / n;
    const m = Math.ceil(level * n - below[b]!);
    // 1 ≤ m ≤ c, since a < level < (before + c)/n for a crossing bucket.
    const split = from + Math.min(Math.max(m, 1), to - from) - 1;
    select(values, from, to - 1, split);
    const ym = values[split]!;
    let leftGap = 0;
    for (let i = from; i < split; i++) leftGap += ym - values[i]!;
    let rightGap = 0;
    for (let i = split; i < to; i++) rightGap += upper - values[i]!;
    const left = (level - a) * (ym - lower) - leftGap / n;
    const right = (a - level) * (upper - ym) + ((split - from) * (upper - ym) + rightGap) / n;
    total += left + right;
  }
  return total;
}

/** Rearranges values[lo..hi] so that values[k] is its order statistic, smaller ones before, larger after. */
function select(values: Float64Array, lo0: number, hi0: number, k: number): void {
  let lo = lo0;
  let hi = hi0;
  while (hi > lo) {
    // Median of three as the pivot, then Hoare partition.
    const mid = (lo + hi) >>> 1;
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Above this many distinct reference values the window is sorted and merged instead of bucketed. */
const MERGE_ABOVE_STEPS = 50000;

/** KS and Wasserstein by walking the reference steps and the sorted window together (scipy's way). */
function compareSorted(reference: BucketedReference, current: Float64Array): NumericComparison {
  const { unique, cumulative, size } = reference;
  const d = unique.length;
  const n = current.length;
  let i = 0;
  let j = 0;
  let ks = 0;
  let total = 0;
  let block = 0;
  let blockLength = 0;
  let x = Math.min(unique[0]!, current[0]!);
  for (;;) {
    while (i < d && unique[i]! <= x) i++;
    while (j < n && current[j]! <= x) j++;
    const diff = Math.abs((i === 0 ? 0 : cumulative[i - 1]! / size) - j / n);
    if (diff > ks) ks = diff;
    if (i >= d && j >= n) break;
    const next = j >= n || (i < d && unique[i]! <= current[j]!) ? unique[i]! : current[j]!;
    block += diff * (next - x);
    if (++blockLength === 1024) {
      total += block;
      block = 0;
      blockLength = 0;
    }
    x = next;
  }
  return { ks, wasserstein: total + block };
}

// ---------------------------------------------------------------------------------------------
// Binned and categorical comparisons

interface Frequencies {
  keys: string[];
  reference: Float64Array;
  current: Float64Array;
}

/** Reference and current counts over the union of their values (Evidently's value binning). */
function unionFrequencies(reference: Map<string, number>, current: Map<string, number>): Frequencies {
  // Sorted so that a profile (categories by count) and raw data (first-seen order) sum in the same order.
  const keys = [...new Set([...reference.keys(), ...current.keys()])].sort();
  return {
    keys,
    reference: Float64Array.from(keys, (k) => reference.get(k) ?? 0),
    current: Float64Array.from(keys, (k) => current.get(k) ?? 0),
  };
}

function numericValueCounts(values: Float64Array): Map<string, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return new Map([...counts].map(([v, c]) => [String(v), c]));
}

/**
 * Reference counts per value of a numeric column: exact from the kept distinct values, else from the
 * sample scaled to the column's count (exact when the sample holds every value).
 */
function referenceValueCounts(reference: NumericReference): Map<string, number> {
  if (reference.distinct) {
    return new Map(
      Array.from(reference.distinct.values, (v, i) => [String(v), reference.distinct!.counts[i]!]),
    );
  }
  const scale = reference.count / reference.sorted.length;
  const counts = numericValueCounts(reference.sorted);
  for (const [k, c] of counts) counts.set(k, c * scale);
  return counts;
}

/** Shares of reference and current per Sturges bin over their joint range (Evidently's numeric binning). */
function sturgesShares(
  reference: NumericReference,
  current: Float64Array,
  currentMin: number,
  currentMax: number,
) {
  const min = Math.min(reference.min, currentMin);
  const max = Math.max(reference.max, currentMax);
  const edges = sturgesEdges(min, max, reference.count + current.length);
  const bins = edges.length - 1;
  const ref = new Float64Array(bins);
  for (let i = 0; i < reference.sorted.length; i++) ref[binIndex(edges, reference.sorted[i]!)]!++;
  for (let b = 0; b < bins; b++) ref[b]! /= reference.sorted.length;
  const cur = new Float64Array(bins);
  for (let i = 0; i < current.length; i++) cur[binIndex(edges, current[i]!)]!++;
  for (let b = 0; b < bins; b++) cur[b]! /= current.length;
  return { reference: ref, current: cur };
}

interface TestOutcome {
  statistic: number;
  pValue?: number;
  effect: number;
  effectMeasure: EffectMeasure;
}

function contingencyOutcome(f: Frequencies): TestOutcome {
  const result = chiSquareContingency(f.reference, f.current);
  let total = 0;
  for (let j = 0; j < f.keys.length; j++) total += f.reference[j]! + f.current[j]!;
  return {
    statistic: result.statistic,
    pValue: result.pValue,
    effect: Math.sqrt(result.statistic / total),
    effectMeasure: 'cramers_v',
  };
}

function chiSquareOutcome(f: Frequencies, referenceCount: number, currentCount: number): TestOutcome {
  const scale = currentCount / referenceCount;
  const expected = f.reference.map((c) => c * scale);
  const result = chiSquareTest(f.current, expected);
  return {
    statistic: result.statistic,
    pValue: result.pValue,
    effect: Math.sqrt(result.statistic / currentCount),
    effectMeasure: 'cohens_w',
  };
}

/** Evidently's Z-test: the first value (sorted) against all others. */
function zOutcome(
  f: Frequencies,
  referenceCount: number,
  currentCount: number,
  numericKeys: boolean,
): TestOutcome {
  const order = f.keys.map((_, i) => i);
  order.sort((a, b) =>
    numericKeys
      ? Number(f.keys[a]) - Number(f.keys[b])
      : f.keys[a]! < f.keys[b]!
        ? -1
        : f.keys[a]! > f.keys[b]!
          ? 1
          : 0,
  );
  const first = order[0]!;
  const p1 = (referenceCount - f.reference[first]!) / referenceCount;
  const p2 = (currentCount - f.current[first]!) / currentCount;
  const effect = Math.abs(2 * Math.asin(Math.sqrt(p1)) - 2 * Math.asin(Math.sqrt(p2)));
  // Both windows constant on the same value: no evidence of change (Evidently returns p = 1).
  if (f.keys.length === 1) return { statistic: 0, pValue: 1, effect: 0, effectMeasure: 'cohens_h' };
  const result = zTestTwoProportions(
    referenceCount - f.reference[first]!,
    referenceCount,
    currentCount - f.current[first]!,
    currentCount,
  );
  return { statistic: result.statistic, pValue: result.pValue, effect, effectMeasure: 'cohens_h' };
}

function distanceOutcome(statistic: number, effectMeasure: EffectMeasure): TestOutcome {
  return { statistic, effect: statistic, effectMeasure };
}

function sharesOf(f: Frequencies, referenceCount: number, currentCount: number) {
  return {
    reference: f.reference.map((c) => c / referenceCount),
    current: f.current.map((c) => c / currentCount),
  };
}

// ---------------------------------------------------------------------------------------------
// Column evaluation

interface ColumnPlan {
  method: DriftMethod;
  threshold: number;
  minEffect?: number;
}

function distinctUnionAtMost(reference: NumericReference, current: Float64Array, limit: number): number {
  if (!reference.distinct || reference.distinct.values.length > limit) return limit + 1;
  const seen = new Set<number>(reference.distinct.values);
  for (let i = 0; i < current.length && seen.size <= limit; i++) seen.add(current[i]!);
  return seen.size;
}

function defaultMethod(
  kind: ColumnKind,
  referenceCount: number,
  distinctValues: number,
  smallReferenceRows: number,
): DriftMethod {
  if (referenceCount <= smallReferenceRows) {
    if (kind === 'numeric' && distinctValues > 5) return 'ks';
    return distinctValues > 2 ? 'chisquare' : 'z';
  }
  if (kind === 'numeric' && distinctValues > 5) return 'wasserstein';
  return 'jensenshannon';
}

function planFor(
  name: string,
  kind: ColumnKind,
  referenceCount: number,
  distinctValues: () => number,
  options: DriftOptions,
): ColumnPlan {
  const perColumn = options.columns?.[name];
  const method =
    perColumn?.method ??
    (kind === 'numeric' ? options.numericMethod : options.categoricalMethod) ??
    options.method ??
    defaultMethod(kind, referenceCount, distinctValues(), options.smallReferenceRows ?? 1000);
  if (!METHODS_FOR_KIND[kind].includes(method)) {
    throw new ShepherdError(
      'validation_failed',
      `column "${name}": method ${method} does not apply to ${kind} columns`,
    );
  }
  const threshold =
    perColumn?.threshold ??
    (kind === 'numeric' ? options.numericThreshold : options.categoricalThreshold) ??
    options.threshold ??
    DEFAULT_THRESHOLDS[method];
  let minEffect: number | undefined;
  if (isPValueMethod(method)) {
    const global = options.minEffect === 'recommended' ? RECOMMENDED_MIN_EFFECT : options.minEffect;
    minEffect = perColumn?.minEffect ?? global?.[method];
  }
  return { method, threshold, ...(minEffect !== undefined ? { minEffect } : {}) };
}

function evaluateNumeric(
  name: string,
  reference: NumericReference,
  values: NumericValues,
  options: DriftOptions,
): Omit<ColumnDrift, 'score' | 'drifted'> & { plan: ColumnPlan } {
  const clean = cleanNumeric(name, values);
  const current = clean.values;
  if (current.length === 0) {
    throw new ShepherdError(
      'validation_failed',
      `column "${name}" has no non-missing values in the current window`,
    );
  }
  const plan = planFor(
    name,
    'numeric',
    reference.count,
    () => distinctUnionAtMost(reference, current, 5),
    options,
  );
  let outcome: TestOutcome;
  switch (plan.method) {
    case 'ks': {
      const { ks } = compareNumeric(bucketed(reference.sorted), current, false);
      const p = ksTwoSamplePValue(ks, reference.count, current.length);
      outcome = { statistic: p.statistic, pValue: p.pValue, effect: ks, effectMeasure: 'ks_statistic' };
      break;
    }
    case 'wasserstein': {
      const { wasserstein } = compareNumeric(bucketed(reference.sorted), current, true);
      outcome = distanceOutcome(wasserstein / Math.max(reference.std, 0.001), 'wasserstein_normed');
      break;
    }
    case 'jensenshannon':
    case 'psi': {
      let shares: { reference: Float64Array; current: Float64Array };
      if (reference.distinct && reference.distinct.values.length <= MAX_DISTINCT_KEPT) {
        const f = unionFrequencies(referenceValueCounts(reference), numericValueCounts(current));
        shares = sharesOf(f, reference.count, current.length);
      } else {
        shares = sturgesShares(reference, current, clean.min, clean.max);
      }
      outcome =
        plan.method === 'psi'
          ? distanceOutcome(
              populationStabilityIndex(fillZeroShares(shares.reference), fillZeroShares(shares.current)),
              'psi',
            )
          : distanceOutcome(
              jensenShannonDistance(shares.reference, shares.current),
              'jensenshannon_distance',
            );
      break;
    }
    case 'chisquare':
    case 'chi2_contingency':
    case 'z': {
      const f = unionFrequencies(referenceValueCounts(reference), numericValueCounts(current));
      outcome =
        plan.method === 'chisquare'
          ? chiSquareOutcome(f, reference.count, current.length)
          : plan.method === 'chi2_contingency'
            ? contingencyOutcome(f)
            : zOutcome(f, reference.count, current.length, true);
      break;
    }
  }
  return {
    column: name,
    kind: 'numeric',
    method: plan.method,
    ...outcome,
    threshold: plan.threshold,
    referenceCount: reference.count,
    currentCount: current.length,
    currentMissing: clean.missing,
    // Value counts come from the kept distinct values, exact even when the sample is not.
    approximate:
      !reference.exact && !(reference.distinct && plan.method !== 'ks' && plan.method !== 'wasserstein'),
    plan,
  };
}

function evaluateCategorical(
  name: string,
  reference: CategoricalReference,
  values: CategoricalValues,
  options: DriftOptions,
): Omit<ColumnDrift, 'score' | 'drifted'> & { plan: ColumnPlan } {
  const current = countCategories(values);
  if (current.total === 0) {
    throw new ShepherdError(
      'validation_failed',
      `column "${name}" has no non-missing values in the current window`,
    );
  }
  const f = unionFrequencies(reference.counts, current.counts);
  const plan = planFor(name, 'categorical', reference.count, () => f.keys.length, options);
  let outcome: TestOutcome;
  switch (plan.method) {
    case 'chisquare':
      outcome = chiSquareOutcome(f, reference.count, current.total);
      break;
    case 'chi2_contingency':
      outcome = contingencyOutcome(f);
      break;
    case 'z':
      outcome = zOutcome(f, reference.count, current.total, false);
      break;
    case 'jensenshannon': {
      const shares = sharesOf(f, reference.count, current.total);
      outcome = distanceOutcome(
        jensenShannonDistance(shares.reference, shares.current),
        'jensenshannon_distance',
      );
      break;
    }
    case 'psi': {
      const shares = sharesOf(f, reference.count, current.total);
      outcome = distanceOutcome(
        populationStabilityIndex(fillZeroShares(shares.reference), fillZeroShares(shares.current)),
        'psi',
      );
      break;
    }
    default:
      throw new ShepherdError('validation_failed', `column "${name}": method ${plan.method} does not apply`);
  }
  return {
    column: name,
    kind: 'categorical',
    method: plan.method,
    ...outcome,
    threshold: plan.threshold,
    referenceCount: reference.count,
    currentCount: current.total,
    currentMissing: current.missing,
    approximate: false,
    plan,
  };
}

/** Evidently's comparison per method: KS drifts at p ≤ α, chi² and Z at p < α, distances at ≥ threshold. */
function exceeds(method: DriftMethod, score: number, threshold: number): boolean {
  if (method === 'ks') return score <= threshold;
  if (isPValueMethod(method)) return score < threshold;
  return score >= threshold;
}

function compareReferences(
  references: Map<string, ColumnReference>,
  current: ColumnsInput,
  rawOptions: DriftOptions,
): DatasetDrift {
  const parsed = DriftOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ShepherdError(
      'validation_failed',
      `invalid drift options${where}: ${issue?.message ?? 'unknown'}`,
    );
  }
  const options = parsed.data;
  const names = options.only ?? [...references.keys()];
  if (names.length === 0) throw new ShepherdError('validation_failed', 'no columns to compare');
  for (const name of Object.keys(options.columns ?? {})) {
    if (!references.has(name))
      throw new ShepherdError('validation_failed', `options name unknown column "${name}"`);
  }
  const evaluated = names.map((name) => {
    const reference = references.get(name);
    if (!reference) throw new ShepherdError('validation_failed', `column "${name}" is not in the reference`);
    const input = current[name];
    if (input === undefined) {
      throw new ShepherdError('validation_failed', `column "${name}" is missing from the current window`);
    }
    const column = resolveColumn(name, input, reference.kind);
    return reference.kind === 'numeric'
      ? evaluateNumeric(name, reference, column.values as NumericValues, options)
      : evaluateCategorical(name, reference, column.values as CategoricalValues, options);
  });

  const multipleTesting = options.multipleTesting ?? 'none';
  const adjusted = new Map<number, number>();
  if (multipleTesting === 'benjamini-hochberg') {
    const tested = evaluated.flatMap((c, i) => (c.pValue !== undefined ? [[i, c.pValue] as const] : []));
    const q = benjaminiHochberg(tested.map(([, p]) => p));
    tested.forEach(([i], k) => adjusted.set(i, q[k]!));
  }

  const columns: ColumnDrift[] = evaluated.map(({ plan, ...column }, i) => {
    const pValueAdjusted = adjusted.get(i);
    const score = pValueAdjusted ?? column.pValue ?? column.statistic;
    const significant = exceeds(column.method, score, column.threshold);
    const smallEffect = plan.minEffect !== undefined && column.effect < plan.minEffect;
    return {
      ...column,
      ...(pValueAdjusted !== undefined ? { pValueAdjusted } : {}),
      score,
      drifted: significant && !smallEffect,
      ...(plan.minEffect !== undefined ? { minEffect: plan.minEffect } : {}),
      ...(significant && smallEffect ? { suppressedBySmallEffect: true } : {}),
    };
  });
  const drifted = columns.filter((c) => c.drifted).length;
  const driftShare = options.driftShare ?? 0.5;
  const share = drifted / columns.length;
  return {
    columns,
    numberOfColumns: columns.length,
    numberOfDriftedColumns: drifted,
    shareOfDriftedColumns: share,
    driftShare,
    datasetDrift: share >= driftShare,
    multipleTesting,
  };
}

/** Drift of a current window against a stored reference profile. */
export function compareToProfile(
  profile: ReferenceProfile,
  current: ColumnsInput,
  options: DriftOptions = {},
): DatasetDrift {
  const references = new Map<string, ColumnReference>();
  for (const [name, column] of Object.entries(profile.columns)) references.set(name, cachedReference(column));
  return compareReferences(references, current, options);
}

const profileCache = new WeakMap<object, ColumnReference>();
function cachedReference(column: ReferenceProfile['columns'][string]): ColumnReference {
  let reference = profileCache.get(column);
  if (!reference) {
    reference = referenceFromProfile(column);
    profileCache.set(column, reference);
  }
  return reference;
}

/** Drift of current data against reference data, every value used (the same result as Evidently + scipy). */
export function detectDrift(
  reference: ColumnsInput,
  current: ColumnsInput,
  options: DriftOptions & Pick<ProfileOptions, 'kinds' | 'maxCategories'> = {},
): DatasetDrift {
  const { kinds, maxCategories, ...driftOptions } = options;
  const references = referencesFromColumns(reference, {
    ...(kinds ? { kinds } : {}),
    ...(maxCategories !== undefined ? { maxCategories } : {}),
  });
  return compareReferences(references, current, driftOptions);
}
