import type { FeatureEvent, FeatureValue, FeatureView } from '@shepherd/contracts/features';
import type { Database } from '@shepherd/db/client';
import { EntityHistory, maxWindowMs, type AggregateValues, type TimedValues } from './aggregates.ts';
import { copyFromStdin, copyText, type SubmittableClient } from './pg-copy.ts';
import type { RegisteredFeatureView } from './registry.ts';
import type { EntityWindowCache } from './window-cache.ts';

/** A validated event with its place in the partition. */
export interface ValidEvent {
  offset: string;
  event: FeatureEvent;
  eventTimeMs: number;
}

/** What one Kafka batch (one partition) brings to the database. */
export interface BatchWrite {
  topic: string;
  partition: number;
  /** In offset order. */
  events: readonly ValidEvent[];
  /** Offsets of this batch's messages that went to the DLQ. */
  rejectedOffsets: readonly string[];
  /** The batch's last offset, valid or not. */
  lastOffset: string;
}

export interface BatchWriteResult {
  /** Offline rows written; events already there (a replay) are not counted. */
  inserted: number;
  duplicates: number;
  onlineUpserted: number;
  onlineAggregatesRefreshed: number;
  /** Entities whose window history came from the offline store rather than the cache. */
  historyLoaded: number;
}

export interface WriteBatchOptions {
  /**
   * Recent events per entity, kept across batches by one ingestion process; without it every
   * batch reads its entities' window history from the offline store. Same results either way.
   */
  cache?: EntityWindowCache;
}

