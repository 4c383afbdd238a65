import { and, eq, gt, inArray, lte, sql } from 'drizzle-orm';
import type { FeatureEvent } from '@shepherd/contracts/features';
import type { Database } from '@shepherd/db/client';
import {
  featureIngestionProgress,
  featureOfflineRows,
  featureOnlineRows,
  type NewFeatureOfflineRow,
  type NewFeatureOnlineRow,
} from '@shepherd/db/schema';
import { computeAggregates, maxWindowMs, type AggregateValues, type TimedValues } from './aggregates.ts';
import type { RegisteredFeatureView } from './registry.ts';

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
}

/** Rows per INSERT statement: well under PostgreSQL's 65535 parameters. */
const insertChunk = 1000;

/**
 * Writes one batch in one transaction: offline rows (append-only; a replayed offset is skipped),
 * online rows (latest by event time, decided in SQL so a late event never overwrites a newer one),
 * window aggregates for both, and the partition's progress. The caller commits Kafka offsets only
 * after this resolves.
 */
export async function writeBatch(
  db: Database,
  registered: RegisteredFeatureView,
  batch: BatchWrite,
): Promise<BatchWriteResult> {
  const { view } = registered;
  const viewId = registered.id;
  const projectId = registered.projectId;
  const result: BatchWriteResult = {
    inserted: 0,
    duplicates: 0,
    onlineUpserted: 0,
    onlineAggregatesRefreshed: 0,
  };

  return db.transaction(async (tx) => {
    // Serialises writers of the same partition (a consumer that lost it in a rebalance and the one
    // that got it) and tells which rejected offsets were already counted before a replay.
    const [progress] = await tx
      .select({ lastOffset: featureIngestionProgress.lastOffset })
      .from(featureIngestionProgress)
      .where(
        and(
          eq(featureIngestionProgress.viewId, viewId),
          eq(featureIngestionProgress.topic, batch.topic),
          eq(featureIngestionProgress.partition, batch.partition),
        ),
      )
      .for('update');
    const seenUpTo = progress?.lastOffset ?? -1n;
    const newRejections = batch.rejectedOffsets.filter((offset) => BigInt(offset) > seenUpTo).length;

    let maxEventTimeMs: number | undefined;
    if (batch.events.length > 0) {
      const entityIds = [...new Set(batch.events.map((e) => e.event.entityId))];

      const online = new Map<string, OrderKey>();
      for (const row of await tx
        .select({
          entityId: featureOnlineRows.entityId,
          eventTime: featureOnlineRows.eventTime,
          partition: featureOnlineRows.partition,
          kafkaOffset: featureOnlineRows.kafkaOffset,
        })
        .from(featureOnlineRows)
        .where(and(eq(featureOnlineRows.viewId, viewId), inArray(featureOnlineRows.entityId, entityIds)))
        .for('update')) {
        online.set(row.entityId, {
          timeMs: row.eventTime.getTime(),
          partition: row.partition,
          offset: row.kafkaOffset,
        });
      }

      let minMs = Infinity;
      let maxMs = -Infinity;
      for (const e of batch.events) {
        minMs = Math.min(minMs, e.eventTimeMs);
        maxMs = Math.max(maxMs, e.eventTimeMs);
      }
      maxEventTimeMs = maxMs;
      let asOfMs = maxMs;
      for (const key of online.values()) asOfMs = Math.max(asOfMs, key.timeMs);

      // Each entity's known events: earlier rows within the longest window, then this batch's.
      const known = new Map<string, TimedValues[]>();
      const windowMs = maxWindowMs(view);
      if (windowMs > 0) {
        const inBatch = new Set(batch.events.map((e) => e.offset));
        const history = await tx
          .select({
            entityId: featureOfflineRows.entityId,
            eventTime: featureOfflineRows.eventTime,
            values: featureOfflineRows.values,
            topic: featureOfflineRows.topic,
            partition: featureOfflineRows.partition,
            kafkaOffset: featureOfflineRows.kafkaOffset,
          })
          .from(featureOfflineRows)
          .where(
            and(
              eq(featureOfflineRows.viewId, viewId),
              inArray(featureOfflineRows.entityId, entityIds),
              gt(featureOfflineRows.eventTime, new Date(minMs - windowMs)),
              lte(featureOfflineRows.eventTime, new Date(asOfMs)),
            ),
          );
        for (const row of history) {
          // A replayed batch finds its own events here already; they count once, from the batch.
          if (
            row.topic === batch.topic &&
            row.partition === batch.partition &&
            inBatch.has(row.kafkaOffset.toString())
          ) {
            continue;
          }
          pushTo(known, row.entityId, { timeMs: row.eventTime.getTime(), values: row.values });
        }
      }

      const offlineRows: NewFeatureOfflineRow[] = [];
      const latest = new Map<string, ValidEvent>();
      const newestInBatch = new Map<string, number>();
      for (const e of batch.events) {
        const entityId = e.event.entityId;
        newestInBatch.set(entityId, Math.max(newestInBatch.get(entityId) ?? -Infinity, e.eventTimeMs));
        const events = pushTo(known, entityId, { timeMs: e.eventTimeMs, values: e.event.values });
        offlineRows.push({
          projectId,
          viewId,
          topic: batch.topic,
          partition: batch.partition,
          kafkaOffset: BigInt(e.offset),
          entityId,
          eventTime: new Date(e.eventTimeMs),
          values: e.event.values,
          aggregates: windowMs > 0 ? computeAggregates(view, events, e.eventTimeMs) : {},
        });
        const current = latest.get(entityId);
        if (!current || compareKeys(keyOf(e, batch.partition), keyOf(current, batch.partition)) > 0) {
          latest.set(entityId, e);
        }
      }

      const onlineRows: NewFeatureOnlineRow[] = [];
      const refreshed: { entity_id: string; aggregates: AggregateValues }[] = [];
      for (const [entityId, e] of latest) {
        const events = known.get(entityId) ?? [];
        const existing = online.get(entityId);
        if (!existing || compareKeys(keyOf(e, batch.partition), existing) > 0) {
          onlineRows.push({
            projectId,
            viewId,
            entityId,
            eventTime: new Date(e.eventTimeMs),
            values: e.event.values,
            aggregates: windowMs > 0 ? computeAggregates(view, events, e.eventTimeMs) : {},
            topic: batch.topic,
            partition: batch.partition,
            kafkaOffset: BigInt(e.offset),
          });
        } else if (windowMs > 0) {
          // Only late events for this entity: the online values stay, but a late event inside the
          // window changes the aggregates as of the online row's time.
          if ((newestInBatch.get(entityId) ?? -Infinity) > existing.timeMs - windowMs) {
            refreshed.push({
              entity_id: entityId,
              aggregates: computeAggregates(view, events, existing.timeMs),
            });
          }
        }
      }

      for (let i = 0; i < offlineRows.length; i += insertChunk) {
        const written = await tx
          .insert(featureOfflineRows)
          .values(offlineRows.slice(i, i + insertChunk))
          .onConflictDoNothing()
          .returning({ offset: featureOfflineRows.kafkaOffset });
        result.inserted += written.length;
      }
      result.duplicates = offlineRows.length - result.inserted;

      for (let i = 0; i < onlineRows.length; i += insertChunk) {
        const written = await tx
          .insert(featureOnlineRows)
          .values(onlineRows.slice(i, i + insertChunk))
          .onConflictDoUpdate({
            target: [featureOnlineRows.viewId, featureOnlineRows.entityId],
            set: {
              eventTime: sql`excluded.event_time`,
              values: sql`excluded.values`,
              aggregates: sql`excluded.aggregates`,
              topic: sql`excluded.topic`,
              partition: sql`excluded.partition`,
              kafkaOffset: sql`excluded.kafka_offset`,
              updatedAt: sql`now()`,
            },
            // The guard that makes "latest by event time" hold whatever the caller computed:
            // ties on event time go to the later position in the stream.
            setWhere: sql`(${featureOnlineRows.eventTime}, ${featureOnlineRows.partition}, ${featureOnlineRows.kafkaOffset})
              < (excluded.event_time, excluded.partition, excluded.kafka_offset)`,
          })
          .returning({ entityId: featureOnlineRows.entityId });
        result.onlineUpserted += written.length;
      }

      if (refreshed.length > 0) {
        await tx.execute(sql`
          update ${featureOnlineRows} as o
          set aggregates = u.aggregates, updated_at = now()
          from jsonb_to_recordset(${JSON.stringify(refreshed)}::jsonb) as u(entity_id text, aggregates jsonb)
          where o.view_id = ${viewId} and o.entity_id = u.entity_id`);
        result.onlineAggregatesRefreshed = refreshed.length;
      }
    }

    await tx
      .insert(featureIngestionProgress)
      .values({
        projectId,
        viewId,
        topic: batch.topic,
        partition: batch.partition,
        lastOffset: BigInt(batch.lastOffset),
        eventsIngested: result.inserted,
        dlqCount: newRejections,
        lastEventTime: maxEventTimeMs === undefined ? null : new Date(maxEventTimeMs),
      })
      .onConflictDoUpdate({
        target: [
          featureIngestionProgress.viewId,
          featureIngestionProgress.topic,
          featureIngestionProgress.partition,
        ],
        set: {
          lastOffset: sql`greatest(${featureIngestionProgress.lastOffset}, excluded.last_offset)`,
          eventsIngested: sql`${featureIngestionProgress.eventsIngested} + excluded.events_ingested`,
          dlqCount: sql`${featureIngestionProgress.dlqCount} + excluded.dlq_count`,
          lastEventTime: sql`greatest(${featureIngestionProgress.lastEventTime}, excluded.last_event_time)`,
          updatedAt: sql`now()`,
        },
      });
    return result;
  });
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

function pushTo(map: Map<string, TimedValues[]>, key: string, value: TimedValues): TimedValues[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  list.push(value);
  return list;
}
