import { hostname } from 'node:os';
import { z } from 'zod';
import { artifactStoreEnv } from '@shepherd/artifacts/env';
import { csv, hostPort, logLevel, parseEnv, port, postgresUrl } from '@shepherd/core/env';
import { kafkaTopicName } from '@shepherd/contracts/kafka';
import { predictionsTopic } from '@shepherd/contracts/serving';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('0')
  .transform((value) => value === '1' || value === 'true');

export const gatewayEnvSchema = z.object({
  GATEWAY_HOST: z.string().default('127.0.0.1'),
  GATEWAY_PORT: port.default(8081),
  LOG_LEVEL: logLevel,
  /** Required: every gateway reads endpoints from, and writes stats to, the control plane's PostgreSQL. */
  DATABASE_URL: postgresUrl,
  /** Connections per gateway: online feature lookups, token checks, config polls and stats writes. */
  GATEWAY_DB_POOL: z.coerce.number().int().min(2).max(200).default(10),
  ...artifactStoreEnv,
  KAFKA_BROKERS: csv(hostPort).default(['127.0.0.1:9092']),
  /** The prediction log's topic (contracts `predictionsTopic`); another name for tests and staging. */
  GATEWAY_PREDICTIONS_TOPIC: kafkaTopicName.default(predictionsTopic),
  /** Names this gateway's rows in serving_stats; default host:pid, unique per process. */
  GATEWAY_ID: z
    .string()
    .min(1)
    .max(200)
    .default(() => `${hostname()}:${process.pid}`),
  /** Prediction-log events held for Kafka; beyond it new events are shed (and counted). */
  GATEWAY_LOG_BUFFER: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** How often endpoints are polled for changes; config reaches the gateway within about this. */
  GATEWAY_CONFIG_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** Drill feature: honour `shepherd.fault.*` version tags (added latency, errors, output shift). */
  GATEWAY_FAULT_INJECTION: flag,
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export const loadGatewayEnv = (source?: Record<string, string | undefined>): GatewayEnv =>
  parseEnv(gatewayEnvSchema, source);
