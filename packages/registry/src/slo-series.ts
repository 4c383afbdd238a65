import { and, eq, inArray, sql } from 'drizzle-orm';
import {
  latencyBucketBoundsMs,
  percentileFromBuckets,
  type SloObjectives,
} from '@shepherd/contracts/serving';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { modelVersions } from '@shepherd/db/schema';
import { shareSlowerThan, type ServingRole } from './serving-stats.ts';

/**
 * An endpoint's SLOs over time: serving_stats summed per time bucket (and per version), each
 * bucket read like the SLO report reads a window (percentiles from the summed latency histogram,
 * error rate, throughput, burn rates against the endpoint's objectives).
 */

/** A chart wider than a laptop screen has no use for more points than this. */
export const maxSeriesPoints = 720;

export interface SeriesPlan {
  /** Start of the first bucket (inclusive). */
  since: Date;
  /** The end of the data asked for (exclusive): the last bucket may end after it, unfinished. */
  until: Date;
  stepSeconds: number;
  buckets: number;
}

/**
 * Buckets aligned to multiples of the step since the epoch, so a chart polled again a few seconds
 * later keeps its buckets (only the last, unfinished one grows) instead of every value shifting.
 * The window is rounded up to whole steps; the bucket holding `until` is the last. A step too fine
 * for the window is widened to keep at most `maxSeriesPoints` (the answer says which step it used).
 */
export function planSeries(until: Date, windowSeconds: number, stepSeconds: number): SeriesPlan {
  if (!Number.isInteger(stepSeconds) || stepSeconds < 1) {
    throw new ShepherdError('bad_request', `step must be a whole number of seconds ≥ 1, got ${stepSeconds}`);
  }
  if (!(windowSeconds > 0)) {
    throw new ShepherdError('bad_request', `window must be longer than 0 s, got ${windowSeconds}`);
  }
  const step = Math.max(stepSeconds, Math.ceil(windowSeconds / maxSeriesPoints));
  const buckets = Math.ceil(windowSeconds / step);
  const stepMs = step * 1000;
  const end = Math.floor(until.getTime() / stepMs) * stepMs + stepMs;
  return { since: new Date(end - buckets * stepMs), until, stepSeconds: step, buckets };
}

/** What the database sums per bucket, version and role. */
export interface BucketRow {
  bucket: number;
  versionId: string;
  role: ServingRole;
  requests: number;
  errors: number;
  latencySumMs: number;
  /** `latencyBucketBoundsMs.length + 1` counts. */
  latencyCounts: number[];
}

export interface SeriesPoint {
  /** Start of the bucket. */
  at: string;
  /** Seconds of the bucket that are over (less than the step for the last, unfinished one). */
  seconds: number;
  requests: number;
  errors: number;
  errorRate: number | null;
  availability: number | null;
  /** Upper bounds of histogram buckets (within ~19 % of the truth), as the SLO report reads them. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  meanLatencyMs: number | null;
  throughputPerSecond: number;
  /**
   * How fast this bucket spent each objective's error budget (1 = exactly the budget). null without
   * requests, or when the objective allows no failure at all (any failure would be an infinite rate).
   */
  burnRates: { errors: number | null; availability: number | null; latency: number | null };
}

export interface VersionSeries {
  versionId: string;
  version: number | null;
  role: ServingRole;
  points: SeriesPoint[];
}

export interface SloSeries {
  since: string;
  until: string;
  stepSeconds: number;
  objectives: SloObjectives;
  /** What callers saw: champion and candidate summed (shadow outputs were never returned). */
  points: SeriesPoint[];
  /** Each version in each role it served in the window, newest version first. */
  versions: VersionSeries[];
}

const burn = (observed: number | null, allowed: number): number | null =>
  observed === null || allowed <= 0 ? null : observed / allowed;

interface Accumulator {
  requests: number;
  errors: number;
  latencySumMs: number;
  latencyCounts: number[];
}

