import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testEnv } from '@shepherd/testing/env';
import { createKafka } from '../src/kafka.ts';
import { readRanges } from '../src/kafka-ranges.ts';

describe('Kafka broker', () => {
  const env = testEnv();

  it('round-trips messages through a consumer group and commits its offsets', async () => {
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'kafka-int-test' });
    const topic = `test.roundtrip.${randomUUID()}`;
    const groupId = `test-group-${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const sent = Array.from({ length: 30 }, (_, i) => ({
      key: `entity-${i % 7}`,
      value: JSON.stringify({ i }),
    }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; i: number; partition: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.length} of 30 messages arrived`)),
        30_000,
      );
      void consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            received.push({
              key: message.key!.toString(),
              i: (JSON.parse(message.value!.toString()) as { i: number }).i,
              partition,
            });
            if (received.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    expect(received.map((message) => message.i).sort((a, b) => a - b)).toEqual(sent.map((_, i) => i));
    // Same key, same partition: per-entity order is what ingestion relies on.
    const partitionsByKey = new Map<string, Set<number>>();
    for (const message of received) {
      partitionsByKey.set(
        message.key,
        (partitionsByKey.get(message.key) ?? new Set()).add(message.partition),
      );
    }
    for (const partitions of partitionsByKey.values()) expect(partitions.size).toBe(1);

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const total = committed[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0);
    expect(total).toBe(sent.length);

    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('reads exactly the offset ranges asked, in offset order per partition, and stops', async () => {
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'kafka-ranges-test' });
    const topic = `test.ranges.${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    const groupId = `test-ranges-${randomUUID()}`;
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      // Ten messages on each partition, in several requests so that they span fetches.
      for (let i = 0; i < 10; i += 1) {
        await producer.send({
          topic,
          messages: [0, 1].map((partition) => ({ partition, value: `p${partition}-m${i}` })),
        });
      }
      await producer.disconnect();

      const messages = await readRanges(
        kafka,
        topic,
        [
          { partition: 0, from: 3n, to: 7n },
          { partition: 1, from: 8n, to: 10n },
        ],
        { groupId, maxWaitTimeInMs: 100 },
      );
      const read = (partition: number) =>
        messages
          .filter((message) => message.partition === partition)
          .map((message) => [Number(message.offset), message.value?.toString()]);
      expect(read(0)).toEqual([3, 4, 5, 6].map((i) => [i, `p0-m${i}`]));
      expect(read(1)).toEqual([8, 9].map((i) => [i, `p1-m${i}`]));
      expect(messages.every((message) => message.timestamp > 0)).toBe(true);

      // Nothing to read: no consumer is started, and the answer is empty.
      expect(await readRanges(kafka, topic, [{ partition: 0, from: 5n, to: 5n }], { groupId })).toEqual([]);
    } finally {
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
