import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { artifactStoreEnv } from '@shepherd/artifacts/env';
import { csv, hostPort, payloadKeys, httpUrl, logLevel, parseEnv, postgresUrl } from '@shepherd/core/env';
import { taskQueues } from '@shepherd/contracts/training';

const defaultPython = join(homedir(), '.cache', 'shepherd', 'venv', 'bin', 'python3');

export const workerEnvSchema = z.object({
  LOG_LEVEL: logLevel,
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Encrypts Temporal payloads (AES-256-GCM); API and workers need the same keys. Unset: plain. */
  SHEPHERD_PAYLOAD_KEYS: payloadKeys.optional(),
  /** Comma-separated task queues this worker polls; one per workload so they scale apart. */
  WORKER_TASK_QUEUES: csv(z.string().min(1)).default([taskQueues.main, taskQueues.training]),
  /** A prebuilt workflow bundle (npm run build -w @shepherd/worker); unset in development. */
  WORKFLOW_BUNDLE: z.string().optional(),
  DATABASE_URL: postgresUrl.optional(),
  PGLITE_DATA_DIR: z.string().optional(),
  KAFKA_BROKERS: csv(hostPort).default(['127.0.0.1:9092']),
  ...artifactStoreEnv,
  MLFLOW_TRACKING_URI: httpUrl.optional(),
  /** The Python that runs the reference trainer (the local stack's virtualenv by default). */
  TRAINER_PYTHON: z.string().default(defaultPython),
  /** Extra trainers: JSON object of name → command array, e.g. {"mine":["/opt/train.sh"]}. */
  TRAINERS_JSON: z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return z.record(z.string(), z.array(z.string()).min(1)).parse(JSON.parse(text));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of name → non-empty command array' });
        return z.NEVER;
      }
    }),
  WORK_DIR: z.string().default('.state/worker'),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export const loadWorkerEnv = (source?: Record<string, string | undefined>): WorkerEnv =>
  parseEnv(workerEnvSchema, source);