const emptyAccumulator = (): Accumulator => ({
  requests: 0,
  errors: 0,
  latencySumMs: 0,
  latencyCounts: new Array<number>(latencyBucketBoundsMs.length + 1).fill(0),
});

function add(into: Accumulator, row: BucketRow): void {
  into.requests += row.requests;
  into.errors += row.errors;
  into.latencySumMs += row.latencySumMs;
  const length = Math.min(into.latencyCounts.length, row.latencyCounts.length);
  for (let i = 0; i < length; i++) into.latencyCounts[i]! += row.latencyCounts[i] ?? 0;
}

/** One bucket read as the SLO report reads a window. */
export function seriesPoint(
  at: Date,
  seconds: number,
  sums: Accumulator,
  objectives: SloObjectives,
): SeriesPoint {
  const { requests, errors } = sums;
  const errorRate = requests > 0 ? errors / requests : null;
  const availability = requests > 0 ? (requests - errors) / requests : null;
  const slowShare = shareSlowerThan(sums.latencyCounts, objectives.latencyP99Ms);
  return {
    at: at.toISOString(),
    seconds,
    requests,
    errors,
    errorRate,
    availability,
    p50Ms: percentileFromBuckets(sums.latencyCounts, 0.5),
    p95Ms: percentileFromBuckets(sums.latencyCounts, 0.95),
    p99Ms: percentileFromBuckets(sums.latencyCounts, 0.99),
    meanLatencyMs: requests > 0 ? sums.latencySumMs / requests : null,
    throughputPerSecond: seconds > 0 ? requests / seconds : 0,
    burnRates: {
      errors: burn(errorRate, objectives.errorRate),
      availability: burn(availability === null ? null : 1 - availability, 1 - objectives.availability),
      // A p99 objective allows 1 % of requests above it.
      latency: burn(slowShare, 0.01),
    },
  };
}

/**
 * Every bucket of the plan, with or without traffic (a gap in traffic shows as zero requests, not
 * as a line drawn across it): the endpoint's totals and one series per version and role.
 */
export function assembleSeries(
  plan: SeriesPlan,
  rows: readonly BucketRow[],
  objectives: SloObjectives,
  versionNumbers: ReadonlyMap<string, number>,
): SloSeries {
  const stepMs = plan.stepSeconds * 1000;
  const sinceMs = plan.since.getTime();
  const untilMs = plan.until.getTime();
  const totals = Array.from({ length: plan.buckets }, emptyAccumulator);
  const perVersion = new Map<string, { versionId: string; role: ServingRole; sums: Accumulator[] }>();
  for (const row of rows) {
    if (!Number.isInteger(row.bucket) || row.bucket < 0 || row.bucket >= plan.buckets) continue;
    if (row.role !== 'shadow') add(totals[row.bucket]!, row);
    const key = `${row.versionId}|${row.role}`;
    let entry = perVersion.get(key);
    if (!entry) {
      entry = {
        versionId: row.versionId,
        role: row.role,
        sums: Array.from({ length: plan.buckets }, emptyAccumulator),
      };
      perVersion.set(key, entry);
    }
    add(entry.sums[row.bucket]!, row);
  }
  const pointsOf = (sums: Accumulator[]) =>
    sums.map((bucket, i) => {
      const start = sinceMs + i * stepMs;
      const seconds = Math.max(0, Math.min(start + stepMs, untilMs) - start) / 1000;
      return seriesPoint(new Date(start), seconds, bucket, objectives);
    });
  const roleOrder: Record<ServingRole, number> = { champion: 0, candidate: 1, shadow: 2 };
  const versions = [...perVersion.values()]
    .map((entry) => ({
      versionId: entry.versionId,
      version: versionNumbers.get(entry.versionId) ?? null,
      role: entry.role,
      points: pointsOf(entry.sums),
    }))
    .sort((a, b) => (b.version ?? 0) - (a.version ?? 0) || roleOrder[a.role] - roleOrder[b.role]);
  return {
    since: plan.since.toISOString(),
    until: plan.until.toISOString(),
    stepSeconds: plan.stepSeconds,
    objectives,
    points: pointsOf(totals),
    versions,
  };
}

