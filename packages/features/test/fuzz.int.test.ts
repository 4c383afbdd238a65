import type { Admin, Kafka, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFraudRows } from '@shepherd/datagen/fraud';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { cardTransactionEventV1 } from '../src/card-events.ts';
import { FeatureIngestor } from '../src/ingest.ts';
import { getFeatureViewMetrics } from '../src/metrics.ts';
import { featureEventMessage } from '../src/produce.ts';
import type { RegisteredFeatureView } from '../src/registry.ts';
import { cardTransactionsOnFreshTopic, dlqEnd, produceAll, readDlq } from './kafka-helpers.ts';

/** xorshift32: the fuzz corpus is the same on every run, so a failure can be replayed. */
function rng(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
}

/** Hostile messages of every shape a broken or malicious producer could send. */
function fuzzCorpus(count: number, sample: () => Record<string, unknown>): Message[] {
  const random = rng(424242);
  const int = (n: number) => Math.floor(random() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const anyJson = (depth: number): unknown => {
    const pick = int(depth > 3 ? 5 : 8);
    return [
      () => null,
      () => random() * 1e308 * (random() < 0.5 ? -1 : 1),
      () => bytes(int(40)).toString('latin1'),
      () => random() < 0.5,
      () => int(2 ** 31),
      () => Array.from({ length: int(5) }, () => anyJson(depth + 1)),
      () =>
        Object.fromEntries(
          Array.from({ length: int(5) }, () => [bytes(int(8)).toString('hex'), anyJson(depth + 1)]),
        ),
      () => ({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
    ][pick]!();
  };
  const generators: (() => Buffer | string | null)[] = [
    () => bytes(1 + int(2000)), // binary, mostly invalid UTF-8
    () => JSON.stringify(anyJson(0)),
    () => JSON.stringify({ ...sample(), values: anyJson(1) }),
    () => {
      // Never a usable id: wrong type, empty, too long, or with NUL / control characters.
      const bad = [null, int(1000), [], {}, '', 'c'.repeat(300), `card-${'\u0000'}1`, 'card\n1'][int(8)];
      return JSON.stringify({ ...sample(), entityId: bad });
    },
    () => JSON.stringify({ ...sample(), eventTime: anyJson(2) }),
    () => JSON.stringify({ ...sample(), schemaVersion: anyJson(2) }),
    () =>
      JSON.stringify({
        ...sample(),
        values: { ...(sample().values as object), [bytes(6).toString('hex')]: 1 },
      }),
    () => `${JSON.stringify(sample())}${'\u0000'.repeat(int(10))}trailing`,
    () => 'x'.repeat(200_000 + int(600_000)), // huge, still under the broker's message limit
    () => '',
    () => null,
    () => JSON.stringify('{"schemaVersion":1}'),
  ];
  return Array.from({ length: count }, (_, i) => ({
    key: i % 3 === 0 ? null : bytes(int(20)),
    value: generators[i % generators.length]!(),
  }));
}

describe('ingestion under fuzzed events', () => {
  let fixture: Awaited<ReturnType<typeof cardTransactionsOnFreshTopic>>;
  let database: typeof fixture.database;
  let kafka: Kafka;
  let admin: Admin;
  let registered: RegisteredFeatureView;
  let topic: string;

  beforeAll(async () => {
    fixture = await cardTransactionsOnFreshTopic('fuzz');
    ({ database, kafka, admin, registered, topic } = fixture);
  });
  afterAll(() => fixture?.close());

  it(
    'sends every hostile message to the DLQ and keeps ingesting the valid ones around them',
    { timeout: 240_000 },
    async () => {
      const valid = [...generateFraudRows({ rows: 600, seed: 5 })].map((row) =>
        featureEventMessage(cardTransactionEventV1(row)),
      );
      const sampleRandom = rng(7);
      const fuzz = fuzzCorpus(1_200, () => {
        const row = valid[Math.floor(sampleRandom() * valid.length)]!;
        return JSON.parse(String(row.value)) as Record<string, unknown>;
      });
      // Valid events before, between and after the junk: ingestion must not stall on any of it.
      const messages = [
        ...valid.slice(0, 200),
        ...fuzz.slice(0, 600),
        ...valid.slice(200, 400),
        ...fuzz.slice(600),
        ...valid.slice(400),
      ];
      const dlqFrom = await dlqEnd(admin);
      const producer = kafka.producer();
      await producer.connect();
      // One message per request: the huge ones must each stay under the broker's request limit.
      await produceAll(producer, topic, messages, 1);
      await producer.disconnect();

      const ingestor = new FeatureIngestor({ kafka, db: database.db, registered, logger: quietLogger() });
      await ingestor.start();
      const metrics = await eventually(
        async () => {
          const m = await getFeatureViewMetrics(database.db, admin, registered);
          return m.totalLag === 0 && m.eventsIngested + m.dlqCount === messages.length ? m : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 200, what: 'every fuzzed and valid event handled' },
      );
      await ingestor.stop();

      expect(metrics).toMatchObject({ eventsIngested: valid.length, dlqCount: fuzz.length, totalLag: 0 });
      const dlq = await readDlq(kafka, admin, topic, dlqFrom, { expected: fuzz.length });
      expect(new Set(dlq.map((entry) => `${entry.source.partition}:${entry.source.offset}`)).size).toBe(
        fuzz.length,
      );
      expect(dlq.every((entry) => entry.reason.message.length > 0)).toBe(true);
      // Huge values are kept in part, with their size and hash, so the DLQ itself stays deliverable.
      const huge = dlq.filter((entry) => entry.payload?.truncated);
      expect(huge.length).toBeGreaterThan(0);
      expect(
        huge.every((entry) => entry.payload!.bytes > 200_000 && entry.payload!.sha256.length === 64),
      ).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );
});