/** The parts of a node-postgres pool client the write path uses. */
interface PgClient {
  query(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  query(submittable: Parameters<SubmittableClient['query']>[0]): unknown;
  release(destroy?: boolean): void;
}

interface PgPool {
  connect(): Promise<PgClient>;
}

/**
 * The node-postgres pool under a drizzle database: the write path needs `COPY … FROM STDIN`, which
 * drizzle cannot issue. Ingestion has always required PostgreSQL (not the embedded PGlite).
 */
function poolOf(db: Database): PgPool {
  const client = (db as { $client?: unknown }).$client;
  if (
    typeof client === 'object' &&
    client !== null &&
    typeof (client as Partial<PgPool>).connect === 'function' &&
    'totalCount' in client
  ) {
    return client as unknown as PgPool;
  }
  throw new Error(
    'feature ingestion writes to PostgreSQL through node-postgres (DATABASE_URL); this database is not a node-postgres pool',
  );
}

/**
 * Writes one batch in one transaction: offline rows (append-only; a replayed offset is skipped),
 * online rows (latest by event time, decided in SQL so a late event never overwrites a newer one),
 * window aggregates for both, and the partition's progress. The caller commits Kafka offsets only
 * after this resolves.
 *
 * The partition's progress row says how far it was written. A batch entirely past it (the usual
 * case) cannot meet an existing offline row (every row is written with its progress, in the same
 * transaction), so its rows go in with COPY and no conflict checks; a batch reaching back (a
 * replay, a redelivery after a crash) is inserted row by row, skipping what is already there.
 */
export async function writeBatch(
  db: Database,
  registered: RegisteredFeatureView,
  batch: BatchWrite,
  options: WriteBatchOptions = {},
): Promise<BatchWriteResult> {
  const { cache } = options;
  if (cache && cache.viewId !== registered.id) {
    throw new Error(
      `the window cache of view ${cache.viewId} was given to a writer of view ${registered.id}`,
    );
  }
  const client = await poolOf(db).connect();
  let broken = false;
  try {
    await client.query('begin');
    let written: Written;
    try {
      written = await writeInTransaction(client, registered, batch, cache);
      await client.query('commit');
    } catch (err) {
      broken = await client.query('rollback').then(
        () => false,
        () => true,
      );
      throw err;
    }
    // Only what is committed may be remembered: the next batch trusts it without reading back.
    written.remember?.();
    return written.result;
  } finally {
    client.release(broken);
  }
}

interface Written {
  result: BatchWriteResult;
  /** Puts this batch's entities into the cache; called after the commit. */
  remember?: () => void;
}

/** What an entity's current online row says, read under lock. */
interface OnlineState extends OrderKey {
  rowVersion: string;
}

async function writeInTransaction(
  client: PgClient,
  registered: RegisteredFeatureView,
  batch: BatchWrite,
  cache: EntityWindowCache | undefined,
): Promise<Written> {
  const { view } = registered;
  const viewId = registered.id;
  const projectId = registered.projectId;
  const result: BatchWriteResult = {
    inserted: 0,
    duplicates: 0,
    onlineUpserted: 0,
    onlineAggregatesRefreshed: 0,
    historyLoaded: 0,
  };

  // Serialises writers of the same partition (a consumer that lost it in a rebalance and the one
  // that got it) and tells which offsets were already written before a replay.
  const progress = await client.query(
    `select last_offset::text as last_offset from feature_ingestion_progress
     where view_id = $1 and topic = $2 and partition = $3 for update`,
    [viewId, batch.topic, batch.partition],
  );
  const seenUpTo = progress.rows[0] ? BigInt(progress.rows[0].last_offset as string) : -1n;
  const newRejections = batch.rejectedOffsets.filter((offset) => BigInt(offset) > seenUpTo).length;
  const fresh = batch.events.every((e) => BigInt(e.offset) > seenUpTo);

  let maxEventTimeMs: number | undefined;
  let cacheUpdate: CacheUpdate | undefined;
  if (batch.events.length > 0) {
    const windowMs = maxWindowMs(view);
    // Per entity: its earliest event time in the batch, and its newest event (by event time; the
    // later position in the partition on a tie).
    const inBatch = new Map<string, { firstMs: number; newest: number }>();
    const events = batch.events;
    let maxMs = -Infinity;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.eventTimeMs > maxMs) maxMs = e.eventTimeMs;
      const seen = inBatch.get(e.event.entityId);
      if (!seen) {
        inBatch.set(e.event.entityId, { firstMs: e.eventTimeMs, newest: i });
        continue;
      }
      if (e.eventTimeMs < seen.firstMs) seen.firstMs = e.eventTimeMs;
      if (e.eventTimeMs >= events[seen.newest]!.eventTimeMs) seen.newest = i;
    }
    maxEventTimeMs = maxMs;
    // Existing rows are locked in one order (the lock query's) before anything else is written, and
    // new ones inserted in one order (this sort): overlapping transactions cannot deadlock.
    const entityIds = [...inBatch.keys()].sort(compareText);

    const online = new Map<string, OnlineState>();
    for (const row of (
      await client.query(
        `select entity_id, (extract(epoch from event_time) * 1000)::float8 as t, partition,
                kafka_offset::text as o, xmin::text as v
         from feature_online_rows where view_id = $1 and entity_id = any($2::text[])
         order by entity_id for update`,
        [viewId, entityIds],
      )
    ).rows) {
      online.set(row.entity_id as string, {
        timeMs: Number(row.t),
        partition: row.partition as number,
        offset: BigInt(row.o as string),
        rowVersion: row.v as string,
      });
    }

    // Each entity's known events: earlier ones within the longest window (from the cache when it
    // can be trusted, from the offline store otherwise), then this batch's.
    const known = new Map<string, TimedValues[]>();
    const completeAfter = new Map<string, number>();
    if (windowMs > 0) {
      const toLoad: { entityId: string; afterMs: number }[] = [];
      for (const entityId of entityIds) {
        const needAfterMs = inBatch.get(entityId)!.firstMs - windowMs;
        const cached = fresh ? cache?.get(entityId) : undefined;
        const row = online.get(entityId);
        if (cached && row && cached.rowVersion === row.rowVersion && cached.completeAfterMs <= needAfterMs) {
          known.set(entityId, cached.events.slice());
          completeAfter.set(entityId, cached.completeAfterMs);
        } else {
          toLoad.push({ entityId, afterMs: needAfterMs });
          completeAfter.set(entityId, needAfterMs);
          known.set(entityId, []);
        }
      }
      result.historyLoaded = toLoad.length;
      if (toLoad.length > 0) {
        await loadHistory(client, view, viewId, batch, fresh, toLoad, known);
      }
    }

