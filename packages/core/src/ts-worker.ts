import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

// Resolved here, where the project's packages resolve, not from the worker's working directory.
const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;

/** What a module started by `startTsWorker` finds in `workerData`. */
export interface TsWorkerData<T> {
  entry: string;
  tsx: string;
  data: T;
}

/**
 * A worker thread running a TypeScript module. The apps run their sources through tsx, but a
 * worker does not inherit tsx's loader hooks (Node registers them per thread), so the worker
 * registers tsx itself before it imports the module. `data` reaches the module as
 * `workerData.data`. A module that fails to load fails the worker with its error ('error' event).
 */
export function startTsWorker<T>(
  entry: URL,
  data: T,
  options: Omit<WorkerOptions, 'eval' | 'workerData'> = {},
): Worker {
  const workerData: TsWorkerData<T> = { entry: entry.href, tsx: tsxApi, data };
  const bootstrap = [
    "const { workerData } = require('node:worker_threads');",
    'import(workerData.tsx).then(({ register }) => { register(); return import(workerData.entry); });',
  ].join('\n');
  return new Worker(bootstrap, { ...options, eval: true, workerData });
}
