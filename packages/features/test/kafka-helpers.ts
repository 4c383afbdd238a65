import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { dlqMessage, dlqTopic, type DlqMessage } from '@shepherd/contracts/features';
import { randomUUID } from 'node:crypto';
import { createKafka } from '@shepherd/clients/kafka';
import { projects } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { ensureTopics } from '../src/ingest.ts';
import { registerFeatureView } from '../src/registry.ts';
import { cardTransactionsV1 } from '../src/views.ts';

export async function produceAll(producer: Producer, topic: string, messages: Message[], chunk = 5000) {
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
  }
}

/** The DLQ's current end, so a test reads only what it caused. */
export async function dlqEnd(admin: Admin): Promise<{ partition: number; offset: string }[]> {
  await ensureTopics(admin, [{ topic: dlqTopic, numPartitions: 3 }]);
  return (await admin.fetchTopicOffsets(dlqTopic)).map((p) => ({ partition: p.partition, offset: p.high }));
}

/** Reads the DLQ from `from` until `expected` messages about `sourceTopic` arrived and it went quiet. */
export async function readDlq(
  kafka: Kafka,
  admin: Admin,
  sourceTopic: string,
  from: { partition: number; offset: string }[],
  {
    expected,
    quietMs = 2000,
    timeoutMs = 60_000,
  }: { expected: number; quietMs?: number; timeoutMs?: number },
): Promise<DlqMessage[]> {
  const groupId = `test-dlq-${sourceTopic}`;
  await admin.setOffsets({ groupId, topic: dlqTopic, partitions: from });
  const consumer = kafka.consumer({ groupId });
  const found: DlqMessage[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.key?.toString() !== sourceTopic) return;
      found.push(dlqMessage.parse(JSON.parse(message.value!.toString())));
      lastAt = Date.now();
    },
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !(found.length >= expected && Date.now() - lastAt > quietMs)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await consumer.disconnect();
  return found;
}

/**
 * A database of the test's own with `card_transactions` registered on a fresh topic, and a
 * connected admin; `close()` removes the topic and the database.
 */
export async function cardTransactionsOnFreshTopic(name: string) {
  const env = testEnv();
  const topic = `features.card_transactions.${name}-${randomUUID()}`;
  const database = await openTestDatabase();
  const [project] = await database.db.insert(projects).values({ slug: name, name }).returning();
  const { registered } = await registerFeatureView(
    { db: database.db, projectId: project!.id, actor: 'test' },
    { ...cardTransactionsV1, sourceTopic: topic },
  );
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: `features-${name}-test`, retries: 10 });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const close = async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await database.dispose();
  };
  return { topic, database, registered, kafka, admin, close };
}
