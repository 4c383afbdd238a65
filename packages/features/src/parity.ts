import { and, desc, eq, sql } from 'drizzle-orm';
import type { FeatureValue, ParityMismatch, ParityReport } from '@shepherd/contracts/features';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { featureParityReports, type FeatureParityReportRow } from '@shepherd/db/schema';
import { computeAggregates, maxWindowMs, type AggregateValues, type TimedValues } from './aggregates.ts';
import { rowsOf } from './point-in-time.ts';
import { readOnlineRows } from './online.ts';
import { getFeatureView, type RegisteredFeatureView } from './registry.ts';
import { compareKeys } from './store.ts';

export interface ParityOptions {
  /** Entities compared; default 1000. */
  sampleSize?: number;
  /** "Now" for the offline side: rows with a later event time are not there yet. Default the current time. */
  now?: Date;
  /** Default: the highest registered version. */
  version?: number;
  /** Mismatching fields kept in the report; the counts cover all of them. Default 200. */
  maxMismatches?: number;
  /** Default true: the report is stored (feature_parity_reports) and gets an id. */
  store?: boolean;
}

/** Relative tolerance for numbers: online and offline sum the same values in different orders. */
const relativeTolerance = 1e-9;

/**
 * Compares the online store with the offline store as of `now` for a random sample of the view's
 * entities (drawn from both stores, so an entity missing on one side is found too; see
 * `sampleEntities`). Offline as of now is the latest offline row by event time (ties: later Kafka position), with the window
 * aggregates recomputed from the offline rows as of that row's time — what the online row must
 * hold, late events included. Every differing field is a mismatch: `presence` when one side has
 * no row, `event_time`, each feature and each aggregate.
 */
