import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@shepherd/clients/kafka';
import { defineFeatureView } from '@shepherd/contracts/features';
import { auditEvents, featureOfflineRows, featureOnlineRows, projects } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { verifyAuditChain } from '@shepherd/registry/audit';
import { testEnv } from '@shepherd/testing/env';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { FeatureIngestor, consumerGroupId } from '../src/ingest.ts';
import { getFeatureViewMetrics } from '../src/metrics.ts';
import { getOnlineFeatures } from '../src/online.ts';
import { featureEvent, featureEventMessage } from '../src/produce.ts';
import { getFeatureView, registerFeatureView, type RegisteredFeatureView } from '../src/registry.ts';
import { writeBatch, type ValidEvent } from '../src/store.ts';
import { EntityWindowCache } from '../src/window-cache.ts';
import { dlqEnd, readDlq } from './kafka-helpers.ts';

const view = defineFeatureView({
  name: 'txns',
  version: 1,
  entityKey: 'card_id',
  ttlSeconds: 3600,
  features: [{ name: 'amount', type: 'float' }],
  aggregates: [
    { name: 'n_1h', function: 'count', window: '1h' },
    { name: 'sum_1h', function: 'sum', field: 'amount', window: '1h' },
  ],
});

const T0 = Date.parse('2025-03-01T12:00:00Z');
const M = 60_000;
let nextOffset = 0;
const ev = (entityId: string, minutes: number, amount: number): ValidEvent => ({
  offset: String(nextOffset++),
  event: featureEvent(entityId, new Date(T0 + minutes * M), { amount }),
  eventTimeMs: T0 + minutes * M,
});

