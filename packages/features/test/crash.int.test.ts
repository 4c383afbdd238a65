import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import type { Admin, Kafka, Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@shepherd/clients/kafka';
import { featureOfflineRows, featureOnlineRows, projects } from '@shepherd/db/schema';
import { generateFraudRows } from '@shepherd/datagen/fraud';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { eventually } from '@shepherd/testing/platform';
import { getFeatureViewMetrics } from '../src/metrics.ts';
import { featureEventMessage } from '../src/produce.ts';
import { registerFeatureView, type RegisteredFeatureView } from '../src/registry.ts';
import { cardTransactionsV1 } from '../src/views.ts';
import { cardTransactionEventV1 } from '../src/card-events.ts';
import { dlqEnd, produceAll, readDlq } from './kafka-helpers.ts';
import { down, up } from '../../../infra/local/manager.ts';
import { defaultCacheDir, defaultStateDir } from '../../../infra/local/paths.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const VALID = 40_000;
const MALFORMED = 400;

describe('ingestion process killed mid-stream', () => {
  const env = testEnv();
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let kafka: Kafka;
  let admin: Admin;
  let registered: RegisteredFeatureView;
  const topic = `features.crash_txns.test-${randomUUID()}`;
  const projectSlug = `crash-${randomUUID().slice(0, 8)}`;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    const [project] = await database.db
      .insert(projects)
      .values({ slug: projectSlug, name: projectSlug })
      .returning();
    ({ registered } = await registerFeatureView(
      { db: database.db, projectId: project!.id, actor: 'test' },
      { ...cardTransactionsV1, name: 'crash_txns', sourceTopic: topic },
    ));
    kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'features-crash-test', retries: 10 });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) killGroup(child, 'SIGKILL');
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await database?.dispose();
  });

  /** The real entry point, in a process group of its own so a kill takes tsx's node child too. */
  function startIngestion(): ChildProcess {
    const child = spawn(
      resolve(repoRoot, 'node_modules/.bin/tsx'),
      [resolve(repoRoot, 'packages/features/src/ingest-main.ts')],
      {
        cwd: repoRoot,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          DATABASE_URL: database.url,
          KAFKA_BROKERS: env.KAFKA_BROKERS.join(','),
          FEATURE_VIEWS: 'crash_txns',
          SHEPHERD_PROJECT: projectSlug,
          LOG_LEVEL: 'warn',
        },
      },
    );
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[ingest-main] ${chunk.toString()}`));
    children.push(child);
    return child;
  }

  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolveExit) =>
      child.exitCode !== null ? resolveExit(child.exitCode) : child.once('exit', (code) => resolveExit(code)),
    );

  const offlineCount = async () =>
    (
      await database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(featureOfflineRows)
        .where(eq(featureOfflineRows.viewId, registered.id))
    )[0]!.n;

  it('loses nothing and duplicates nothing when killed with SIGKILL and restarted', async () => {
    const rows = [...generateFraudRows({ rows: VALID, seed: 5 })];
    const messages: Message[] = rows.map((row) => featureEventMessage(cardTransactionEventV1(row)));
    for (let k = 0; k < MALFORMED; k++) {
      messages.splice(Math.floor((k * messages.length) / MALFORMED), 0, {
        key: rows[k]!.card_id,
        value: `{"broken": ${k}`,
      });
    }
    const dlqFrom = await dlqEnd(admin);
    const producer = kafka.producer();
    await producer.connect();
    await produceAll(producer, topic, messages);
    await producer.disconnect();

    const first = startIngestion();
    await eventually(async () => ((await offlineCount()) >= 4000 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'ingestion under way',
    });
    killGroup(first, 'SIGKILL');
    await exited(first);
    const atKill = await offlineCount();
    expect(atKill).toBeLessThan(VALID);

    const second = startIngestion();
    const metrics = await eventually(
      async () => {
        const m = await getFeatureViewMetrics(database.db, admin, registered);
        return m.totalLag === 0 && m.eventsIngested + m.dlqCount === VALID + MALFORMED ? m : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: 'the restarted process to catch up' },
    );
    second.kill('SIGTERM'); // tsx relays it to the node process it runs
    expect(await exited(second)).toBe(0);

    expect(metrics).toMatchObject({ eventsIngested: VALID, dlqCount: MALFORMED, totalLag: 0 });
    const [counts] = await database.db
      .select({
        rows: sql<number>`count(*)::int`,
        transactions: sql<number>`count(distinct ${featureOfflineRows.values}->>'transaction_id')::int`,
      })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, registered.id));
    expect(counts).toEqual({ rows: VALID, transactions: VALID });

    const latest = new Map<string, string>();
    for (const row of rows) latest.set(row.card_id, row.transaction_id); // rows come in time order
    const online = await database.db
      .select({
        entityId: featureOnlineRows.entityId,
        transactionId: sql<string>`${featureOnlineRows.values}->>'transaction_id'`,
      })
      .from(featureOnlineRows)
      .where(eq(featureOnlineRows.viewId, registered.id));
    expect(new Map(online.map((r) => [r.entityId, r.transactionId]))).toEqual(latest);

    // The DLQ is at least once: a batch replayed after the kill may have sent its rejects again.
    const dlq = await readDlq(kafka, admin, topic, dlqFrom, { expected: MALFORMED });
    expect(new Set(dlq.map((m) => `${m.source.partition}:${m.source.offset}`)).size).toBe(MALFORMED);
    console.info(
      `[features] killed at ${atKill}/${VALID} rows; DLQ messages ${dlq.length} for ${MALFORMED} rejects`,
    );
  }, 180_000);

  it('keeps going through a broker restart: after it, nothing lost and nothing duplicated', async () => {
    const before = await offlineCount();
    const rows = [...generateFraudRows({ rows: 20_000, seed: 6 })].map((row) => ({
      ...row,
      transaction_id: `restart-${row.transaction_id}`,
    }));
    const produce = async (part: typeof rows) => {
      // Idempotent: a send retried while the broker comes back must not put an event in twice.
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await produceAll(
        producer,
        topic,
        part.map((row) => featureEventMessage(cardTransactionEventV1(row))),
      );
      await producer.disconnect();
    };
    // Half before the restart, half after: the second half only arrives if the same consumer
    // survived the broker going away.
    await produce(rows.slice(0, 10_000));
    const ingestion = startIngestion();
    await eventually(async () => ((await offlineCount()) >= before + 2000 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: 'ingestion under way',
    });
    // The stack's own broker, stopped and started again with its data: what an operator's restart does.
    const stack = { cacheDir: defaultCacheDir(), stateDir: defaultStateDir(), log: () => undefined };
    await down(stack, ['kafka']);
    await up(stack, ['kafka']);
    await produce(rows.slice(10_000));

    await eventually(async () => ((await offlineCount()) >= before + rows.length ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'ingestion to catch up after the broker restart',
    });
    expect(ingestion.exitCode).toBeNull();
    ingestion.kill('SIGTERM');
    expect(await exited(ingestion)).toBe(0);
    const [counts] = await database.db
      .select({
        rows: sql<number>`count(*)::int`,
        restarted: sql<number>`count(distinct ${featureOfflineRows.values}->>'transaction_id') filter (where ${featureOfflineRows.values}->>'transaction_id' like 'restart-%')::int`,
      })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, registered.id));
    expect(counts).toEqual({ rows: before + rows.length, restarted: rows.length });
  }, 240_000);
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}