    const fields = aggregatedFields(view);
    // Over the same arrays as `known`, which the cache keeps afterwards.
    const histories = new Map<string, EntityHistory>();
    for (const [entityId, events_] of known) histories.set(entityId, new EntityHistory(events_));
    const offlineRows = new Array<RowToWrite>(events.length);
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      let aggregates: AggregateValues = {};
      if (windowMs > 0) {
        const history = histories.get(e.event.entityId)!;
        history.push({ timeMs: e.eventTimeMs, values: pick(e.event.values, fields) });
        aggregates = history.aggregates(view, e.eventTimeMs, windowMs);
      }
      offlineRows[i] = {
        offset: e.offset,
        entityId: e.event.entityId,
        eventTimeMs: e.eventTimeMs,
        eventTime: e.event.eventTime,
        valuesJson: valuesJson(e.event.values),
        aggregatesJson: JSON.stringify(aggregates),
      };
    }

    const onlineRows: RowToWrite[] = [];
    const refreshed: { entityId: string; aggregates: AggregateValues | null }[] = [];
    for (const entityId of entityIds) {
      const newest = events[inBatch.get(entityId)!.newest]!;
      const existing = online.get(entityId);
      if (!existing || compareKeys(keyOf(newest, batch.partition), existing) > 0) {
        const row = offlineRows[inBatch.get(entityId)!.newest]!;
        // As of the newest event's time, over every event known after the whole batch: a late
        // event later in the batch counts here, though not in the newest event's offline row.
        onlineRows.push(
          windowMs > 0
            ? {
                ...row,
                aggregatesJson: JSON.stringify(
                  histories.get(entityId)!.aggregates(view, newest.eventTimeMs, windowMs),
                ),
              }
            : row,
        );
      } else if (windowMs > 0) {
        // Only late events for this entity: the online values stay, but a late event inside the
        // window changes the aggregates as of the online row's time.
        const changesWindow = newest.eventTimeMs > existing.timeMs - windowMs;
        refreshed.push({
          entityId,
          aggregates: changesWindow
            ? histories.get(entityId)!.aggregates(view, existing.timeMs, windowMs)
            : null,
        });
      }
    }

    if (fresh) {
      result.inserted = await copyOfflineRows(client, projectId, viewId, batch, offlineRows);
    } else {
      result.inserted = await insertOfflineRows(client, projectId, viewId, batch, offlineRows);
    }
    result.duplicates = offlineRows.length - result.inserted;
    result.onlineUpserted = await upsertOnlineRows(client, projectId, viewId, batch, onlineRows);
    if (refreshed.length > 0) {
      // Entities with only late events outside the window are written too (values unchanged):
      // every batch writes the online row of each of its entities, which is what tells another
      // process that its cached history of them is out of date.
      await client.query(
        `update feature_online_rows as o
         set aggregates = coalesce(u.a, o.aggregates),
             updated_at = case when u.a is null then o.updated_at else now() end
         from unnest($2::text[], $3::jsonb[]) as u(e, a)
         where o.view_id = $1 and o.entity_id = u.e`,
        [
          viewId,
          refreshed.map((r) => r.entityId),
          refreshed.map((r) => (r.aggregates ? JSON.stringify(r.aggregates) : null)),
        ],
      );
      result.onlineAggregatesRefreshed = refreshed.filter((r) => r.aggregates).length;
    }

    if (cache && windowMs > 0) cacheUpdate = { entityIds, known, completeAfter, windowMs };
  }

  const [progressRow] = (
    await client.query(
      `insert into feature_ingestion_progress as p
         (project_id, view_id, topic, partition, last_offset, events_ingested, dlq_count, last_event_time)
       values ($1, $2, $3, $4, $5, $6, $7, $8)
       on conflict (view_id, topic, partition) do update set
         last_offset = greatest(p.last_offset, excluded.last_offset),
         events_ingested = p.events_ingested + excluded.events_ingested,
         dlq_count = p.dlq_count + excluded.dlq_count,
         last_event_time = greatest(p.last_event_time, excluded.last_event_time),
         updated_at = now()
       returning (txid_current() % 4294967296)::text as xid`,
      [
        projectId,
        viewId,
        batch.topic,
        batch.partition,
        batch.lastOffset,
        result.inserted,
        newRejections,
        maxEventTimeMs === undefined ? null : new Date(maxEventTimeMs).toISOString(),
      ],
    )
  ).rows;

  if (!cache || !cacheUpdate) return { result };
  const update = cacheUpdate;
  if (!fresh) {
    // A replay: what it found and what it wrote is not worth sorting out; the next batch reads back.
    return { result, remember: () => update.entityIds.forEach((entityId) => cache.delete(entityId)) };
  }
  // The transaction's own id, as `xmin` of the online rows it wrote reads after the commit.
  const rowVersion = progressRow!.xid as string;
  return { result, remember: () => rememberWindows(cache, rowVersion, update) };
}