describe('feature store on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let projectId: string;
  let otherProjectId: string;
  let registered: RegisteredFeatureView;

  beforeAll(async () => {
    database = await openTestDatabase();
    const rows = await database.db
      .insert(projects)
      .values([
        { slug: 'a', name: 'a' },
        { slug: 'b', name: 'b' },
      ])
      .returning();
    projectId = rows[0]!.id;
    otherProjectId = rows[1]!.id;
    ({ registered } = await registerFeatureView({ db: database.db, projectId, actor: 'alice' }, view));
  });
  afterAll(() => database?.dispose());

  it('registers a definition once; a changed schema under the same version is a conflict naming it', async () => {
    const ctx = { db: database.db, projectId, actor: 'alice' };
    const again = await registerFeatureView(ctx, { ...view, description: 'now documented' });
    expect(again).toMatchObject({ created: false, registered: { id: registered.id } });

    const changed = { ...view, features: [{ name: 'amount', type: 'int' as const, nullable: false }] };
    await expect(registerFeatureView(ctx, changed)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining("feature 'amount': float → int") as unknown,
    });
    const v2 = await registerFeatureView(ctx, { ...changed, version: 2 });
    expect(v2.created).toBe(true);
    expect((await getFeatureView(database.db, projectId, 'txns')).view.version).toBe(2);
    expect((await getFeatureView(database.db, projectId, 'txns', 1)).id).toBe(registered.id);

    // Another project has its own namespace.
    await expect(getFeatureView(database.db, otherProjectId, 'txns')).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(registerFeatureView(ctx, { ...view, ttlSeconds: -1 })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const audited = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'feature_view.registered')));
    expect(audited).toHaveLength(2);
    // Links of the project's hash chain, like every other audited change.
    expect(audited.every((event) => event.hash !== null && event.prevHash !== null)).toBe(true);
    expect(await verifyAuditChain(database.db, projectId)).toMatchObject({ ok: true, checked: 2 });
  });

  it('keeps the latest value by event time; late events update aggregates, never values; replays change nothing', async () => {
    const topic = 'features.txns';
    const write = (partition: number, events: ValidEvent[], rejectedOffsets: string[] = []) =>
      writeBatch(database.db, registered, {
        topic,
        partition,
        events,
        rejectedOffsets,
        lastOffset: String(Math.max(...events.map((e) => Number(e.offset)), ...rejectedOffsets.map(Number))),
      });

    const first = [ev('card-1', 0, 10), ev('card-1', 30, 20), ev('card-2', 5, 1)];
    const rejectedOffset = String(nextOffset++);
    expect(await write(0, first, [rejectedOffset])).toMatchObject({ inserted: 3, onlineUpserted: 2 });

    // Late: card-1 at minute 20 arrives after minute 30 was stored.
    const late = [ev('card-1', 20, 5)];
    expect(await write(0, late)).toMatchObject({
      inserted: 1,
      onlineUpserted: 0,
      onlineAggregatesRefreshed: 1,
    });
    const online = async (entityId: string) =>
      (
        await database.db
          .select()
          .from(featureOnlineRows)
          .where(and(eq(featureOnlineRows.viewId, registered.id), eq(featureOnlineRows.entityId, entityId)))
      )[0]!;
    const card1 = await online('card-1');
    expect(card1.eventTime.getTime()).toBe(T0 + 30 * M);
    expect(card1.values).toEqual({ amount: 20 });
    expect(card1.aggregates).toEqual({ n_1h: 3, sum_1h: 35 });

    // The late event's own offline row is as of its time: minute 0 and itself, not minute 30.
    const [lateRow] = await database.db
      .select()
      .from(featureOfflineRows)
      .where(
        and(
          eq(featureOfflineRows.viewId, registered.id),
          eq(featureOfflineRows.kafkaOffset, BigInt(late[0]!.offset)),
        ),
      );
    expect(lateRow!.aggregates).toEqual({ n_1h: 2, sum_1h: 15 });

    // A replay (crash after the transaction, before the offset commit) writes nothing twice.
    expect(await write(0, first, [rejectedOffset])).toMatchObject({ inserted: 0, duplicates: 3 });
    expect(await online('card-1')).toMatchObject({
      values: { amount: 20 },
      aggregates: { n_1h: 3, sum_1h: 35 },
    });

    // Same entity on another partition with the same event time: the tie goes to the later position.
    const tie = { ...ev('card-2', 5, 2) };
    await write(1, [tie]);
    expect((await online('card-2')).values).toEqual({ amount: 2 });

    const [count] = await database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, registered.id));
    expect(count!.n).toBe(5);

    const lookup = await getOnlineFeatures(database.db, projectId, 'txns', ['card-1', 'card-2', 'card-9'], {
      version: 1,
      now: new Date(T0 + 90 * M),
    });
    expect(lookup.vectors.map((v) => [v.entityId, v.found, v.ageSeconds, v.stale])).toEqual([
      ['card-1', true, 3600, false],
      ['card-2', true, 85 * 60, true],
      ['card-9', false, null, true],
    ]);
    // Projects never see each other's rows, even through a view of the same name.
    await registerFeatureView({ db: database.db, projectId: otherProjectId, actor: 'bob' }, view);
    const other = await getOnlineFeatures(database.db, otherProjectId, 'txns', ['card-1']);
    expect(other.vectors[0]!.found).toBe(false);
  });

  it('remembers a view for lookups, but not a view that was missing: once registered it is served', async () => {
    const later = defineFeatureView({ ...view, name: 'txns_later', version: 2 });
    const lookup = () => getOnlineFeatures(database.db, projectId, 'txns_later', ['card-1'], { version: 2 });
    await expect(lookup()).rejects.toMatchObject({ code: 'not_found' });
    // An explicit version is remembered for good once found, so a remembered failure would never heal.
    await registerFeatureView({ db: database.db, projectId, actor: 'alice' }, later);
    const found = await lookup();
    expect(found).toMatchObject({ view: 'txns_later', version: 2 });
    expect(found.vectors[0]).toMatchObject({ entityId: 'card-1', found: false, stale: true });
  });

  it('does not commit an offset whose rejects could not reach the DLQ', async () => {
    const env = testEnv();
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'features-dlq-test', retries: 10 });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `features.txns.dlq-test-${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const { registered: dlqView } = await registerFeatureView(
      { db: database.db, projectId, actor: 'alice' },
      { ...view, name: 'txns_dlq', sourceTopic: topic },
    );
    const dlqFrom = await dlqEnd(admin);

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        featureEventMessage(featureEvent('card-1', new Date(T0), { amount: 1 })),
        { key: 'card-1', value: 'not json' },
        featureEventMessage(featureEvent('card-1', new Date(T0 + M), { amount: 2 })),
      ],
    });

    // The DLQ producer fails twice; each time, the committed offset must not have moved.
    let failures = 0;
    const committedAtFailure: string[] = [];
    const flaky: Pick<Producer, 'connect' | 'disconnect' | 'send'> = {
      connect: () => producer.connect(),
      disconnect: async () => undefined,
      send: async (record) => {
        if (failures < 2) {
          failures++;
          const offsets = await admin.fetchOffsets({ groupId: consumerGroupId(dlqView), topics: [topic] });
          committedAtFailure.push(offsets[0]!.partitions[0]!.offset);
          throw new Error('broker unavailable (simulated)');
        }
        return producer.send(record);
      },
    };
    const ingestor = new FeatureIngestor({
      kafka,
      db: database.db,
      registered: dlqView,
      logger: quietLogger(),
      dlqProducer: flaky,
    });
    await ingestor.start();
    const metrics = await eventually(
      async () => {
        const m = await getFeatureViewMetrics(database.db, admin, dlqView);
        return m.totalLag === 0 && m.eventsIngested === 2 ? m : undefined;
      },
      { timeoutMs: 60_000, what: 'ingestion after the DLQ recovered' },
    );
    await ingestor.stop();
    await producer.disconnect();

    expect(failures).toBe(2);
    expect(committedAtFailure).toEqual(['-1', '-1']);
    expect(metrics).toMatchObject({ eventsIngested: 2, dlqCount: 1 });
    expect(metrics.partitions).toEqual([
      { partition: 0, committedOffset: '3', highWatermark: '3', lag: 0, lastIngestedOffset: '2' },
    ]);
    const dlq = await readDlq(kafka, admin, topic, dlqFrom, { expected: 1 });
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({
      reason: { code: 'invalid_json' },
      source: { topic, partition: 0, offset: '1' },
      payloadBase64: Buffer.from('not json').toString('base64'),
    });
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('writes through COPY whatever the text holds: backslashes, tabs, newlines, quotes, unicode', async () => {
    const { registered: texts } = await registerFeatureView(
      { db: database.db, projectId, actor: 'alice' },
      defineFeatureView({
        name: 'texts',
        version: 1,
        entityKey: 'id',
        ttlSeconds: 3600,
        features: [{ name: 'note', type: 'string' }],
      }),
    );
    const notes = [
      'a\tb',
      'line\nbreak\r\n',
      'back\\slash \\N \\\\',
      '"quoted" \'single\'',
      'ünïcødé ✓ 𝄞',
      '\\.',
      'lone \ud800 surrogate',
    ];
    const events = notes.map((note, i) => ({
      offset: String(i),
      event: featureEvent(`id\\${i} \\N`, new Date(T0 + i * M), { note }),
      eventTimeMs: T0 + i * M,
    }));
    const result = await writeBatch(database.db, texts, {
      topic: texts.view.sourceTopic,
      partition: 0,
      events,
      rejectedOffsets: [],
      lastOffset: String(events.length - 1),
    });
    expect(result).toMatchObject({ inserted: notes.length, onlineUpserted: notes.length });
    const offline = await database.db
      .select({ entityId: featureOfflineRows.entityId, values: featureOfflineRows.values })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, texts.id))
      .orderBy(featureOfflineRows.kafkaOffset);
    // A lone surrogate can't be stored as such (jsonb refuses it): it is kept as U+FFFD, as text is.
    const stored = notes.map((note) => note.replace('\ud800', '\ufffd'));
    expect(offline).toEqual(stored.map((note, i) => ({ entityId: `id\\${i} \\N`, values: { note } })));
  });

  it('inserts a replayed range it never wrote, though the progress row is past it', async () => {
    const { registered: gaps } = await registerFeatureView(
      { db: database.db, projectId, actor: 'alice' },
      { ...view, name: 'txns_gaps' },
    );
    const at = (offset: number, minutes: number): ValidEvent => ({
      offset: String(offset),
      event: featureEvent('card-g', new Date(T0 + minutes * M), { amount: offset }),
      eventTimeMs: T0 + minutes * M,
    });
    const write = (events: ValidEvent[]) =>
      writeBatch(database.db, gaps, {
        topic: gaps.view.sourceTopic,
        partition: 0,
        events,
        rejectedOffsets: [],
        lastOffset: events[events.length - 1]!.offset,
      });
    // A group that started at the end of the topic, then was replayed from earlier offsets.
    expect(await write([at(100, 10), at(101, 11)])).toMatchObject({ inserted: 2 });
    expect(await write([at(50, 5), at(51, 6), at(100, 10)])).toMatchObject({ inserted: 2, duplicates: 1 });
    const rows = await database.db
      .select({ offset: featureOfflineRows.kafkaOffset, aggregates: featureOfflineRows.aggregates })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, gaps.id))
      .orderBy(featureOfflineRows.kafkaOffset);
    expect(rows.map((r) => r.offset)).toEqual([50n, 51n, 100n, 101n]);
    // The replayed rows' aggregates count what was known when they were written: the later events
    // are outside their window's end, so only earlier ones and themselves count.
    expect(rows[1]!.aggregates).toEqual({ n_1h: 2, sum_1h: 101 });
  });

  it('gives the same rows with or without the window cache, and trusts no cache another writer made stale', async () => {
    const make = async (name: string) =>
      (await registerFeatureView({ db: database.db, projectId, actor: 'alice' }, { ...view, name }))
        .registered;
    const cached = await make('txns_cached');
    const uncached = await make('txns_uncached');
    let seq = 0;
    const batchOf = (partition: number, items: [string, number, number][]) => ({
      topic: 'features.txns',
      partition,
      events: items.map(([entityId, minutes, amount]) => ({
        offset: String(seq++),
        event: featureEvent(entityId, new Date(T0 + minutes * M), { amount }),
        eventTimeMs: T0 + minutes * M,
      })),
      rejectedOffsets: [],
      lastOffset: String(seq - 1),
    });
    // Partition 0 by this process; one event of the same entity on partition 1 by "another
    // process" (its own cache) between this process's batches; late events too.
    const plan: { partition: number; other?: boolean; items: [string, number, number][] }[] = [
      {
        partition: 0,
        items: [
          ['c1', 0, 1],
          ['c2', 1, 2],
          ['c1', 5, 3],
        ],
      },
      {
        partition: 0,
        items: [
          ['c1', 10, 4],
          ['c2', 3, 5],
        ],
      },
      { partition: 1, other: true, items: [['c1', 12, 100]] },
      {
        partition: 0,
        items: [
          ['c1', 20, 6],
          ['c1', 8, 7],
          ['c2', 30, 8],
        ],
      },
      {
        partition: 0,
        items: [
          ['c1', 90, 9],
          ['c2', 31, 10],
        ],
      },
    ];
    const mine = new EntityWindowCache(cached.id);
    const theirs = new EntityWindowCache(cached.id);
    const loaded: number[] = [];
    for (const step of plan) {
      const start = seq;
      const forCached = batchOf(step.partition, step.items);
      seq = start;
      const forUncached = batchOf(step.partition, step.items);
      const result = await writeBatch(database.db, cached, forCached, { cache: step.other ? theirs : mine });
      if (!step.other) loaded.push(result.historyLoaded);
      await writeBatch(database.db, uncached, forUncached);
    }
    // The cache was used (nothing read back on the second batch), and then distrusted for c1 only
    // after the other writer wrote it.
    expect(loaded).toEqual([2, 0, 1, 0]);

    const rowsOf = async (viewId: string) => ({
      offline: await database.db
        .select({
          offset: featureOfflineRows.kafkaOffset,
          partition: featureOfflineRows.partition,
          aggregates: featureOfflineRows.aggregates,
        })
        .from(featureOfflineRows)
        .where(eq(featureOfflineRows.viewId, viewId))
        .orderBy(featureOfflineRows.partition, featureOfflineRows.kafkaOffset),
      online: await database.db
        .select({
          entityId: featureOnlineRows.entityId,
          values: featureOnlineRows.values,
          aggregates: featureOnlineRows.aggregates,
        })
        .from(featureOnlineRows)
        .where(eq(featureOnlineRows.viewId, viewId))
        .orderBy(featureOnlineRows.entityId),
    });
    const withCache = await rowsOf(cached.id);
    expect(withCache).toEqual(await rowsOf(uncached.id));
    // c1 at minute 20 (offset 6) counts the other writer's minute-12 event.
    const c1At20 = withCache.offline.find((r) => r.partition === 0 && r.offset === 6n);
    expect(c1At20?.aggregates).toEqual({ n_1h: 5, sum_1h: 114 });
    expect(mine.size.entities).toBe(2);
  });

  it('keeps offline rows to views that exist, as a foreign key would', async () => {
    const insertRow = (project: string, viewId: string) =>
      database.db.insert(featureOfflineRows).values({
        projectId: project,
        viewId,
        topic: 'features.txns',
        partition: 9,
        kafkaOffset: BigInt(nextOffset++),
        entityId: 'card-x',
        eventTime: new Date(T0),
        values: { amount: 1 },
        aggregates: {},
      });
    // Another project's id with this view, and a view that does not exist.
    await expect(insertRow(otherProjectId, registered.id)).rejects.toMatchObject({
      cause: { code: '23503' },
    });
    await expect(insertRow(projectId, randomUUID())).rejects.toMatchObject({ cause: { code: '23503' } });
    await insertRow(projectId, registered.id);
    // A view with offline rows can be neither deleted nor moved to another project.
    await expect(
      database.db.execute(sql`delete from feature_views where id = ${registered.id}`),
    ).rejects.toMatchObject({ cause: { code: '23503' } });
    await expect(
      database.db.execute(
        sql`update feature_views set project_id = ${otherProjectId}, name = 'moved' where id = ${registered.id}`,
      ),
    ).rejects.toMatchObject({ cause: { code: '23503' } });
  });

  it('rewinds a partition whose write failed, and loses nothing queued behind it', async () => {
    const env = testEnv();
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'features-rewind-test', retries: 10 });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `features.txns.rewind-test-${randomUUID()}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const { registered: rewound } = await registerFeatureView(
      { db: database.db, projectId, actor: 'alice' },
      { ...view, name: 'txns_rewind', sourceTopic: topic },
    );
    // PostgreSQL itself refuses the first write of this view's rows (a sequence is not rolled back
    // with the failed transaction, so it counts the attempts); the writes queued behind it succeed.
    await database.db.execute(sql`create sequence rewind_attempts`);
    await database.db.execute(
      sql.raw(`
      create function fail_first_writes() returns trigger language plpgsql as $$
      begin
        if nextval('rewind_attempts') = 1 then raise exception 'simulated write failure'; end if;
        return null;
      end $$`),
    );
    await database.db.execute(
      sql.raw(`
      create trigger fail_first_writes after insert on feature_offline_rows
      for each statement execute function fail_first_writes()`),
    );

    const producer = kafka.producer();
    await producer.connect();
    const total = 300;
    for (let i = 0; i < total; i += 50) {
      await producer.send({
        topic,
        messages: Array.from({ length: 50 }, (_, k) =>
          featureEventMessage(
            featureEvent(`card-${(i + k) % 7}`, new Date(T0 + (i + k) * 1000), { amount: i + k }),
          ),
        ),
      });
    }
    await producer.disconnect();

    // Small fetches, so several Kafka batches queue up behind a failing write.
    const ingestor = new FeatureIngestor({
      kafka,
      db: database.db,
      registered: rewound,
      logger: quietLogger(),
      maxBytesPerPartition: 4096,
      maxEventsPerWrite: 60,
    });
    try {
      await ingestor.start();
      const metrics = await eventually(
        async () => {
          const m = await getFeatureViewMetrics(database.db, admin, rewound);
          return m.totalLag === 0 && m.eventsIngested === total ? m : undefined;
        },
        { timeoutMs: 60_000, what: 'ingestion after the failed writes' },
      );
      expect(metrics.partitions[0]).toMatchObject({
        committedOffset: String(total),
        lastIngestedOffset: String(total - 1),
      });
    } finally {
      await ingestor.stop();
      await database.db.execute(sql`drop trigger fail_first_writes on feature_offline_rows`);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
    const [attempts] = rowsOf<{ n: number }>(
      await database.db.execute(sql`select last_value::int as n from rewind_attempts`),
    );
    expect(attempts!.n).toBeGreaterThan(1);
    const rows = await database.db
      .select({ offset: featureOfflineRows.kafkaOffset, ingestedAt: featureOfflineRows.ingestedAt })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, rewound.id))
      .orderBy(featureOfflineRows.kafkaOffset);
    expect(rows.map((r) => Number(r.offset))).toEqual(Array.from({ length: total }, (_, i) => i));
    // Written in offset order: nothing queued behind the failed write went in (and had its offset
    // committed) before it, which a crash at that moment would have turned into lost events.
    const outOfOrder = rows.filter((r, i) => i > 0 && r.ingestedAt < rows[i - 1]!.ingestedAt);
    expect(outOfOrder).toEqual([]);
    expect(ingestor.stats).toMatchObject({ eventsIngested: total, duplicates: 0 });
  });
});

const rowsOf = <T>(result: unknown) => (result as { rows: T[] }).rows as T[];