function rowsOf<T>(result: unknown): T[] {
  // node-postgres and PGlite both answer `execute` with `{ rows }`.
  return (result as { rows: T[] }).rows;
}

/**
 * Sums serving_stats per bucket, version and role in PostgreSQL: a day of per-second rows from
 * many gateways becomes a few thousand small rows. Latency histograms are summed element-wise,
 * leaving out the (many) empty buckets.
 */
export async function bucketRows(
  db: Database,
  projectId: string,
  endpointId: string,
  plan: SeriesPlan,
): Promise<BucketRow[]> {
  const since = plan.since.toISOString();
  const result = await db.execute(sql`
    with picked as (
      select floor(extract(epoch from (second - ${since}::timestamptz)) / ${plan.stepSeconds})::int as b,
             version_id::text as v, role, requests, errors, latency_sum_ms, latency_counts
        from serving_stats
       where project_id = ${projectId} and endpoint_id = ${endpointId}
         and second >= ${since}::timestamptz and second < ${plan.until.toISOString()}::timestamptz
    )
    select 0 as kind, b, v, role, 0 as i, sum(requests)::float8 as a, sum(errors)::float8 as e,
           sum(latency_sum_ms)::float8 as l
      from picked group by b, v, role
    union all
    select 1, b, v, role, (bucket.ord - 1)::int, sum(bucket.value::float8), 0, 0
      from picked cross join lateral jsonb_array_elements_text(picked.latency_counts) with ordinality as bucket(value, ord)
     where bucket.value <> '0'
     group by b, v, role, bucket.ord`);
  const rows = new Map<string, BucketRow>();
  const rowFor = (b: number, v: string, role: ServingRole) => {
    const key = `${b}|${v}|${role}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        bucket: b,
        versionId: v,
        role,
        requests: 0,
        errors: 0,
        latencySumMs: 0,
        latencyCounts: new Array<number>(latencyBucketBoundsMs.length + 1).fill(0),
      };
      rows.set(key, row);
    }
    return row;
  };
  for (const raw of rowsOf<{
    kind: number;
    b: number;
    v: string;
    role: ServingRole;
    i: number;
    a: number;
    e: number;
    l: number;
  }>(result)) {
    const row = rowFor(Number(raw.b), raw.v, raw.role);
    if (Number(raw.kind) === 0) {
      row.requests = Number(raw.a);
      row.errors = Number(raw.e);
      row.latencySumMs = Number(raw.l);
    } else {
      const i = Number(raw.i);
      if (i >= 0 && i < row.latencyCounts.length) row.latencyCounts[i] = Number(raw.a);
    }
  }
  return [...rows.values()];
}

/** The endpoint's SLO series over `windowSeconds` up to `until`, one point per `stepSeconds`. */
export async function sloSeries(
  db: Database,
  projectId: string,
  endpointId: string,
  objectives: SloObjectives,
  options: { windowSeconds: number; stepSeconds: number; until?: Date },
): Promise<SloSeries> {
  const plan = planSeries(options.until ?? new Date(), options.windowSeconds, options.stepSeconds);
  const rows = await bucketRows(db, projectId, endpointId, plan);
  const ids = [...new Set(rows.map((row) => row.versionId))];
  const numbers =
    ids.length === 0
      ? []
      : await db
          .select({ id: modelVersions.id, version: modelVersions.version })
          .from(modelVersions)
          .where(and(eq(modelVersions.projectId, projectId), inArray(modelVersions.id, ids)));
  return assembleSeries(plan, rows, objectives, new Map(numbers.map((row) => [row.id, row.version])));
}