interface CacheUpdate {
  entityIds: readonly string[];
  known: Map<string, TimedValues[]>;
  completeAfter: Map<string, number>;
  windowMs: number;
}

/**
 * Keeps each entity's events for the next batches: those within two windows of its newest, so an
 * event up to one window late still finds its history here.
 */
function rememberWindows(cache: EntityWindowCache, rowVersion: string, update: CacheUpdate): void {
  for (const entityId of update.entityIds) {
    const events = update.known.get(entityId)!;
    let newest = -Infinity;
    for (const e of events) if (e.timeMs > newest) newest = e.timeMs;
    const cutoff = newest - 2 * update.windowMs;
    cache.set(entityId, {
      rowVersion,
      completeAfterMs: Math.max(update.completeAfter.get(entityId)!, cutoff),
      events: events.filter((e) => e.timeMs > cutoff),
    });
  }
}

/** The fields a view's aggregates read; count without a field reads none. */
function aggregatedFields(view: Pick<FeatureView, 'aggregates'>): string[] {
  return [...new Set(view.aggregates.flatMap((agg) => (agg.field === undefined ? [] : [agg.field])))];
}

function pick(values: Record<string, FeatureValue>, fields: readonly string[]): Record<string, FeatureValue> {
  const picked: Record<string, FeatureValue> = {};
  for (const field of fields) picked[field] = values[field] ?? null;
  return picked;
}

/**
 * Earlier offline rows of the given entities, each from its own lower bound on, with only the
 * aggregated fields. A replayed batch finds its own events there already; they are left out
 * here and count once, from the batch.
 */
async function loadHistory(
  client: PgClient,
  view: FeatureView,
  viewId: string,
  batch: BatchWrite,
  fresh: boolean,
  toLoad: readonly { entityId: string; afterMs: number }[],
  known: Map<string, TimedValues[]>,
): Promise<void> {
  const fields = aggregatedFields(view);
  const params: unknown[] = [
    viewId,
    toLoad.map((x) => x.entityId),
    toLoad.map((x) => new Date(x.afterMs).toISOString()),
  ];
  const columns = fields.map((field, i) => {
    params.push(field);
    return `, r.values -> $${params.length}::text as f${i}`;
  });
  let notInBatch = '';
  if (!fresh) {
    params.push(
      batch.topic,
      batch.partition,
      batch.events.map((e) => e.offset),
    );
    const n = params.length;
    notInBatch = `and not (r.topic = $${n - 2} and r.partition = $${n - 1} and r.kafka_offset = any($${n}::bigint[]))`;
  }
  // One index range scan per entity (LATERAL, and OFFSET 0 so the planner can't flatten it back into
  // a join): a plain join on a large store was planned as a sort of the whole table, spilling to disk.
  const { rows } = await client.query(
    `select r.entity_id, (extract(epoch from r.event_time) * 1000)::float8 as t ${columns.join('')}
     from unnest($2::text[], $3::timestamptz[]) as u(e, after)
     cross join lateral (
       select * from feature_offline_rows r
       where r.view_id = $1 and r.entity_id = u.e and r.event_time > u.after ${notInBatch}
       offset 0) as r`,
    params,
  );
  for (const row of rows) {
    const values: Record<string, FeatureValue> = {};
    for (let i = 0; i < fields.length; i++) values[fields[i]!] = (row[`f${i}`] ?? null) as FeatureValue;
    known.get(row.entity_id as string)!.push({ timeMs: Number(row.t), values });
  }
}

