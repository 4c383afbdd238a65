import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PredictionEvent } from '@shepherd/contracts/serving';
import { PredictionLog } from '../src/prediction-log.ts';

const event = (i: number): PredictionEvent => ({
  schemaVersion: 1,
  predictionId: `p-${i}`,
  projectId: 'project',
  endpoint: 'fraud',
  model: 'fraud',
  versionId: 'v',
  version: 1,
  role: 'champion',
  entityId: `card-${i}`,
  features: { amount: i },
  prediction: 0.5,
  latencyMs: 1,
  at: new Date(0).toISOString(),
});

interface FakeBroker {
  up: boolean;
  /** A connect that never answers, like a broker behind a black-holed route. */
  hang?: boolean;
  sent: { key: string; value: string }[][];
}

/** Kafka as the log sees it: producers that connect, send and disconnect (or fail to). */
function fakeKafka(broker: FakeBroker): Kafka {
  return {
    producer: () => ({
      connect: () =>
        broker.hang
          ? new Promise<void>(() => undefined)
          : broker.up
            ? Promise.resolve()
            : Promise.reject(new Error('Connection refused')),
      send: async ({ messages }: { messages: { key: string; value: string }[] }) => {
        if (!broker.up) throw new Error('broker down');
        broker.sent.push(messages);
        return [];
      },
      disconnect: () => Promise.resolve(),
    }),
  } as unknown as Kafka;
}

const quiet = pino({ level: 'silent' });
const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

describe('prediction log buffer', () => {
  it('drains to Kafka in batches keyed by endpoint', async () => {
    const broker: FakeBroker = { up: true, sent: [] };
    const log = new PredictionLog({
      kafka: fakeKafka(broker),
      topic: 't',
      logger: quiet,
      capacity: 100,
      batchSize: 4,
    });
    for (let i = 0; i < 10; i++) expect(log.offer(event(i))).toBe(true);
    log.start();
    await waitFor(() => log.stats().sent === 10);
    expect(broker.sent.map((batch) => batch.length)).toEqual([4, 4, 2]);
    expect(broker.sent.flat().map((m) => m.key)).toEqual(new Array(10).fill('fraud'));
    expect(JSON.parse(broker.sent[0]![0]!.value)).toEqual(event(0));
    expect(log.stats()).toMatchObject({ held: 0, shed: 0 });
    await log.close();
  });

  it('sheds new events when full and counts each, holding the rest until Kafka is back', async () => {
    const broker: FakeBroker = { up: false, sent: [] };
    const log = new PredictionLog({
      kafka: fakeKafka(broker),
      topic: 't',
      logger: quiet,
      capacity: 5,
      lingerMs: 0,
    });
    log.start();
    const accepted = Array.from({ length: 12 }, (_, i) => log.offer(event(i)));
    expect(accepted.filter(Boolean)).toHaveLength(5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(log.stats()).toMatchObject({ held: 5, shed: 7, sent: 0, connected: false });
    broker.up = true;
    await waitFor(() => log.stats().sent === 5);
    // The oldest were kept, in order; the newest were shed.
    expect(broker.sent.flat().map((m) => (JSON.parse(m.value) as PredictionEvent).predictionId)).toEqual([
      'p-0',
      'p-1',
      'p-2',
      'p-3',
      'p-4',
    ]);
    await log.close();
    expect(log.stats()).toMatchObject({ droppedAtShutdown: 0, shed: 7 });
  });

  it('never holds shutdown up on a broker that does not answer, and counts what it gives up', async () => {
    const broker: FakeBroker = { up: false, hang: true, sent: [] };
    const log = new PredictionLog({
      kafka: fakeKafka(broker),
      topic: 't',
      logger: quiet,
      capacity: 10,
      closeTimeoutMs: 200,
    });
    log.start();
    for (let i = 0; i < 3; i++) log.offer(event(i));
    const started = Date.now();
    await log.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(log.stats()).toMatchObject({ droppedAtShutdown: 3, held: 0 });
  });
});
