/**
 * Feature ingestion throughput: 1M card-transaction events from Kafka into the offline and online
 * stores (validation, window aggregates, one transaction per batch, offsets committed after it),
 * against a plain kafkajs consumer group reading the same topic in the same run.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import type { Kafka, Message } from 'kafkajs';
import type { Pool } from 'pg';
import { pino } from 'pino';
import { createKafka } from '../packages/clients/src/kafka.ts';
import { generateFraudRows } from '../packages/datagen/src/fraud.ts';
import { cardTransactionEvent } from '../packages/features/src/card-events.ts';
import { copyFromStdin, copyText, type SubmittableClient } from '../packages/features/src/pg-copy.ts';
import { FeatureIngestor } from '../packages/features/src/ingest.ts';
import { featureEventMessage } from '../packages/features/src/produce.ts';
import { registerFeatureView } from '../packages/features/src/registry.ts';
import { cardTransactionsV2 } from '../packages/features/src/views.ts';
import type { Database } from '../packages/db/src/client.ts';
import { ensureProject } from '../packages/registry/src/projects.ts';
import { openTestDatabase } from '../packages/testing/src/database.ts';
import { testEnv } from '../packages/testing/src/env.ts';
import type { Benchmark, BenchResult } from './lib.ts';
import { stackCpuPerItem, stackCpuSeconds } from './_stack-cpu.ts';

const PARTITIONS = 3;

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const benchmark: Benchmark = async ({ quick, log }): Promise<BenchResult> => {
  const total = Number(process.env.BENCH_INGESTION_EVENTS ?? (quick ? 50_000 : 1_000_000));
  const env = testEnv();
  const topic = `bench.features.card_transactions.${randomUUID()}`;
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'bench-ingestion', retries: 10 });
  const admin = kafka.admin();
  await admin.connect();
  const database = await openTestDatabase();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let produced = 0;
    let batch: Message[] = [];
    const produceStarted = performance.now();
    for (const row of generateFraudRows({ rows: total, seed: 3, days: 30 })) {
      batch.push(featureEventMessage(cardTransactionEvent(row)));
      if (batch.length === 3_000) {
        await producer.send({ topic, acks: -1, messages: batch });
        produced += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await producer.send({ topic, acks: -1, messages: batch });
    produced += batch.length;
    await producer.disconnect();
    log(`produced ${produced} events in ${Math.round(performance.now() - produceStarted)} ms`);

    // Reference: a consumer group that reads every message and commits, and does nothing else.
    const plain = kafka.consumer({ groupId: `bench-plain-${randomUUID()}` });
    await plain.connect();
    await plain.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    let plainBytes = 0;
    const loadBefore = loadavg()[0]!;
    const plainStack = await stackCpuSeconds();
    const plainCpu = process.cpuUsage();
    const plainStarted = performance.now();
    await plain.run({
      eachBatch: async ({ batch: b, resolveOffset, heartbeat }) => {
        for (const message of b.messages) plainBytes += message.value?.length ?? 0;
        seen += b.messages.length;
        resolveOffset(b.messages[b.messages.length - 1]!.offset);
        await heartbeat();
      },
    });
    await waitFor(() => seen >= total, 600_000, 'the plain consumer');
    const plainSeconds = (performance.now() - plainStarted) / 1000;
    const plainCpuSeconds = cpuSeconds(process.cpuUsage(plainCpu));
    const plainStackCpu = stackCpuPerItem(plainStack, await stackCpuSeconds(), total);
    await plain.disconnect();
    const plainRate = total / plainSeconds;
    log(`plain kafkajs consumer: ${Math.round(plainRate)} events/s`);

    const floor = await offlineRowFloor(kafka, database.db, topic, total);
    log(`offline-row floor: ${Math.round(total / floor.seconds)} events/s`);

    const project = await ensureProject(database.db, 'bench-ingestion');
    const { registered } = await registerFeatureView(
      { db: database.db, projectId: project.id, actor: 'bench' },
      { ...cardTransactionsV2, sourceTopic: topic },
    );
    const ingestor = new FeatureIngestor({
      kafka,
      db: database.db,
      registered,
      logger: pino({ level: 'silent' }),
    });
    const ingestStack = await stackCpuSeconds();
    const ingestCpu = process.cpuUsage();
    const started = performance.now();
    await ingestor.start();
    await waitFor(() => ingestor.stats.eventsIngested >= total, 1_800_000, 'the feature ingestor');
    const seconds = (performance.now() - started) / 1000;
    const ingestCpuSeconds = cpuSeconds(process.cpuUsage(ingestCpu));
    const ingestStackCpu = stackCpuPerItem(ingestStack, await stackCpuSeconds(), total);
    const loadAfter = loadavg()[0]!;
    const stats = { ...ingestor.stats };
    await ingestor.stop();
    const rate = total / seconds;
    log(`shepherd ingestion: ${Math.round(rate)} events/s in ${stats.batches} batches`);

    const ratio = rate / plainRate;
    // Every process's CPU for one event, and the rate that much CPU allows on this machine's cores
    // if nothing else ran: a ceiling no tuning of the pipeline's waits can pass.
    const ingestCpuPerEvent = (ingestCpuSeconds / total) * 1e6;
    const machineCpuPerEvent = ingestCpuPerEvent + ingestStackCpu.postgres + ingestStackCpu.kafka;
    const cores = availableParallelism();
    return {
      name: 'ingestion',
      description: `Feature ingestion of ${total.toLocaleString('en-US')} card-transaction events (card_transactions v2: 12 features, 3 window aggregates; ${PARTITIONS} partitions) from Kafka into the offline and online stores, from consumer start to the last event committed.`,
      reference:
        'a plain kafkajs consumer group reading the same topic from the beginning (eachBatch, offsets committed, no processing)',
      figures: {
        events: total,
        shepherd_events_per_s: Math.round(rate),
        reference_events_per_s: Math.round(plainRate),
        shepherd_seconds: Math.round(seconds * 10) / 10,
        reference_seconds: Math.round(plainSeconds * 10) / 10,
        shepherd_batches: stats.batches,
        rejected: stats.rejected,
        mean_event_bytes: Math.round(plainBytes / total),
        // CPU of this process (PostgreSQL's is not in it): steadier than rates on a shared machine.
        shepherd_process_cpu_us_per_event: Math.round(ingestCpuPerEvent * 10) / 10,
        reference_process_cpu_us_per_event: Math.round((plainCpuSeconds / total) * 1e7) / 10,
        shepherd_postgres_cpu_us_per_event: ingestStackCpu.postgres,
        shepherd_kafka_cpu_us_per_event: ingestStackCpu.kafka,
        reference_postgres_cpu_us_per_event: plainStackCpu.postgres,
        reference_kafka_cpu_us_per_event: plainStackCpu.kafka,
        floor_events_per_s: Math.round(total / floor.seconds),
        floor_ratio: Math.round((plainSeconds / floor.seconds) * 1000) / 1000,
        floor_process_cpu_us_per_event: floor.processCpuPerEvent,
        floor_postgres_cpu_us_per_event: floor.stack.postgres,
        floor_kafka_cpu_us_per_event: floor.stack.kafka,
        shepherd_machine_cpu_us_per_event: Math.round(machineCpuPerEvent * 10) / 10,
        cpu_ceiling_events_per_s: Math.round((cores * 1e6) / machineCpuPerEvent),
        load_average_1m_before: Math.round(loadBefore * 100) / 100,
        load_average_1m_after: Math.round(loadAfter * 100) / 100,
      },
      ratio: { label: 'Shepherd events/s / plain consumer events/s', value: Math.round(ratio * 1000) / 1000 },
      target: {
        description: 'at least 0.5 of the plain consumer',
        met: ratio >= 0.5 && stats.rejected === 0,
      },
      notes: [
        'Both start a fresh consumer group on the same topic; the time includes joining the group.',
        'Shepherd per batch: validation (compiled zod), DLQ for rejects, then (pipelined with the next fetches, batches that queued up written together) offline rows by COPY + online upserts + window aggregates (history cached in process) + progress in one PostgreSQL transaction, then the offset commit.',
        'Load averages are of the whole machine (other work included); *_process_cpu_* is this process alone, *_postgres_cpu_* and *_kafka_cpu_* every PostgreSQL process and the Kafka broker over the same interval (bench/_stack-cpu.ts, from /proc).',
        'Kafka, PostgreSQL and this process share the same cores.',
        "floor_*: a kafkajs consumer that only COPYs each message as it came (key as entity, Kafka timestamp as event time, value as json) into a table keyed and indexed like the offline store, one COPY per Kafka batch: the least any writer of one offline row per event pays here, with no validation, online store or aggregates. floor_ratio is its rate over the plain consumer's.",
        `cpu_ceiling_events_per_s: the ${cores} cores divided by shepherd_machine_cpu_us_per_event (this process + PostgreSQL + Kafka per event): the most this pipeline could ingest here with every core busy on it; the target needs ${Math.round(plainRate / 2).toLocaleString('en-US')}/s in this run.`,
      ],
    };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await database.dispose();
  }
};

/**
 * The cost of one indexed PostgreSQL row per event and nothing else: the plain consumer, plus a
 * COPY of each Kafka batch's messages as they came into a table with the offline store's primary
 * key and entity/time index (fewer columns than the real one, and no parsing).
 */
