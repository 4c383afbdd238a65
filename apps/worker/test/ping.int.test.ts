import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { connectTemporal } from '@shepherd/clients/temporal';
import { testEnv } from '@shepherd/testing/env';
import { quietTemporalRuntime } from '@shepherd/testing/platform';
import type { ActivityDeps } from '../src/activities/index.ts';
import { connectWorker, createWorker } from '../src/worker.ts';
import { ping } from '../src/workflows/ping.ts';

describe('worker on the local Temporal', () => {
  const env = testEnv();
  const taskQueue = `test-ping-${randomUUID()}`;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    await quietTemporalRuntime();
    connection = await connectWorker(env.TEMPORAL_ADDRESS);
    worker = await createWorker(connection, {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue,
      // ping only calls `echo`, which touches no database, store or MLflow.
      activityDeps: { workerIdentity: 'ping-test-worker' } as ActivityDeps,
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
  });

  it('runs a workflow whose activity executes on a real worker', async () => {
    const { client, connection: clientConnection } = await connectTemporal({
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
    });
    try {
      const workflowId = `ping-${randomUUID()}`;
      const result = await client.workflow.execute(ping, { taskQueue, workflowId, args: ['hello shepherd'] });
      expect(result).toEqual({ echoed: 'hello shepherd', worker: 'ping-test-worker' });

      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const activityTasks =
        history.events?.filter((event) => event.activityTaskCompletedEventAttributes) ?? [];
      expect(activityTasks).toHaveLength(1);
    } finally {
      await clientConnection.close();
    }
  });
});
