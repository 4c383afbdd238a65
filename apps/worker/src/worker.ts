import { createRequire } from 'node:module';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { ShepherdError } from '@shepherd/core/errors';
import { createActivities, type ActivityDeps } from './activities/index.ts';

const require = createRequire(import.meta.url);

export interface StartWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Path to a prebuilt bundle, or code bundled at start; when unset, bundled from source. */
  workflowBundlePath?: string;
  workflowBundleCode?: string;
  activityDeps: ActivityDeps;
  /** Payload codecs (encryption); must match the clients'. */
  dataConverter?: DataConverter | undefined;
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

const workflowsPath = require.resolve('./workflows/index.ts');

/** Bundles the workflows once, so several task queues in one process share one bundle. */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  return code;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
  error: (message: string) => process.stderr.write(`workflow bundler: ${message}\n`),
};

export async function createWorker(
  connection: NativeConnection,
  options: StartWorkerOptions,
): Promise<Worker> {
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : options.workflowBundleCode
      ? { workflowBundle: { code: options.workflowBundleCode } }
      : { workflowsPath: workflowsPath };
  return Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createActivities(options.activityDeps),
    ...workflowSource,
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
}
