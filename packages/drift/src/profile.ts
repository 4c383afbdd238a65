/**
 * Reference profiles: what drift detection needs to know about the training data, computed once at
 * training time and stored with the model version as JSON, so monitoring never rereads the training
 * set.
 *
 * Numeric columns keep count, mean, std, min, max, a fixed-bin histogram (for charts), their distinct
 * values when there are at most 20, and a sorted sample of at most `sampleSize` values. The sample
 * is deterministic: all values when the column has at most `sampleSize`, otherwise the mid-rank
 * quantiles x₍⌊(i+½)n/k⌋₎, i = 0…k-1, so its empirical CDF is within 1/k of the full column's
 * everywhere. Categorical columns keep their category counts.
 */
import { z } from 'zod';
import { ShepherdError } from '@shepherd/core/errors';
import {
  type ColumnKind,
  type ColumnsInput,
  cleanNumeric,
  countCategories,
  resolveColumn,
} from './columns.ts';
import { sortedCopy } from './sort.ts';

export const PROFILE_VERSION = 1;
export const DEFAULT_SAMPLE_SIZE = 5000;
export const DEFAULT_HISTOGRAM_BINS = 20;
export const DEFAULT_MAX_CATEGORIES = 10000;
/** Evidently bins a numeric column by its values (not by ranges) when it has at most this many. */
export const MAX_DISTINCT_KEPT = 20;

const count = z.number().int().nonnegative();

export const NumericColumnProfileSchema = z.object({
  kind: z.literal('numeric'),
  count: count.min(1),
  missing: count,
  mean: z.number(),
  std: z.number().nonnegative(),
  min: z.number(),
  max: z.number(),
  histogram: z.object({ edges: z.array(z.number()).min(2), counts: z.array(count) }),
  /** Ascending. Every value of the column when `sampleExact`, otherwise mid-rank quantiles. */
  sample: z.array(z.number()).min(1),
  sampleExact: z.boolean(),
  /** Distinct values with counts, kept when the column has at most 20. */
  distinct: z.object({ values: z.array(z.number()), counts: z.array(count.min(1)) }).optional(),
});

export const CategoricalColumnProfileSchema = z.object({
  kind: z.literal('categorical'),
  count: count.min(1),
  missing: count,
  categories: z.array(z.string()),
  counts: z.array(count.min(1)),
});

export const ColumnProfileSchema = z
  .discriminatedUnion('kind', [NumericColumnProfileSchema, CategoricalColumnProfileSchema])
  .superRefine((column, ctx) => {
    if (column.kind === 'categorical') {
      if (column.categories.length !== column.counts.length || column.categories.length === 0) {
        ctx.addIssue({
          code: 'custom',
          message: 'categories and counts must be non-empty and of equal length',
        });
      }
      if (new Set(column.categories).size !== column.categories.length) {
        ctx.addIssue({ code: 'custom', message: 'categories must be unique' });
      }
      return;
    }
    const { sample, histogram, distinct } = column;
    for (let i = 1; i < sample.length; i++) {
      if (!(sample[i - 1]! <= sample[i]!)) {
        ctx.addIssue({ code: 'custom', message: 'sample must be ascending' });
        break;
      }
    }
    if (column.sampleExact && sample.length !== column.count) {
      ctx.addIssue({ code: 'custom', message: 'an exact sample holds every value' });
    }
    if (histogram.counts.length !== histogram.edges.length - 1) {
      ctx.addIssue({ code: 'custom', message: 'histogram needs one count per bin' });
    }
    if (distinct && distinct.values.length !== distinct.counts.length) {
      ctx.addIssue({ code: 'custom', message: 'distinct values and counts must have equal length' });
    }
  });

export const ReferenceProfileSchema = z.object({
  version: z.literal(PROFILE_VERSION),
  /** Rows in the reference data (including rows where a column is missing). */
  rowCount: count,
  sampleSize: z.number().int().positive(),
  columns: z.record(z.string(), ColumnProfileSchema),
});

export type NumericColumnProfile = z.infer<typeof NumericColumnProfileSchema>;
export type CategoricalColumnProfile = z.infer<typeof CategoricalColumnProfileSchema>;
export type ColumnProfile = z.infer<typeof ColumnProfileSchema>;
export type ReferenceProfile = z.infer<typeof ReferenceProfileSchema>;

