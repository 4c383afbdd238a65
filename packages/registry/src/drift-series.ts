import { and, desc, eq, gt, sql } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import type { FeatureDrift } from '@shepherd/contracts/drift';
import { driftReports, modelVersions, type DriftReport } from '@shepherd/db/schema';
import type { ColumnProfile } from '@shepherd/drift/profile';
import type { RegistryContext } from './context.ts';
import { readVersionProfile } from './drift.ts';

/**
 * Reference vs current histograms of one feature: the champion's training profile (stored with the
 * version, binned at training time) against what one monitor window saw, counted on the very same
 * bins from the predictions the monitor kept (drift_observations). Reports store statistics only,
 * so the current side is counted here, in PostgreSQL, whatever the window's size.
 */

/** Categories beyond this many (the reference's most frequent first) are counted as one "other". */
export const maxCategories = 30;
export const otherCategory = '(other)';

export interface HistogramCounts {
  counts: number[];
  /** Numeric: values left of the first edge and right of the last (the reference has none). */
  below: number;
  above: number;
  /** Rows without a usable value for the feature. */
  missing: number;
  /** Rows with a value: counts + below + above. */
  total: number;
}

export interface FeatureHistogram {
  feature: string;
  kind: 'numeric' | 'categorical';
  /** Numeric: bin edges, one more than the counts. */
  edges: number[] | null;
  /** Categorical: one label per count, the last `(other)` when the reference has more. */
  categories: string[] | null;
  reference: HistogramCounts;
  current: HistogramCounts;
  window: {
    reportId: string;
    sequence: number;
    windowStart: string;
    windowEnd: string;
    /** The window's champion, whose training profile is the reference. */
    versionId: string;
    version: number;
    /** Predictions the monitor judged in the window; 0 counted here means they were pruned. */
    judged: number;
  };
  /** The window's verdicts on this feature (skew against this reference; drift against earlier windows). */
  verdicts: (FeatureDrift & { signal: string })[];
}

/** Bucket numbers as `width_bucket` gives them (0 below, 1…n, n + 1 above; -1 missing) into counts. */
export function numericCounts(bins: number, buckets: readonly { bucket: number; count: number }[]) {
  const out: HistogramCounts = {
    counts: new Array<number>(bins).fill(0),
    below: 0,
    above: 0,
    missing: 0,
    total: 0,
  };
  for (const { bucket, count } of buckets) {
    if (bucket < 0) out.missing += count;
    else if (bucket === 0) out.below += count;
    else if (bucket > bins) out.above += count;
    else out.counts[bucket - 1]! += count;
  }
  out.total = out.counts.reduce((a, b) => a + b, 0) + out.below + out.above;
  return out;
}

/**
 * The reference's categories (most frequent first, at most `maxCategories`, then `(other)` when it
 * has more or the window has unseen ones) with both sides counted on them.
 */
export function categoricalCounts(
  profile: { categories: readonly string[]; counts: readonly number[]; missing: number },
  current: ReadonlyMap<string | null, number>,
): { categories: string[]; reference: HistogramCounts; current: HistogramCounts } {
  const kept = profile.categories.slice(0, maxCategories);
  const index = new Map(kept.map((category, i) => [category, i]));
  const referenceCounts = profile.counts.slice(0, maxCategories);
  const referenceOther = profile.counts.slice(maxCategories).reduce((a, b) => a + b, 0);
  const currentCounts = new Array<number>(kept.length).fill(0);
  let currentOther = 0;
  let missing = 0;
  for (const [category, count] of current) {
    if (category === null) missing += count;
    else if (index.has(category)) currentCounts[index.get(category)!]! += count;
    else currentOther += count;
  }
  const withOther = referenceOther > 0 || currentOther > 0;
  const side = (counts: number[], other: number, missingRows: number): HistogramCounts => {
    const all = withOther ? [...counts, other] : counts;
    return { counts: all, below: 0, above: 0, missing: missingRows, total: all.reduce((a, b) => a + b, 0) };
  };
  return {
    categories: withOther ? [...kept, otherCategory] : kept,
    reference: side(referenceCounts, referenceOther, profile.missing),
    current: side(currentCounts, currentOther, missing),
  };
}

function rowsOf<T>(result: unknown): T[] {
  // node-postgres and PGlite both answer `execute` with `{ rows }`.
  return (result as { rows: T[] }).rows;
}

/** The window asked for, or the newest one that judged any prediction. */
async function pickReport(
  ctx: RegistryContext,
  endpointId: string,
  reportId: string | undefined,
): Promise<DriftReport> {
  const scope = and(eq(driftReports.projectId, ctx.projectId), eq(driftReports.endpointId, endpointId));
  const [row] = reportId
    ? await ctx.db
        .select()
        .from(driftReports)
        .where(and(scope, eq(driftReports.id, reportId)))
    : await ctx.db
        .select()
        .from(driftReports)
        .where(and(scope, gt(driftReports.judged, 0)))
        .orderBy(desc(driftReports.windowEnd), desc(driftReports.sequence))
        .limit(1);
  if (!row) {
    throw new ShepherdError(
      'not_found',
      reportId
        ? `drift report ${reportId} does not exist for this endpoint`
        : 'no drift window has judged predictions on this endpoint yet',
    );
  }
  return row;
}