/**
 * A lone UTF-16 surrogate (JSON can carry one as an escape) becomes U+FFFD, as node-postgres's
 * UTF-8 encoding of text parameters and COPY data makes it: jsonb refuses the escape, and one such
 * event would otherwise fail its batch on every retry.
 */
function wellFormed(text: string): string {
  return loneSurrogate.test(text) ? text.replace(loneSurrogates, '\uFFFD') : text;
}

const loneSurrogate = /\p{Surrogate}/u;
const loneSurrogates = /\p{Surrogate}/gu;

/**
 * An event's values as JSON. JSON.stringify writes a lone surrogate as an escape jsonb refuses;
 * the check on its output is cheap, and only such a value is written again.
 */
function valuesJson(values: Record<string, FeatureValue>): string {
  const text = JSON.stringify(values);
  return surrogateEscape.test(text)
    ? JSON.stringify(values, (_key, value: unknown) =>
        typeof value === 'string' ? wellFormed(value) : value,
      )
    : text;
}

const surrogateEscape = /\\ud[89a-f]/i;

/** One row for either store. */
interface RowToWrite {
  offset: string;
  entityId: string;
  eventTimeMs: number;
  /** The event's own ISO 8601 time, when PostgreSQL reads it as exactly `eventTimeMs`. */
  eventTime?: string;
  valuesJson: string;
  aggregatesJson: string;
}

/**
 * The time as PostgreSQL should read it. A validated event's own text (ISO 8601, at most
 * millisecond digits, Z or an offset) is the same instant as `eventTimeMs` and saves formatting it
 * again; anything else (more digits than JavaScript keeps) goes as `eventTimeMs`.
 */
function timeText(row: RowToWrite): string {
  return row.eventTime !== undefined && plainIsoTime.test(row.eventTime)
    ? row.eventTime
    : new Date(row.eventTimeMs).toISOString();
}

const plainIsoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,3})?(?:Z|[+-]\d\d:\d\d)$/;

const offlineColumns =
  'project_id, view_id, topic, partition, kafka_offset, entity_id, event_time, values, aggregates';

/**
 * A fresh batch's offline rows with COPY: one text payload, no per-row statement, parameter or
 * conflict check. Four to six times faster than the unnest() insert in PostgreSQL, and the
 * payload is cheaper to build than the insert's array parameters.
 */
async function copyOfflineRows(
  client: PgClient,
  projectId: string,
  viewId: string,
  batch: BatchWrite,
  rows: readonly RowToWrite[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const prefix = `${projectId}\t${viewId}\t${copyText(batch.topic)}\t${batch.partition}\t`;
  const lines = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    lines[i] =
      `${prefix}${row.offset}\t${copyText(row.entityId)}\t${timeText(row)}\t` +
      `${copyText(row.valuesJson)}\t${copyText(row.aggregatesJson)}\n`;
  }
  return copyFromStdin(
    client,
    `copy feature_offline_rows (${offlineColumns}) from stdin`,
    Buffer.from(lines.join(''), 'utf8'),
  );
}

/**
 * A batch that reaches back: each column one array parameter, unnested in SQL, skipping the rows
 * already there. Slower than COPY, and only for replays.
 */