export async function runParityCheck(
  db: Database,
  projectId: string,
  viewName: string,
  options: ParityOptions = {},
): Promise<ParityReport> {
  const sampleSize = options.sampleSize ?? 1000;
  if (!Number.isInteger(sampleSize) || sampleSize < 1 || sampleSize > 100_000) {
    throw new ShepherdError('bad_request', `sampleSize must be an integer in 1..100000, got ${sampleSize}`);
  }
  const now = options.now ?? new Date();
  const maxMismatches = options.maxMismatches ?? 200;
  const registered = await getFeatureView(db, projectId, viewName, options.version);
  const { view } = registered;
  const viewId = registered.id;

  // One snapshot for the sample and both stores: ingestion commits online and offline rows
  // together, so reading them at two moments would report every entity a batch touched in between.
  const { sample, online, offline } = await db.transaction(
    async (tx) => {
      const sample = await sampleEntities(tx, projectId, viewId, sampleSize);
      const online = await readOnlineRows(tx, projectId, viewId, sample);
      const offline = await offlineAsOf(tx, registered, sample, now);
      return { sample, online, offline };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );

  const mismatches: ParityMismatch[] = [];
  const byField: Record<string, number> = {};
  let mismatchedEntities = 0;
  let total = 0;
  const record = (entity: string, field: string, onlineValue: FeatureValue, offlineValue: FeatureValue) => {
    total++;
    byField[field] = (byField[field] ?? 0) + 1;
    if (mismatches.length < maxMismatches)
      mismatches.push({ entity, field, online: onlineValue, offline: offlineValue });
  };

  for (const entity of sample) {
    const on = online.get(entity);
    const off = offline.get(entity);
    const before = total;
    if (!on || !off) {
      if (on || off) record(entity, 'presence', on ? 'present' : null, off ? 'present' : null);
    } else {
      const onTime = on.eventTime.toISOString();
      const offTime = new Date(off.latest.timeMs).toISOString();
      if (onTime !== offTime) record(entity, 'event_time', onTime, offTime);
      for (const feature of view.features) {
        const a = on.values[feature.name] ?? null;
        const b = off.latest.values[feature.name] ?? null;
        if (!same(a, b)) record(entity, feature.name, a, b);
      }
      for (const agg of view.aggregates) {
        const a = on.aggregates[agg.name] ?? null;
        const b = off.aggregates[agg.name] ?? null;
        if (!same(a, b)) record(entity, agg.name, a, b);
      }
    }
    if (total > before) mismatchedEntities++;
  }

  const report: ParityReport = {
    view: view.name,
    version: view.version,
    sampled: sample.length,
    mismatchedEntities,
    mismatchRate: sample.length === 0 ? 0 : mismatchedEntities / sample.length,
    byField,
    mismatches,
    truncated: total > mismatches.length,
    checkedAt: now.toISOString(),
  };
  if (options.store === false) return report;
  const [stored] = await db
    .insert(featureParityReports)
    .values({
      projectId,
      viewId,
      viewName: view.name,
      viewVersion: view.version,
      sampled: report.sampled,
      mismatchedEntities,
      mismatchRate: report.mismatchRate,
      byField,
      mismatches,
      truncated: report.truncated,
      checkedAt: now,
    })
    .returning({ id: featureParityReports.id });
  return { ...report, id: stored!.id };
}

/** Offline rows read per wanted entity when looking for entities only the offline store has. */
const offlineRowsPerEntity = 10;

/**
 * Up to `size` random entities of the view: drawn from the online store (one row per entity, so
 * bounded by the entity count), plus entities that only the offline store has (an online row lost
 * or never written). Those are looked for in a random sample of the offline store's pages, sized
 * for about `offlineRowsPerEntity` rows per wanted entity: the offline store only grows, and a
 * distinct over all of it grew with it (0.73 of a 1.1 s check on 1M rows). A store small enough
 * for that sample to cover it is read whole, so every such entity is found.
 */
async function sampleEntities(
  tx: Database,
  projectId: string,
  viewId: string,
  size: number,
): Promise<string[]> {
  const [stats] = rowsOf<{ rows: number }>(
    await tx.execute(
      sql`select greatest(reltuples, 0)::float8 as rows from pg_class where oid = 'feature_offline_rows'::regclass`,
    ),
  );
  const rows = Number(stats?.rows ?? 0);
  const percent = rows <= size * offlineRowsPerEntity ? 100 : (100 * size * offlineRowsPerEntity) / rows;
  return rowsOf<{ entity_id: string }>(
    await tx.execute(sql`
      with online as (
        select entity_id from feature_online_rows
        where project_id = ${projectId} and view_id = ${viewId}
        order by random()
        limit ${size}
      ), offline_only as (
        select distinct o.entity_id from feature_offline_rows o tablesample system (${percent})
        where o.project_id = ${projectId} and o.view_id = ${viewId}
          and not exists (
            select 1 from feature_online_rows r
            where r.project_id = ${projectId} and r.view_id = ${viewId} and r.entity_id = o.entity_id)
        limit ${size}
      )
      select entity_id from (select entity_id from online union select entity_id from offline_only) e
      order by random()
      limit ${size}`),
  ).map((row) => row.entity_id);
}

/** What the online store must hold for an entity, from the offline store alone. */
export interface OfflineAsOf {
  latest: {
    timeMs: number;
    topic: string;
    partition: number;
    offset: bigint;
    values: Record<string, FeatureValue>;
  };
  /** The view's window aggregates as of the latest row's time, over every offline row in the window. */
  aggregates: AggregateValues;
}

/**
 * Each entity's latest offline row with event time ≤ `now` (or at all) (ties: later Kafka position) and its
 * window aggregates recomputed from the offline rows, late ones included. Entities without such a
 * row are absent from the map.
 */
export async function offlineAsOf(
  db: Database,
  registered: RegisteredFeatureView,
  entityIds: readonly string[],
  /** Rows with a later event time are left out; `latest`: none is. */
  now: Date | 'latest',
): Promise<Map<string, OfflineAsOf>> {
  const result = new Map<string, OfflineAsOf>();
  if (entityIds.length === 0) return result;
  const { view, projectId, id: viewId } = registered;
  const windowMs = maxWindowMs(view);
  const rows = rowsOf<{
    entity_id: string;
    t: number;
    topic: string;
    partition: number;
    o: string;
    values: Record<string, FeatureValue>;
  }>(
    await db.execute(sql`
      with latest as (
        select distinct on (entity_id) entity_id, event_time
        from feature_offline_rows
        where project_id = ${projectId} and view_id = ${viewId}
          and entity_id = any(${sql.param([...entityIds])}::text[])
          and event_time <= ${now === 'latest' ? 'infinity' : now.toISOString()}::timestamptz
        order by entity_id, event_time desc, partition desc, kafka_offset desc)
      select o.entity_id, (extract(epoch from o.event_time) * 1000)::float8 as t, o.topic, o.partition,
             o.kafka_offset::text as o, o.values
      from feature_offline_rows o join latest l on l.entity_id = o.entity_id
      where o.project_id = ${projectId} and o.view_id = ${viewId}
        and o.event_time <= l.event_time
        and o.event_time > l.event_time - ${windowMs} * interval '1 millisecond'`),
  );
  const windows = new Map<string, { latest: OfflineAsOf['latest']; window: TimedValues[] }>();
  for (const row of rows) {
    const candidate = {
      timeMs: Number(row.t),
      topic: row.topic,
      partition: row.partition,
      offset: BigInt(row.o),
      values: row.values,
    };
    const entry = windows.get(row.entity_id);
    if (!entry) {
      windows.set(row.entity_id, { latest: candidate, window: [candidate] });
      continue;
    }
    entry.window.push(candidate);
    if (compareKeys(candidate, entry.latest) > 0) entry.latest = candidate;
  }
  for (const [entity, { latest, window }] of windows) {
    result.set(entity, {
      latest,
      aggregates: view.aggregates.length > 0 ? computeAggregates(view, window, latest.timeMs) : {},
    });
  }
  return result;
}

function same(a: FeatureValue, b: FeatureValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.abs(a - b) <= relativeTolerance * Math.max(Math.abs(a), Math.abs(b));
  }
  return a === b;
}

/** The latest stored report of a view (default its highest version), or null before the first check. */
export async function getLatestParityReport(
  db: Database,
  projectId: string,
  viewName: string,
  options: { version?: number } = {},
): Promise<ParityReport | null> {
  const [latest] = await listParityReports(db, projectId, viewName, { ...options, limit: 1 });
  return latest ?? null;
}

/** Stored reports of a view, newest first. */
export async function listParityReports(
  db: Database,
  projectId: string,
  viewName: string,
  options: { version?: number; limit?: number } = {},
): Promise<ParityReport[]> {
  const registered = await getFeatureView(db, projectId, viewName, options.version);
  const rows = await db
    .select()
    .from(featureParityReports)
    .where(and(eq(featureParityReports.projectId, projectId), eq(featureParityReports.viewId, registered.id)))
    .orderBy(desc(featureParityReports.checkedAt), desc(featureParityReports.createdAt))
    .limit(Math.min(Math.max(options.limit ?? 20, 1), 500));
  return rows.map(toReport);
}

function toReport(row: FeatureParityReportRow): ParityReport {
  return {
    id: row.id,
    view: row.viewName,
    version: row.viewVersion,
    sampled: row.sampled,
    mismatchedEntities: row.mismatchedEntities,
    mismatchRate: row.mismatchRate,
    byField: row.byField,
    mismatches: row.mismatches,
    truncated: row.truncated,
    checkedAt: row.checkedAt.toISOString(),
  };
}
