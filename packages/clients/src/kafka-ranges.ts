import type { ConsumerConfig, Kafka } from 'kafkajs';

/** Offsets [from, to) of one partition; offsets are 64-bit, so bigint. */
export interface PartitionRange {
  partition: number;
  from: bigint;
  to: bigint;
}

export interface RangeMessage {
  partition: number;
  offset: bigint;
  /** When Kafka appended it, ms since the epoch. */
  timestamp: number;
  value: Buffer | null;
}

/**
 * Reads exactly the given offset ranges of a topic and stops: a bounded read (a training set's
 * labels, a window of the prediction log), not a subscription. It uses a consumer of `groupId`
 * that commits nothing; the caller deletes the group afterwards. Messages come in the order they
 * arrived, which is offset order within each partition. Empty ranges are skipped.
 */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  ranges: readonly PartitionRange[],
  consumerOptions: Pick<ConsumerConfig, 'groupId' | 'maxBytes' | 'maxWaitTimeInMs'>,
): Promise<RangeMessage[]> {
  const pending = ranges.filter((range) => range.from < range.to);
  const messages: RangeMessage[] = [];
  if (pending.length === 0) return messages;
  const consumer = kafka.consumer({ ...consumerOptions, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    const remaining = new Map(pending.map((range) => [range.partition, range.to]));
    let finish!: () => void;
    let fail!: (error: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const end = remaining.get(batch.partition);
        if (end === undefined) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset >= end) break;
          messages.push({
            partition: batch.partition,
            offset,
            timestamp: Number(message.timestamp),
            value: message.value,
          });
        }
        const last = batch.messages[batch.messages.length - 1];
        if (last && BigInt(last.offset) + 1n >= end) {
          remaining.delete(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (remaining.size === 0) finish();
        }
      },
    });
    for (const range of pending)
      consumer.seek({ topic, partition: range.partition, offset: range.from.toString() });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