async function offlineRowFloor(kafka: Kafka, db: Database, topic: string, total: number) {
  const pool = (db as unknown as { $client: Pool }).$client;
  await pool.query(`create table bench_offline_floor (
    view_id uuid not null, partition integer not null, kafka_offset bigint not null,
    entity_id text not null, event_time timestamptz not null, values json not null,
    primary key (view_id, partition, kafka_offset))`);
  await pool.query(`create index on bench_offline_floor (view_id, entity_id, event_time)`);
  const viewId = randomUUID();
  const consumer = kafka.consumer({
    groupId: `bench-floor-${randomUUID()}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 12 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let copied = 0;
  let failure: unknown;
  const stack = await stackCpuSeconds();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const lines = new Array<string>(batch.messages.length);
      for (let i = 0; i < batch.messages.length; i++) {
        const m = batch.messages[i]!;
        lines[i] =
          `${viewId}\t${batch.partition}\t${m.offset}\t${copyText(m.key!.toString())}\t` +
          `${new Date(Number(m.timestamp)).toISOString()}\t${copyText(m.value!.toString())}\n`;
      }
      const client = await pool.connect();
      try {
        // Awaited before the sum: `copied += await …` would read `copied` before three batches' COPYs.
        const rows = await copyFromStdin(
          client as unknown as SubmittableClient,
          'copy bench_offline_floor from stdin',
          Buffer.from(lines.join(''), 'utf8'),
        );
        copied += rows;
      } catch (error) {
        failure ??= error; // kafkajs would retry the batch quietly (its logs are off)
        throw error;
      } finally {
        client.release();
      }
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      await heartbeat();
    },
  });
  await waitFor(
    () => {
      if (failure) throw new Error(`the offline-row floor's COPY failed: ${String(failure)}`);
      return copied >= total;
    },
    1_800_000,
    'the offline-row floor',
  );
  const seconds = (performance.now() - started) / 1000;
  const processCpuPerEvent = Math.round((cpuSeconds(process.cpuUsage(cpu)) / total) * 1e7) / 10;
  const stackPerEvent = stackCpuPerItem(stack, await stackCpuSeconds(), total);
  await consumer.disconnect();
  await pool.query('drop table bench_offline_floor');
  // Its WAL flushed now, not by a checkpoint in the middle of the next phase (the stack's user is
  // a superuser).
  await pool.query('checkpoint');
  return { seconds, processCpuPerEvent, stack: stackPerEvent };
}

const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

export default benchmark;