/** Validates a stored profile (e.g. read back from the database); throws a validation error naming the problem. */
export function parseReferenceProfile(json: unknown): ReferenceProfile {
  const parsed = ReferenceProfileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ShepherdError(
      'validation_failed',
      `invalid reference profile${where}: ${issue?.message ?? 'unknown'}`,
    );
  }
  return parsed.data;
}

export interface ProfileOptions {
  /** Largest numeric sample kept per column (default 5000). `Infinity` keeps every value. */
  sampleSize?: number;
  /** Bins of the equal-width histogram stored for charts (default 20). */
  histogramBins?: number;
  /** Kinds for columns whose arrays don't tell (e.g. integer codes meant as categories). */
  kinds?: Readonly<Record<string, ColumnKind>>;
  /** A categorical column with more categories is refused (default 10 000): it is an id, not a feature. */
  maxCategories?: number;
}

// ---------------------------------------------------------------------------------------------
// In-memory references: what the comparison works on, built from raw data or from a profile.

export interface NumericReference {
  kind: 'numeric';
  count: number;
  missing: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Ascending sample (or every value), and whether it is every value. */
  sorted: Float64Array;
  exact: boolean;
  distinct?: { values: Float64Array; counts: Float64Array };
}

export interface CategoricalReference {
  kind: 'categorical';
  count: number;
  missing: number;
  counts: Map<string, number>;
}

export type ColumnReference = NumericReference | CategoricalReference;

export function numericReferenceFromValues(name: string, values: ColumnsInput[string]): NumericReference {
  const column = resolveColumn(name, values, 'numeric');
  if (column.kind !== 'numeric') throw new Error('unreachable');
  const clean = cleanNumeric(name, column.values);
  const n = clean.values.length;
  if (n === 0) {
    throw new ShepherdError(
      'validation_failed',
      `column "${name}" has no non-missing values in the reference data`,
    );
  }
  const sorted = sortedCopy(clean.values);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = sum / n;
  let squares = 0;
  let residual = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - mean;
    squares += d * d;
    residual += d;
  }
  const std = Math.sqrt(Math.max(0, (squares - (residual * residual) / n) / n));
  const distinctValues: number[] = [];
  const distinctCounts: number[] = [];
  for (let i = 0; i < n && distinctValues.length <= MAX_DISTINCT_KEPT;) {
    const v = sorted[i]!;
    let j = i + 1;
    while (j < n && sorted[j] === v) j++;
    distinctValues.push(v);
    distinctCounts.push(j - i);
    i = j;
  }
  return {
    kind: 'numeric',
    count: n,
    missing: clean.missing,
    mean,
    std,
    min: clean.min,
    max: clean.max,
    sorted,
    exact: true,
    ...(distinctValues.length <= MAX_DISTINCT_KEPT
      ? { distinct: { values: Float64Array.from(distinctValues), counts: Float64Array.from(distinctCounts) } }
      : {}),
  };
}

export function categoricalReferenceFromValues(
  name: string,
  values: ColumnsInput[string],
  maxCategories = DEFAULT_MAX_CATEGORIES,
): CategoricalReference {
  const column = resolveColumn(name, values, 'categorical');
  if (column.kind !== 'categorical') throw new Error('unreachable');
  const { counts, total, missing } = countCategories(column.values);
  if (total === 0) {
    throw new ShepherdError(
      'validation_failed',
      `column "${name}" has no non-missing values in the reference data`,
    );
  }
  if (counts.size > maxCategories) {
    throw new ShepherdError(
      'validation_failed',
      `column "${name}" has ${counts.size} categories (more than ${maxCategories}): it looks like an identifier; ` +
        'leave it out of drift detection or raise maxCategories',
    );
  }
  return { kind: 'categorical', count: total, missing, counts };
}

/** Kinds of every column: explicit option, else what the arrays hold. */
export function referencesFromColumns(
  columns: ColumnsInput,
  options: Pick<ProfileOptions, 'kinds' | 'maxCategories'> = {},
): Map<string, ColumnReference> {
  const names = Object.keys(columns);
  if (names.length === 0) throw new ShepherdError('validation_failed', 'no columns given');
  const references = new Map<string, ColumnReference>();
  for (const name of names) {
    const input = columns[name]!;
    const kind = resolveColumn(name, input, options.kinds?.[name]).kind;
    references.set(
      name,
      kind === 'numeric'
        ? numericReferenceFromValues(name, input)
        : categoricalReferenceFromValues(name, input, options.maxCategories),
    );
  }
  return references;
}

