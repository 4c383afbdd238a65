import { z } from 'zod';
import { csv, hostPort, httpUrl, logLevel, parseEnv, port, postgresUrl } from '@shepherd/core/env';

export const apiEnvSchema = z.object({
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(8080),
  LOG_LEVEL: logLevel,
  /** Unset: embedded PGlite (in memory, or in PGLITE_DATA_DIR). */
  DATABASE_URL: postgresUrl.optional(),
  PGLITE_DATA_DIR: z.string().optional(),
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  KAFKA_BROKERS: csv(hostPort).default(['127.0.0.1:9092']),
  /** Unset: artifacts in ARTIFACT_DIR on local disk. */
  S3_ENDPOINT: httpUrl.optional(),
  S3_BUCKET: z.string().min(3).default('shepherd-artifacts'),
  S3_REGION: z.string().default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  ARTIFACT_DIR: z.string().default('.state/artifacts'),
  /** Unset: MLflow mirroring is off. */
  MLFLOW_TRACKING_URI: httpUrl.optional(),
});

export type ApiEnv = z.infer<typeof apiEnvSchema>;

export const loadApiEnv = (source?: Record<string, string | undefined>): ApiEnv =>
  parseEnv(apiEnvSchema, source);