/** `features -> name` as a number (booleans 0/1, as the monitor reads them) or null. */
const numericValue = (feature: string) => sql`case jsonb_typeof(features -> ${feature})
  when 'number' then (features ->> ${feature})::float8
  when 'boolean' then case when (features -> ${feature})::boolean then 1 else 0 end
end`;

/** `features -> name` as the monitor names a category (booleans '1'/'0'), or null. */
const categoryValue = (feature: string) => sql`case jsonb_typeof(features -> ${feature})
  when 'boolean' then case when (features -> ${feature})::boolean then '1' else '0' end
  when 'string' then features ->> ${feature}
  when 'number' then features ->> ${feature}
end`;

async function currentNumeric(
  ctx: RegistryContext,
  report: DriftReport,
  feature: string,
  column: Extract<ColumnProfile, { kind: 'numeric' }>,
): Promise<HistogramCounts> {
  const { edges } = column.histogram;
  const bins = edges.length - 1;
  const lo = edges[0]!;
  const hi = edges[bins]!;
  const result = await ctx.db.execute(sql`
    select case when v is null then -1 when v = ${hi}::float8 then ${bins}::int
                else width_bucket(v, ${lo}::float8, ${hi}::float8, ${bins}::int) end as bucket,
           count(*)::int as count
      from (select ${numericValue(feature)} as v
              from drift_observations
             where project_id = ${ctx.projectId} and monitor_id = ${report.monitorId}
               and sequence = ${report.sequence} and role <> 'shadow') observed
     group by 1`);
  return numericCounts(
    bins,
    rowsOf<{ bucket: number; count: number }>(result).map((row) => ({
      bucket: Number(row.bucket),
      count: Number(row.count),
    })),
  );
}

async function currentCategories(
  ctx: RegistryContext,
  report: DriftReport,
  feature: string,
): Promise<Map<string | null, number>> {
  const result = await ctx.db.execute(sql`
    select ${categoryValue(feature)} as category, count(*)::int as count
      from drift_observations
     where project_id = ${ctx.projectId} and monitor_id = ${report.monitorId}
       and sequence = ${report.sequence} and role <> 'shadow'
     group by 1`);
  return new Map(
    rowsOf<{ category: string | null; count: number }>(result).map((row) => [
      row.category,
      Number(row.count),
    ]),
  );
}

export async function featureHistogram(
  ctx: RegistryContext,
  endpointId: string,
  feature: string,
  options: { reportId?: string | undefined } = {},
): Promise<FeatureHistogram> {
  const report = await pickReport(ctx, endpointId, options.reportId);
  if (!report.versionId) {
    throw new ShepherdError('not_found', `drift window ${report.sequence} had no champion to compare with`);
  }
  const [version] = await ctx.db
    .select({ version: modelVersions.version, referenceProfile: modelVersions.referenceProfile })
    .from(modelVersions)
    .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.id, report.versionId)));
  const profile = readVersionProfile(version?.referenceProfile);
  if (!version || !profile) {
    throw new ShepherdError(
      'not_found',
      `the champion of drift window ${report.sequence} has no reference profile`,
    );
  }
  const column = profile.features.columns[feature];
  if (!column) {
    const known = Object.keys(profile.features.columns).sort();
    throw new ShepherdError(
      'not_found',
      `feature '${feature}' is not in version ${version.version}'s reference profile (it has ${known.slice(0, 20).join(', ')}${known.length > 20 ? ', …' : ''})`,
    );
  }
  const window = {
    reportId: report.id,
    sequence: report.sequence,
    windowStart: report.windowStart.toISOString(),
    windowEnd: report.windowEnd.toISOString(),
    versionId: report.versionId,
    version: version.version,
    judged: report.judged,
  };
  const verdicts = report.signals.flatMap((signal) =>
    signal.features
      .filter((entry) => entry.feature === feature)
      .map((entry) => ({ ...entry, signal: signal.signal })),
  );
  if (column.kind === 'numeric') {
    const reference: HistogramCounts = {
      counts: [...column.histogram.counts],
      below: 0,
      above: 0,
      missing: column.missing,
      total: column.histogram.counts.reduce((a, b) => a + b, 0),
    };
    return {
      feature,
      kind: 'numeric',
      edges: [...column.histogram.edges],
      categories: null,
      reference,
      current: await currentNumeric(ctx, report, feature, column),
      window,
      verdicts,
    };
  }
  const counted = categoricalCounts(column, await currentCategories(ctx, report, feature));
  return {
    feature,
    kind: 'categorical',
    edges: null,
    categories: counted.categories,
    reference: counted.reference,
    current: counted.current,
    window,
    verdicts,
  };
}
