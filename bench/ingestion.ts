/**
 * Feature ingestion throughput: 1M card-transaction events from Kafka into the offline and online
 * stores (validation, window aggregates, one transaction per batch, offsets committed after it),
 * against a plain kafkajs consumer group reading the same topic in the same run.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import type { Message } from 'kafkajs';
import { pino } from 'pino';
import { createKafka } from '../packages/clients/src/kafka.ts';
import { generateFraudRows } from '../packages/datagen/src/fraud.ts';
import { cardTransactionEvent } from '../packages/features/src/card-events.ts';
import { FeatureIngestor } from '../packages/features/src/ingest.ts';
import { featureEventMessage } from '../packages/features/src/produce.ts';
import { registerFeatureView } from '../packages/features/src/registry.ts';
import { cardTransactionsV2 } from '../packages/features/src/views.ts';
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
        `cpu_ceiling_events_per_s: the ${cores} cores divided by shepherd_machine_cpu_us_per_event (this process + PostgreSQL + Kafka per event): the most this pipeline could ingest here with every core busy on it; the target needs ${Math.round(plainRate / 2).toLocaleString('en-US')}/s in this run.`,
      ],
    };
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await database.dispose();
  }
};

const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

export default benchmark;
