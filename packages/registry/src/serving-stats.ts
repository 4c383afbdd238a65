import { sql, type SQL } from 'drizzle-orm';
import {
  latencyBucketBoundsMs,
  percentileFromBuckets,
  predictionBins,
  type SloObjectives,
} from '@shepherd/contracts/serving';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';

/** Who a serving_stats row counts for; `shadow` outputs were never returned to a caller. */
export type ServingRole = 'champion' | 'candidate' | 'shadow';

export interface StatsWindow {
  /** Inclusive: rows whose second starts at or after this instant. */
  since: Date;
  /** Exclusive: rows whose second starts before this instant. */
  until: Date;
  versionId?: string | undefined;
  /** One role or several; default every role. */
  role?: ServingRole | readonly ServingRole[] | undefined;
}

export interface StatsSummary {
  requests: number;
  /** Model failures and 5xx; the caller's mistakes (4xx) are not errors. */
  errors: number;
  /** errors / requests; null without requests. */
  errorRate: number | null;
  /** (requests - errors) / requests; null without requests. */
  availability: number | null;
  /** Read from the latency histogram: an upper bucket bound, within ~19 % of the truth. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  meanLatencyMs: number | null;
  /** Requests over the whole window's length, seconds without traffic included. */
  throughputPerSecond: number;
  /** Summed histograms: `latencyBucketBoundsMs.length + 1` and `predictionBins` counts. */
  latencyCounts: number[];
  predictionCounts: number[];
  /** Over the predictions made (requests without errors); null when none. */
  predictionMean: number | null;
  predictionStdDev: number | null;
}

function rowsOf<T>(result: unknown): T[] {
  // node-postgres and PGlite both answer `execute` with `{ rows }`.
  return (result as { rows: T[] }).rows;
}

function roleList(role: StatsWindow['role']): readonly ServingRole[] | undefined {
  if (role === undefined) return undefined;
  return typeof role === 'string' ? [role] : role;
}

/**
 * Sums what every gateway reported for one endpoint over a window: counts, histograms and sums,
 * added up in PostgreSQL so a one-hour window of many gateways is one small answer, not thousands
 * of rows. Rows are per second, so the window's edges are whole seconds in effect.
 */
export async function summarizeStats(
  db: Database,
  projectId: string,
  endpointId: string,
  window: StatsWindow,
): Promise<StatsSummary> {
  const seconds = (window.until.getTime() - window.since.getTime()) / 1000;
  if (!(seconds > 0)) {
    throw new ShepherdError(
      'bad_request',
      `a stats window must end after it starts (since ${window.since.toISOString()}, until ${window.until.toISOString()})`,
    );
  }
  const roles = roleList(window.role);
  if (roles !== undefined && roles.length === 0) {
    throw new ShepherdError('bad_request', 'a stats window needs at least one role when roles are given');
  }
  const conditions: SQL[] = [
    sql`project_id = ${projectId}`,
    sql`endpoint_id = ${endpointId}`,
    sql`second >= ${window.since.toISOString()}::timestamptz`,
    sql`second < ${window.until.toISOString()}::timestamptz`,
  ];
  if (window.versionId !== undefined) conditions.push(sql`version_id = ${window.versionId}`);
  if (roles !== undefined) {
    conditions.push(
      sql`role in (${sql.join(
        roles.map((role) => sql`${role}`),
        sql`, `,
      )})`,
    );
  }
  const where = sql.join(conditions, sql` and `);

  // One statement: the scalar sums and both histograms summed element-wise (kind 0 = totals,
  // 1 = latency bucket, 2 = prediction bin), so the three reads see the same rows.
  const result = await db.execute(sql`
    with picked as (select * from serving_stats where ${where})
    select 0 as kind, 0 as i, coalesce(sum(requests), 0)::float8 as a, coalesce(sum(errors), 0)::float8 as b,
           coalesce(sum(latency_sum_ms), 0)::float8 as c, coalesce(sum(prediction_sum), 0)::float8 as d,
           coalesce(sum(prediction_squares), 0)::float8 as e
      from picked
    union all
    select 1, (bucket.ord - 1)::int, sum(bucket.value::float8), 0, 0, 0, 0
      from picked cross join lateral jsonb_array_elements_text(picked.latency_counts) with ordinality as bucket(value, ord)
      group by bucket.ord
    union all
    select 2, (bin.ord - 1)::int, sum(bin.value::float8), 0, 0, 0, 0
      from picked cross join lateral jsonb_array_elements_text(picked.prediction_counts) with ordinality as bin(value, ord)
      group by bin.ord`);

  const latencyCounts = new Array<number>(latencyBucketBoundsMs.length + 1).fill(0);
  const predictionCounts = new Array<number>(predictionBins).fill(0);
  let requests = 0;
  let errors = 0;
  let latencySum = 0;
  let predictionSum = 0;
  let predictionSquares = 0;
  for (const row of rowsOf<{
    kind: number;
    i: number;
    a: number;
    b: number;
    c: number;
    d: number;
    e: number;
  }>(result)) {
    const kind = Number(row.kind);
    const i = Number(row.i);
    if (kind === 0) {
      requests = Number(row.a);
      errors = Number(row.b);
      latencySum = Number(row.c);
      predictionSum = Number(row.d);
      predictionSquares = Number(row.e);
    } else if (kind === 1 && i < latencyCounts.length) {
      latencyCounts[i] = Number(row.a);
    } else if (kind === 2 && i < predictionCounts.length) {
      predictionCounts[i] = Number(row.a);
    }
  }

  const predictions = predictionCounts.reduce((sum, count) => sum + count, 0);
  const mean = predictions > 0 ? predictionSum / predictions : null;
  const variance = mean !== null ? Math.max(predictionSquares / predictions - mean * mean, 0) : null;
  return {
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : null,
    availability: requests > 0 ? (requests - errors) / requests : null,
    p50Ms: percentileFromBuckets(latencyCounts, 0.5),
    p95Ms: percentileFromBuckets(latencyCounts, 0.95),
    p99Ms: percentileFromBuckets(latencyCounts, 0.99),
    meanLatencyMs: requests > 0 ? latencySum / requests : null,
    throughputPerSecond: requests / seconds,
    latencyCounts,
    predictionCounts,
    predictionMean: mean,
    predictionStdDev: variance === null ? null : Math.sqrt(variance),
  };
}

