import { dataConverterFor } from '@shepherd/clients/codec';
import { runMain } from '@shepherd/core/env';
import { createLogger } from '@shepherd/core/logger';
import { buildActivityDeps } from './deps.ts';
import { loadWorkerEnv } from './env.ts';
import { bundleWorkflows, connectWorker, createWorker } from './worker.ts';

runMain('worker', async () => {
  const env = loadWorkerEnv();
  const logger = createLogger('worker', env.LOG_LEVEL);
  const connection = await connectWorker(env.TEMPORAL_ADDRESS);
  const { deps, database } = await buildActivityDeps(env, logger);
  const workflowBundleCode = env.WORKFLOW_BUNDLE ? undefined : await bundleWorkflows();
  const workers = await Promise.all(
    env.WORKER_TASK_QUEUES.map((taskQueue) =>
      createWorker(connection, {
        address: env.TEMPORAL_ADDRESS,
        namespace: env.TEMPORAL_NAMESPACE,
        taskQueue,
        activityDeps: deps,
        dataConverter: dataConverterFor(env.SHEPHERD_PAYLOAD_KEYS),
        ...(env.WORKFLOW_BUNDLE ? { workflowBundlePath: env.WORKFLOW_BUNDLE } : { workflowBundleCode }),
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
  deps.artifacts.close();
  await database.close();
});