function quantileSample(sorted: Float64Array, size: number): Float64Array {
  const n = sorted.length;
  if (n <= size) return sorted;
  const sample = new Float64Array(size);
  for (let i = 0; i < size; i++) sample[i] = sorted[Math.floor(((i + 0.5) * n) / size)]!;
  return sample;
}

function equalWidthHistogram(sorted: Float64Array, min: number, max: number, bins: number) {
  const lo = min === max ? min - 0.5 : min;
  const hi = min === max ? max + 0.5 : max;
  const edges: number[] = [];
  for (let i = 0; i < bins; i++) edges.push(lo + (i * (hi - lo)) / bins);
  edges.push(hi);
  const counts = new Array<number>(bins).fill(0);
  // Sorted data: each bin's count is the distance between two binary searches.
  let start = 0;
  for (let b = 0; b < bins; b++) {
    let end: number;
    if (b === bins - 1) {
      end = sorted.length;
    } else {
      const edge = edges[b + 1]!;
      let l = start;
      let h = sorted.length;
      while (l < h) {
        const mid = (l + h) >>> 1;
        if (sorted[mid]! < edge) l = mid + 1;
        else h = mid;
      }
      end = l;
    }
    counts[b] = end - start;
    start = end;
  }
  return { edges, counts };
}

/**
 * Builds the profile of a training set's columns. Throws a validation error for an empty column,
 * a categorical column with too many categories, or values of the wrong type.
 */
export function buildReferenceProfile(columns: ColumnsInput, options: ProfileOptions = {}): ReferenceProfile {
  const sampleSize = options.sampleSize ?? DEFAULT_SAMPLE_SIZE;
  const bins = options.histogramBins ?? DEFAULT_HISTOGRAM_BINS;
  if (!(sampleSize >= 1)) throw new ShepherdError('validation_failed', 'sampleSize must be at least 1');
  if (!Number.isInteger(bins) || bins < 1)
    throw new ShepherdError('validation_failed', 'histogramBins must be ≥ 1');
  const references = referencesFromColumns(columns, options);
  let rowCount = 0;
  const profiled: Record<string, ColumnProfile> = {};
  for (const [name, reference] of references) {
    rowCount = Math.max(rowCount, reference.count + reference.missing);
    if (reference.kind === 'categorical') {
      const entries = [...reference.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      profiled[name] = {
        kind: 'categorical',
        count: reference.count,
        missing: reference.missing,
        categories: entries.map(([category]) => category),
        counts: entries.map(([, n]) => n),
      };
      continue;
    }
    const sample = quantileSample(reference.sorted, sampleSize);
    profiled[name] = {
      kind: 'numeric',
      count: reference.count,
      missing: reference.missing,
      mean: reference.mean,
      std: reference.std,
      min: reference.min,
      max: reference.max,
      histogram: equalWidthHistogram(reference.sorted, reference.min, reference.max, bins),
      sample: Array.from(sample),
      sampleExact: sample.length === reference.count,
      ...(reference.distinct
        ? {
            distinct: {
              values: Array.from(reference.distinct.values),
              counts: Array.from(reference.distinct.counts),
            },
          }
        : {}),
    };
  }
  return {
    version: PROFILE_VERSION,
    rowCount,
    sampleSize: Number.isFinite(sampleSize)
      ? sampleSize
      : Math.max(1, ...[...references.values()].map((r) => r.count)),
    columns: profiled,
  };
}

/** The in-memory reference of one profiled column. */
export function referenceFromProfile(profile: ColumnProfile): ColumnReference {
  if (profile.kind === 'categorical') {
    return {
      kind: 'categorical',
      count: profile.count,
      missing: profile.missing,
      counts: new Map(profile.categories.map((c, i) => [c, profile.counts[i]!])),
    };
  }
  return {
    kind: 'numeric',
    count: profile.count,
    missing: profile.missing,
    mean: profile.mean,
    std: profile.std,
    min: profile.min,
    max: profile.max,
    sorted: Float64Array.from(profile.sample),
    exact: profile.sampleExact,
    ...(profile.distinct
      ? {
          distinct: {
            values: Float64Array.from(profile.distinct.values),
            counts: Float64Array.from(profile.distinct.counts),
          },
        }
      : {}),
  };
}
