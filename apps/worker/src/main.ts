import { runMain } from '@shepherd/core/env';
import { createLogger } from '@shepherd/core/logger';
import { loadWorkerEnv } from './env.ts';
import { connectWorker, createWorker } from './worker.ts';

runMain('worker', async () => {
  const env = loadWorkerEnv();
  const logger = createLogger('worker', env.LOG_LEVEL);
  const connection = await connectWorker(env.TEMPORAL_ADDRESS);
  const workers = await Promise.all(
    env.WORKER_TASK_QUEUES.map((taskQueue) =>
      createWorker(connection, {
        address: env.TEMPORAL_ADDRESS,
        namespace: env.TEMPORAL_NAMESPACE,
        taskQueue,
        ...(env.WORKFLOW_BUNDLE ? { workflowBundlePath: env.WORKFLOW_BUNDLE } : {}),
      }),
    ),
  );
  const stop = () => {
    logger.info('shutting down');
    for (const worker of workers) worker.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  logger.info({ taskQueues: env.WORKER_TASK_QUEUES, address: env.TEMPORAL_ADDRESS }, 'worker polling');
  await Promise.all(workers.map((worker) => worker.run()));
  await connection.close();
});
