import { createRequire } from 'node:module';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { ShepherdError } from '@shepherd/core/errors';
import { createActivities, type ActivityDeps } from './activities/index.ts';

const require = createRequire(import.meta.url);

export interface StartWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Path to a prebuilt bundle; when unset the workflows are bundled from source at start. */
  workflowBundlePath?: string;
  activityDeps?: ActivityDeps;
  identity?: string;
}

export async function connectWorker(address: string): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ShepherdError('upstream_unavailable', `cannot reach Temporal at ${address}: ${message}`, {
      cause: err,
    });
  }
}

export async function createWorker(
  connection: NativeConnection,
  options: StartWorkerOptions,
): Promise<Worker> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: require.resolve('./workflows/index.ts') };
  return Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities(options.activityDeps),
    ...workflowSource,
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
