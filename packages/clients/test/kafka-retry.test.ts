import { describe, expect, it } from 'vitest';
import { KafkaJSNonRetriableError, KafkaJSProtocolError, type Admin } from 'kafkajs';
import { retryRetriable, withCoordinatorRetry } from '../src/kafka.ts';

// Kafka's error 14, COORDINATOR_LOAD_IN_PROGRESS: what a group-offset fetch failed with in CI. kafkajs
// builds its protocol errors from such a record; its typings only admit an Error or a string.
const coordinatorLoading = () =>
  new KafkaJSProtocolError({
    type: 'COORDINATOR_LOAD_IN_PROGRESS',
    code: 14,
    retriable: true,
    message: "The coordinator is loading and hence can't process requests for this group",
  } as unknown as Error);

describe('retryRetriable', () => {
  it('calls again while Kafka says the error is retriable, then returns the answer', async () => {
    let calls = 0;
    const answer = await retryRetriable(
      async () => {
        calls++;
        if (calls < 3) throw coordinatorLoading();
        return 'offsets';
      },
      { delayMs: 1 },
    );
    expect(answer).toBe('offsets');
    expect(calls).toBe(3);
  });

  it('throws a non-retriable error at once', async () => {
    let calls = 0;
    const failing = retryRetriable(
      async () => {
        calls++;
        throw new KafkaJSNonRetriableError('bad group id');
      },
      { delayMs: 1 },
    );
    await expect(failing).rejects.toThrow('bad group id');
    expect(calls).toBe(1);
  });

  it('gives up after the given attempts with the last error', async () => {
    let calls = 0;
    const failing = retryRetriable(
      async () => {
        calls++;
        throw coordinatorLoading();
      },
      { attempts: 4, delayMs: 1 },
    );
    await expect(failing).rejects.toThrow('coordinator is loading');
    expect(calls).toBe(4);
  });
});

describe('withCoordinatorRetry', () => {
  it("retries the admin's group-coordinator calls and leaves its other calls as they were", async () => {
    let fetches = 0;
    const listTopics = async () => ['features.cards'];
    const admin = {
      fetchOffsets: async () => {
        fetches++;
        if (fetches < 2) throw coordinatorLoading();
        return [{ topic: 'features.cards', partitions: [{ partition: 0, offset: '42', metadata: null }] }];
      },
      listTopics,
    } as unknown as Admin;
    const retrying = withCoordinatorRetry(admin);
    const offsets = await retrying.fetchOffsets({ groupId: 'g', topics: ['features.cards'] });
    expect(offsets[0]!.partitions[0]!.offset).toBe('42');
    expect(fetches).toBe(2);
    expect(retrying.listTopics).toBe(listTopics);
  });
});
