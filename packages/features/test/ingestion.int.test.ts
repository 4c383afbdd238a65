import { and, eq, sql } from 'drizzle-orm';
import type { Admin, Kafka, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureEvent } from '@shepherd/contracts/features';
import { featureIngestionProgress, featureOfflineRows, featureOnlineRows } from '@shepherd/db/schema';
import { generateFraudRows, type FraudRow } from '@shepherd/datagen/fraud';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { FeatureIngestor } from '../src/ingest.ts';
import { getFeatureViewMetrics } from '../src/metrics.ts';
import { getOnlineFeatures } from '../src/online.ts';
import { runParityCheck } from '../src/parity.ts';
import { featureEventMessage } from '../src/produce.ts';
import type { RegisteredFeatureView } from '../src/registry.ts';
import { cardTransactionEventV1 } from '../src/card-events.ts';
import { cardTransactionsOnFreshTopic, dlqEnd, produceAll, readDlq } from './kafka-helpers.ts';

const VALID = 99_000;
const MALFORMED = 1_000; // 1% of the 100k messages
const LATE_SHARE = 0.05;
const H = 3_600_000;

/** Deterministic, so a failure can be replayed. */
function lcg(seed: number) {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

interface Stream {
  messages: Message[];
  valid: { row: FraudRow; event: FeatureEvent }[];
  /** Valid events by transaction id: their position among the valid events as sent. */
  sentAt: Map<string, number>;
  lateCards: Set<string>;
  malformedKinds: Map<string, number>;
}

/** Valid events in time order, 5% of them held back and sent later (late), and 1% junk mixed in. */
function buildStream(): Stream {
  const random = lcg(20250101);
  const valid = [...generateFraudRows({ rows: VALID, seed: 11 })].map((row) => ({
    row,
    event: cardTransactionEventV1(row),
  }));
  const lateCards = new Set<string>();
  const delayed = new Map<number, number[]>();
  const order: number[] = [];
  valid.forEach((_, i) => {
    if (random() < LATE_SHARE) {
      const at = i + 200 + Math.floor(random() * 3000);
      delayed.set(at, [...(delayed.get(at) ?? []), i]);
      lateCards.add(valid[i]!.row.card_id);
    } else {
      order.push(i);
    }
    order.push(...(delayed.get(i) ?? []));
  });
  for (const [at, indexes] of delayed) if (at >= valid.length) order.push(...indexes);
  expect(order.length).toBe(VALID);

  const sentAt = new Map(order.map((i, position) => [valid[i]!.row.transaction_id, position]));
  const messages: Message[] = order.map((i) => featureEventMessage(valid[i]!.event));
  const malformedKinds = new Map<string, number>();
  for (let k = 0; k < MALFORMED; k++) {
    const sample = valid[Math.floor(random() * valid.length)]!.event;
    const kind = k % 8;
    const value: string | null = [
      () => JSON.stringify(sample).slice(0, 40),
      () => JSON.stringify({ ...sample, values: { ...sample.values, amount: String(sample.values.amount) } }),
      () => {
        const { amount: _amount, ...rest } = sample.values;
        return JSON.stringify({ ...sample, values: rest });
      },
      () => JSON.stringify({ ...sample, values: { ...sample.values, transaction_id: 'x'.repeat(70_000) } }),
      () => {
        const { eventTime: _eventTime, ...rest } = sample;
        return JSON.stringify(rest);
      },
      () => JSON.stringify({ ...sample, eventTime: 'yesterday' }),
      () => JSON.stringify({ ...sample, schemaVersion: 2 }),
      () => null,
    ][kind]!();
    const code = ['invalid_json', 'schema_mismatch', 'schema_mismatch', 'too_large', 'invalid_envelope'][
      Math.min(kind, 4)
    ]!;
    const reason = kind === 7 ? 'empty' : kind >= 4 ? 'invalid_envelope' : code;
    malformedKinds.set(reason, (malformedKinds.get(reason) ?? 0) + 1);
    const at = Math.floor(random() * messages.length);
    messages.splice(at, 0, { key: k % 2 === 0 ? sample.entityId : null, value });
  }
  return { messages, valid, sentAt, lateCards, malformedKinds };
}

describe('feature ingestion from Kafka', () => {
  let fixture: Awaited<ReturnType<typeof cardTransactionsOnFreshTopic>>;
  let database: typeof fixture.database;
  let kafka: Kafka;
  let admin: Admin;
  let registered: RegisteredFeatureView;
  let topic: string;

  beforeAll(async () => {
    fixture = await cardTransactionsOnFreshTopic('fraud');
    ({ database, kafka, admin, registered, topic } = fixture);
  });
  afterAll(() => fixture?.close());

  it('100k events, 1% malformed, 5% late: offline = valid, DLQ = malformed, online = latest per entity', async () => {
    const stream = buildStream();
    expect(stream.messages.length).toBe(VALID + MALFORMED);
    const dlqFrom = await dlqEnd(admin);

    const producer = kafka.producer();
    await producer.connect();
    const produceStarted = performance.now();
    await produceAll(producer, topic, stream.messages);
    const produceMs = performance.now() - produceStarted;
    await producer.disconnect();

    const ingestor = new FeatureIngestor({ kafka, db: database.db, registered, logger: quietLogger() });
    const started = performance.now();
    await ingestor.start();
    const joined = performance.now();
    const metrics = await eventually(
      async () => {
        const m = await getFeatureViewMetrics(database.db, admin, registered);
        return m.totalLag === 0 && m.eventsIngested + m.dlqCount === VALID + MALFORMED ? m : undefined;
      },
      { timeoutMs: 110_000, intervalMs: 100, what: 'all 100k events ingested' },
    );
    const done = performance.now();
    await ingestor.stop();
    const total = VALID + MALFORMED;
    console.info(
      `[features] produced ${total} in ${Math.round(produceMs)} ms; ingested in ${Math.round(done - started)} ms ` +
        `(${Math.round(total / ((done - started) / 1000))} events/s from start, ` +
        `${Math.round(total / ((done - joined) / 1000))} events/s after the group joined in ${Math.round(joined - started)} ms; ` +
        `${ingestor.stats.batches} batches)`,
    );

    expect(metrics).toMatchObject({ eventsIngested: VALID, dlqCount: MALFORMED, totalLag: 0 });
    expect(ingestor.stats).toMatchObject({ eventsIngested: VALID, rejected: MALFORMED, duplicates: 0 });

    // Offline: exactly the valid events, each once.
    const offline = await database.db
      .select({
        entityId: featureOfflineRows.entityId,
        eventTime: featureOfflineRows.eventTime,
        transactionId: sql<string>`${featureOfflineRows.values}->>'transaction_id'`,
        aggregates: featureOfflineRows.aggregates,
      })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, registered.id));
    expect(offline.length).toBe(VALID);
    const byTransaction = new Map(offline.map((row) => [row.transactionId, row]));
    expect(byTransaction.size).toBe(VALID);
    for (const { row } of stream.valid) expect(byTransaction.has(row.transaction_id)).toBe(true);

    // Point in time: for cards that got no late events, the counts are the generator's own
    // (earlier transactions within the window) plus the event itself.
    let checked = 0;
    for (const { row } of stream.valid) {
      if (stream.lateCards.has(row.card_id)) continue;
      const stored = byTransaction.get(row.transaction_id)!;
      expect(stored.aggregates.txn_count_1h).toBe(row.txn_count_1h + 1);
      expect(stored.aggregates.txn_count_24h).toBe(row.txn_count_24h + 1);
      checked++;
    }
    expect(checked).toBeGreaterThan(1000);
    // For every event: exactly the card's events already sent whose time lies in its window; so
    // nothing from after its own time (no leakage), and a late event counts only from its arrival.
    const sentByCard = new Map<string, { t: number; sentAt: number }[]>();
    for (const { row } of stream.valid) {
      const list = sentByCard.get(row.card_id) ?? [];
      list.push({ t: Date.parse(row.event_time), sentAt: stream.sentAt.get(row.transaction_id)! });
      sentByCard.set(row.card_id, list);
    }
    let wrong = 0;
    for (const row of offline) {
      const t = row.eventTime.getTime();
      const sent = stream.sentAt.get(row.transactionId)!;
      const known = sentByCard.get(row.entityId)!.filter((e) => e.sentAt <= sent);
      const in24h = known.filter((e) => e.t > t - 24 * H && e.t <= t).length;
      const in1h = known.filter((e) => e.t > t - H && e.t <= t).length;
      if (row.aggregates.txn_count_24h !== in24h || row.aggregates.txn_count_1h !== in1h) wrong++;
    }
    expect(wrong).toBe(0);

    // Online: the latest event per card by event time, whatever order they arrived in, with the
    // aggregates as of that time over every valid event.
    const latest = new Map<string, FraudRow>();
    const rowsByCard = new Map<string, FraudRow[]>();
    for (const { row } of stream.valid) {
      rowsByCard.set(row.card_id, [...(rowsByCard.get(row.card_id) ?? []), row]);
      const seen = latest.get(row.card_id);
      if (!seen || row.event_time > seen.event_time) latest.set(row.card_id, row);
    }
    const online = await database.db
      .select()
      .from(featureOnlineRows)
      .where(eq(featureOnlineRows.viewId, registered.id));
    expect(online.length).toBe(latest.size);
    let mismatches = 0;
    for (const row of online) {
      const expected = latest.get(row.entityId)!;
      const t = Date.parse(expected.event_time);
      const amounts24h = rowsByCard
        .get(row.entityId)!
        .map((r) => ({ t: Date.parse(r.event_time), amount: r.amount }))
        .filter((v) => v.t > t - 24 * H && v.t <= t);
      const sum24h = amounts24h.reduce((s, v) => s + v.amount, 0);
      if (
        row.eventTime.getTime() !== t ||
        row.values.transaction_id !== expected.transaction_id ||
        row.values.amount !== expected.amount ||
        row.aggregates.txn_count_24h !== amounts24h.length ||
        row.aggregates.txn_count_1h !== amounts24h.filter((v) => v.t > t - H).length ||
        Math.abs((row.aggregates.amount_sum_24h ?? NaN) - sum24h) > 1e-6
      ) {
        mismatches++;
      }
    }
    expect(mismatches).toBe(0);

    // DLQ: every malformed message, with its reason and its original bytes.
    const dlq = await readDlq(kafka, admin, topic, dlqFrom, { expected: MALFORMED });
    expect(dlq.length).toBe(MALFORMED);
    expect(new Set(dlq.map((m) => `${m.source.partition}:${m.source.offset}`)).size).toBe(MALFORMED);
    const reasons = new Map<string, number>();
    for (const m of dlq) reasons.set(m.reason.code, (reasons.get(m.reason.code) ?? 0) + 1);
    expect(Object.fromEntries(reasons)).toEqual(Object.fromEntries(stream.malformedKinds));
    const originals = new Set(stream.messages.map((m) => (m.value === null ? null : String(m.value))));
    for (const m of dlq) {
      const payload = m.payloadBase64 === null ? null : Buffer.from(m.payloadBase64, 'base64').toString();
      expect(originals.has(payload)).toBe(true);
      expect(m.consumer).toMatchObject({ view: 'card_transactions', version: 1 });
    }

    // Retrieval with freshness, for known and unknown cards.
    const someCard = online[0]!;
    const now = new Date(someCard.eventTime.getTime() + 2 * H);
    const lookup = await getOnlineFeatures(
      database.db,
      registered.projectId,
      'card_transactions',
      [someCard.entityId, 'card-missing'],
      { now },
    );
    expect(lookup.vectors[0]).toMatchObject({
      entityId: someCard.entityId,
      found: true,
      ageSeconds: 7200,
      stale: false,
      values: someCard.values,
    });
    expect(lookup.vectors[1]).toMatchObject({ found: false, stale: true, ageSeconds: null });
    const later = await getOnlineFeatures(database.db, registered.projectId, 'card_transactions', [
      someCard.entityId,
    ]);
    expect(later.vectors[0]!.stale).toBe(true); // generated in 2025, TTL one day

    const [progressTotal] = await database.db
      .select({ n: sql<number>`sum(${featureIngestionProgress.eventsIngested})::int` })
      .from(featureIngestionProgress)
      .where(and(eq(featureIngestionProgress.viewId, registered.id)));
    expect(progressTotal!.n).toBe(VALID);

    // Parity over every card: online equals offline as of now, late events included.
    const parity = await runParityCheck(database.db, registered.projectId, 'card_transactions', {
      sampleSize: 5000,
      store: false,
    });
    expect(parity.sampled).toBe(latest.size);
    expect(parity).toMatchObject({ mismatchedEntities: 0, mismatchRate: 0, mismatches: [] });
  }, 180_000);
});
