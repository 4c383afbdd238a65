import { z } from 'zod';
import { csv, hostPort, logLevel, parseEnv, postgresUrl } from '@shepherd/core/env';

export const workerEnvSchema = z.object({
  LOG_LEVEL: logLevel,
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Comma-separated task queues this worker polls; one per workload so they scale apart. */
  WORKER_TASK_QUEUES: csv(z.string().min(1)).default(['shepherd-main']),
  /** A prebuilt workflow bundle (npm run build -w @shepherd/worker); unset in development. */
  WORKFLOW_BUNDLE: z.string().optional(),
  DATABASE_URL: postgresUrl.optional(),
  PGLITE_DATA_DIR: z.string().optional(),
  KAFKA_BROKERS: csv(hostPort).default(['127.0.0.1:9092']),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export const loadWorkerEnv = (source?: Record<string, string | undefined>): WorkerEnv =>
  parseEnv(workerEnvSchema, source);
