import { and, eq, sql } from 'drizzle-orm';
import type { Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureIngestionProgress, featureOfflineRows, featureOnlineRows } from '@shepherd/db/schema';
import { generateFraudRows } from '@shepherd/datagen/fraud';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { cardTransactionEventV1 } from '../src/card-events.ts';
import { FeatureIngestor } from '../src/ingest.ts';
import { getFeatureViewMetrics } from '../src/metrics.ts';
import { rebuildOnlineStore, replayFromOffsets } from '../src/operations.ts';
import { getLatestParityReport, listParityReports, runParityCheck } from '../src/parity.ts';
import { featureEventMessage } from '../src/produce.ts';
import { cardTransactionsOnFreshTopic, produceAll } from './kafka-helpers.ts';

const VALID = 4000;
const MALFORMED = 40;

describe('feature store operations: parity, rebuild, replay', () => {
  let fixture: Awaited<ReturnType<typeof cardTransactionsOnFreshTopic>>;
  const view = 'card_transactions';

  const ingestUntilCaughtUp = async () => {
    const { kafka, database, registered, admin } = fixture;
    const ingestor = new FeatureIngestor({ kafka, db: database.db, registered, logger: quietLogger() });
    await ingestor.start();
    try {
      await eventually(
        async () => {
          const m = await getFeatureViewMetrics(database.db, admin, registered);
          return m.totalLag === 0 && m.partitions.every((p) => p.committedOffset === p.highWatermark)
            ? m
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: 'ingestion caught up' },
      );
    } finally {
      await ingestor.stop();
    }
    return ingestor.stats;
  };

  const onlineSnapshot = async () =>
    (
      await fixture.database.db
        .select()
        .from(featureOnlineRows)
        .where(eq(featureOnlineRows.viewId, fixture.registered.id))
        .orderBy(featureOnlineRows.entityId)
    ).map(({ updatedAt: _updatedAt, ...row }) => row);

  const counts = async () => {
    const { db } = fixture.database;
    const [offline] = await db
      .select({ n: sql<number>`count(*)::int` })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, fixture.registered.id));
    const [progress] = await db
      .select({
        ingested: sql<number>`sum(${featureIngestionProgress.eventsIngested})::int`,
        dlq: sql<number>`sum(${featureIngestionProgress.dlqCount})::int`,
      })
      .from(featureIngestionProgress)
      .where(and(eq(featureIngestionProgress.viewId, fixture.registered.id)));
    return { offline: offline!.n, ingested: progress!.ingested, dlq: progress!.dlq };
  };

  beforeAll(async () => {
    fixture = await cardTransactionsOnFreshTopic('operations');
    // Time-ordered events with every 20th held back 300 places (late), and some junk mixed in.
    const events = [...generateFraudRows({ rows: VALID, cards: 60, seed: 5, days: 4 })].map(
      cardTransactionEventV1,
    );
    const ordered: Message[] = [];
    const held: Message[] = [];
    events.forEach((event, i) => {
      if (i % 20 === 3) held.push(featureEventMessage(event));
      else ordered.push(featureEventMessage(event));
      if (i % 300 === 299) ordered.push(...held.splice(0));
      if (i % 100 === 50) ordered.push({ key: event.entityId, value: '{"broken"' });
    });
    ordered.push(...held);
    const producer = fixture.kafka.producer();
    await producer.connect();
    await produceAll(producer, fixture.topic, ordered);
    await producer.disconnect();
    await ingestUntilCaughtUp();
  }, 90_000);
  afterAll(() => fixture?.close());

  it('finds no mismatch in a clean store, and stores the report', async () => {
    const { db } = fixture.database;
    const projectId = fixture.registered.projectId;
    const report = await runParityCheck(db, projectId, view, { sampleSize: 1000 });
    expect(report).toMatchObject({ view, version: 1, sampled: 60, mismatchedEntities: 0, mismatchRate: 0 });
    expect(report.mismatches).toEqual([]);
    expect(report.id).toBeDefined();
    expect(await getLatestParityReport(db, projectId, view)).toEqual(report);
  });

  it('finds a corrupted, a missing and a stale online row, and a rebuild from offline repairs them', async () => {
    const { db } = fixture.database;
    const projectId = fixture.registered.projectId;
    const viewId = fixture.registered.id;
    const before = await onlineSnapshot();
    const [corrupted, missing, stale] = before;

    await db
      .update(featureOnlineRows)
      .set({ values: { ...corrupted!.values, amount: Number(corrupted!.values.amount) + 0.01 } })
      .where(and(eq(featureOnlineRows.viewId, viewId), eq(featureOnlineRows.entityId, corrupted!.entityId)));
    await db
      .delete(featureOnlineRows)
      .where(and(eq(featureOnlineRows.viewId, viewId), eq(featureOnlineRows.entityId, missing!.entityId)));
    await db
      .update(featureOnlineRows)
      .set({
        aggregates: { ...stale!.aggregates, txn_count_24h: Number(stale!.aggregates.txn_count_24h) - 1 },
      })
      .where(and(eq(featureOnlineRows.viewId, viewId), eq(featureOnlineRows.entityId, stale!.entityId)));

    const report = await runParityCheck(db, projectId, view, { sampleSize: 1000 });
    expect(report.sampled).toBe(60);
    expect(report.mismatchedEntities).toBe(3);
    expect(report.mismatchRate).toBeCloseTo(3 / 60);
    expect(report.byField).toEqual({ amount: 1, presence: 1, txn_count_24h: 1 });
    expect(report.mismatches).toEqual(
      expect.arrayContaining([
        {
          entity: corrupted!.entityId,
          field: 'amount',
          online: Number(corrupted!.values.amount) + 0.01,
          offline: corrupted!.values.amount,
        },
        { entity: missing!.entityId, field: 'presence', online: null, offline: 'present' },
        {
          entity: stale!.entityId,
          field: 'txn_count_24h',
          online: Number(stale!.aggregates.txn_count_24h) - 1,
          offline: stale!.aggregates.txn_count_24h,
        },
      ]),
    );
    const [latest, previous] = await listParityReports(db, projectId, view);
    expect(latest!.mismatchedEntities).toBe(3);
    expect(previous?.mismatchedEntities).toBe(0);

    const rebuilt = await rebuildOnlineStore(db, projectId, view);
    expect(rebuilt).toEqual({ view, version: 1, removed: 59, written: 60 });
    const after = await onlineSnapshot();
    expect(after.map(({ aggregates: _a, ...row }) => row)).toEqual(
      before.map(({ aggregates: _a, ...row }) => row),
    );
    after.forEach((row, i) => {
      for (const [name, value] of Object.entries(before[i]!.aggregates)) {
        if (value === null) expect(row.aggregates[name]).toBeNull();
        else expect(row.aggregates[name]).toBeCloseTo(value, 9);
      }
    });
    expect(await runParityCheck(db, projectId, view, { store: false })).toMatchObject({
      mismatchedEntities: 0,
    });
  });

  it('replays the topic from offset 0 without writing anything twice', async () => {
    const { admin, registered } = fixture;
    const before = await counts();
    const online = await onlineSnapshot();
    expect(before).toEqual({ offline: VALID, ingested: VALID, dlq: MALFORMED });

    const partitions = (await admin.fetchTopicOffsets(fixture.topic)).map((p) => ({
      partition: p.partition,
      offset: p.low,
    }));
    await replayFromOffsets(admin, registered, partitions);
    const metrics = await getFeatureViewMetrics(fixture.database.db, admin, registered);
    expect(metrics.totalLag).toBe(VALID + MALFORMED);

    const stats = await ingestUntilCaughtUp();
    expect(stats).toMatchObject({ eventsIngested: 0, duplicates: VALID, rejected: MALFORMED });
    expect(await counts()).toEqual(before);
    const replayed = await onlineSnapshot();
    expect(replayed.map(({ aggregates: _a, ...row }) => row)).toEqual(
      online.map(({ aggregates: _a, ...row }) => row),
    );
    expect(
      await runParityCheck(fixture.database.db, registered.projectId, view, { store: false }),
    ).toMatchObject({ mismatchedEntities: 0 });
  }, 90_000);

  it('refuses to move a live group, offsets outside the topic and an unknown partition', async () => {
    const { kafka, database, registered, admin } = fixture;
    await expect(replayFromOffsets(admin, registered, [{ partition: 0, offset: '999999' }])).rejects.toThrow(
      /outside the retained range/,
    );
    await expect(replayFromOffsets(admin, registered, [{ partition: 7, offset: '0' }])).rejects.toThrow(
      /has no partition 7/,
    );
    const ingestor = new FeatureIngestor({ kafka, db: database.db, registered, logger: quietLogger() });
    await ingestor.start();
    try {
      await eventually(
        async () =>
          ((await admin.describeGroups([ingestor.groupId])).groups[0]?.members.length ?? 0) > 0 || undefined,
        { timeoutMs: 30_000, intervalMs: 200, what: 'the ingestor joined its group' },
      );
      await expect(replayFromOffsets(admin, registered, [{ partition: 0, offset: '0' }])).rejects.toThrow(
        /live member\(s\); stop ingestion of card_transactions v1/,
      );
    } finally {
      await ingestor.stop();
    }
  }, 60_000);
});
