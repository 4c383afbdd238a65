import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createKafka } from '@shepherd/clients/kafka';
import { testEnv } from '@shepherd/testing/env';
import { producerThreads } from '../src/kafka-thread.ts';

const sockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;

describe('prediction log producers on their own thread, against the real Kafka', () => {
  it('sends from a worker thread: Kafka has the records, this thread opened no connection', async () => {
    const topic = `test.kafka-thread.${randomUUID()}`;
    const brokers = testEnv().KAFKA_BROKERS;
    const producer = producerThreads({ brokers, clientId: 'kafka-thread-test' }).producer({
      allowAutoTopicCreation: true,
    });
    const before = sockets();
    await producer.connect();
    const metadata = await producer.send({
      topic,
      messages: [1, 2, 3].map((i) => ({ key: 'fraud', value: JSON.stringify({ i }) })),
    });
    // kafkajs's connections are the worker's: none appeared on this thread.
    expect(sockets()).toBe(before);
    await producer.disconnect();
    expect(metadata).toHaveLength(1);
    expect(metadata[0]).toMatchObject({ topicName: topic, errorCode: 0 });

    const admin = createKafka({ brokers, clientId: 'kafka-thread-test-admin' }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(3);
    } finally {
      await admin.disconnect();
    }
  });

  it("fails with kafkajs's own error when the broker is unreachable, and still ends the thread", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const producer = producerThreads({
      brokers: [`127.0.0.1:${port}`],
      clientId: 'kafka-thread-test',
      connectionTimeoutMs: 500,
      retries: 0,
    }).producer({ retry: { retries: 0 } });
    const failed = await producer.connect().then(
      () => undefined,
      (err: unknown) => err as Error & { retriable?: boolean },
    );
    expect(failed).toBeInstanceOf(Error);
    expect(failed!.name).toMatch(/^KafkaJS/);
    expect(failed!.message).toMatch(/connect|ECONNREFUSED/i);
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toThrow(/before connect/);
    const started = performance.now();
    await producer.disconnect();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