async function insertOfflineRows(
  client: PgClient,
  projectId: string,
  viewId: string,
  batch: BatchWrite,
  rows: readonly RowToWrite[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = toColumns(rows);
  const { rows: counted } = await client.query(
    `with inserted as (
       insert into feature_offline_rows (${offlineColumns})
       select $1, $2, $3, $4, u.o, u.e, u.t, u.v, u.a
       from unnest($5::bigint[], $6::text[], $7::timestamptz[], $8::json[], $9::json[]) as u(o, e, t, v, a)
       on conflict do nothing
       returning 1)
     select count(*)::int as n from inserted`,
    [projectId, viewId, batch.topic, batch.partition, ...columns],
  );
  return counted[0]!.n as number;
}

/**
 * Online rows, latest by event time: the guard in SQL makes that hold whatever the caller computed
 * (ties on event time go to the later position in the stream). One row per entity (the batch's
 * newest), in entity order, so two transactions upserting overlapping entities lock them in the
 * same order and cannot deadlock.
 */
async function upsertOnlineRows(
  client: PgClient,
  projectId: string,
  viewId: string,
  batch: BatchWrite,
  rows: RowToWrite[],
): Promise<number> {
  if (rows.length === 0) return 0;
  rows.sort((a, b) => compareText(a.entityId, b.entityId));
  // One jsonb document rather than array parameters: the values and aggregates go in as JSON
  // already, with no array-literal escaping to build in JavaScript and undo in PostgreSQL.
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    parts[i] =
      `{"o":${row.offset},"e":${JSON.stringify(wellFormed(row.entityId))},"t":"${timeText(row)}",` +
      `"v":${row.valuesJson},"a":${row.aggregatesJson}}`;
  }
  const { rows: counted } = await client.query(
    `with upserted as (
       insert into feature_online_rows as o
         (project_id, view_id, entity_id, event_time, values, aggregates, topic, partition, kafka_offset)
       select $1, $2, u.e, u.t, u.v, u.a, $3, $4, u.o
       from jsonb_to_recordset($5::jsonb) as u(o bigint, e text, t timestamptz, v jsonb, a jsonb)
       on conflict (view_id, entity_id) do update set
         event_time = excluded.event_time, values = excluded.values, aggregates = excluded.aggregates,
         topic = excluded.topic, partition = excluded.partition, kafka_offset = excluded.kafka_offset,
         updated_at = now()
       where (o.event_time, o.partition, o.kafka_offset)
             < (excluded.event_time, excluded.partition, excluded.kafka_offset)
       returning 1)
     select count(*)::int as n from upserted`,
    [projectId, viewId, batch.topic, batch.partition, `[${parts.join(',')}]`],
  );
  return counted[0]!.n as number;
}

function toColumns(rows: readonly RowToWrite[]): [string[], string[], string[], string[], string[]] {
  const n = rows.length;
  const offsets = new Array<string>(n);
  const entityIds = new Array<string>(n);
  const times = new Array<string>(n);
  const values = new Array<string>(n);
  const aggregates = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    offsets[i] = row.offset;
    entityIds[i] = row.entityId;
    times[i] = timeText(row);
    values[i] = row.valuesJson;
    aggregates[i] = row.aggregatesJson;
  }
  return [offsets, entityIds, times, values, aggregates];
}

interface OrderKey {
  timeMs: number;
  partition: number;
  offset: bigint;
}

const keyOf = (e: ValidEvent, partition: number): OrderKey => ({
  timeMs: e.eventTimeMs,
  partition,
  offset: BigInt(e.offset),
});

/** The online store's order: event time, then position in the stream (matches the SQL guard). */
export function compareKeys(a: OrderKey, b: OrderKey): number {
  if (a.timeMs !== b.timeMs) return a.timeMs < b.timeMs ? -1 : 1;
  if (a.partition !== b.partition) return a.partition < b.partition ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

/** Code-unit order: the order rows are locked and upserted in. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