/**
 * Share of the histogram's samples slower than `thresholdMs`. The bucket holding the threshold is
 * split linearly between its bounds: counting all of it as slow would overstate by up to a bucket.
 */
export function shareSlowerThan(latencyCounts: readonly number[], thresholdMs: number): number | null {
  const total = latencyCounts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const bounds = latencyBucketBoundsMs;
  let slow = 0;
  for (let i = 0; i < latencyCounts.length; i++) {
    const count = latencyCounts[i] ?? 0;
    if (count === 0) continue;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const upper = bounds[i];
    if (upper === undefined) {
      // The overflow bucket (beyond ~52 s) has no upper bound: counted slow, erring on the safe side.
      slow += count;
      continue;
    }
    if (lower >= thresholdMs) slow += count;
    else if (upper > thresholdMs) slow += (count * (upper - thresholdMs)) / (upper - lower);
  }
  return slow / total;
}

export interface SloWindowReport extends StatsSummary {
  name: '5m' | '1h';
  seconds: number;
  since: string;
  until: string;
  /**
   * How fast each objective's error budget is spent: 1 spends exactly the budget over the SLO
   * period, 14.4 spends a 30-day budget in ~2 days. null without requests.
   */
  burnRates: { errors: number | null; availability: number | null; latency: number | null };
  /** Whether the window on its own meets each objective (true without traffic: nothing failed). */
  met: { errors: boolean; availability: boolean; latencyP99: boolean };
}

export interface SloReport {
  endpointId: string;
  at: string;
  objectives: SloObjectives;
  windows: SloWindowReport[];
  /**
   * The multi-window fast-burn condition (Google SRE workbook): both the 5 m and the 1 h window
   * burn the error or latency budget at least `fastBurnThreshold` times too fast. The short window
   * makes it stop firing soon after a fix; the long one keeps a blip from paging.
   */
  fastBurn: boolean;
}

export const sloWindows = [
  { name: '5m', seconds: 300 },
  { name: '1h', seconds: 3600 },
] as const;

export const fastBurnThreshold = 14.4;

const burn = (observed: number | null, allowed: number): number | null => {
  if (observed === null) return null;
  if (allowed <= 0) return observed > 0 ? Number.POSITIVE_INFINITY : 0;
  return observed / allowed;
};

/**
 * The endpoint's SLOs over the last 5 minutes and the last hour, for what callers saw (champion
 * and candidate; shadow outputs were never returned, so they do not count against the endpoint).
 */
export async function sloReport(
  db: Database,
  projectId: string,
  endpointId: string,
  slo: SloObjectives,
  now: Date = new Date(),
): Promise<SloReport> {
  const windows = await Promise.all(
    sloWindows.map(async ({ name, seconds }): Promise<SloWindowReport> => {
      const since = new Date(now.getTime() - seconds * 1000);
      const summary = await summarizeStats(db, projectId, endpointId, {
        since,
        until: now,
        role: ['champion', 'candidate'],
      });
      const slowShare = shareSlowerThan(summary.latencyCounts, slo.latencyP99Ms);
      const unavailable = summary.availability === null ? null : 1 - summary.availability;
      return {
        name,
        seconds,
        since: since.toISOString(),
        until: now.toISOString(),
        ...summary,
        burnRates: {
          errors: burn(summary.errorRate, slo.errorRate),
          availability: burn(unavailable, 1 - slo.availability),
          // A p99 objective allows 1 % of requests above it.
          latency: burn(slowShare, 0.01),
        },
        met: {
          errors: summary.errorRate === null || summary.errorRate <= slo.errorRate,
          availability: summary.availability === null || summary.availability >= slo.availability,
          latencyP99: summary.p99Ms === null || (slowShare ?? 0) <= 0.01,
        },
      };
    }),
  );
  const burning = (window: SloWindowReport) =>
    Math.max(
      window.burnRates.errors ?? 0,
      window.burnRates.availability ?? 0,
      window.burnRates.latency ?? 0,
    ) >= fastBurnThreshold;
  return {
    endpointId,
    at: now.toISOString(),
    objectives: slo,
    windows,
    fastBurn: windows.every(burning),
  };
}
