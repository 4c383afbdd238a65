import { localStackEnv } from '../../../infra/local/endpoints.ts';

/**
 * Where integration tests find the real services: the environment wins (testcontainers or a
 * remote stack set it), otherwise the fixed loopback ports of infra/local.
 */
export function testEnv() {
  const local = localStackEnv();
  const pick = (key: keyof typeof local): string => process.env[key] ?? local[key];
  return {
    DATABASE_URL: pick('DATABASE_URL'),
    TEMPORAL_ADDRESS: pick('TEMPORAL_ADDRESS'),
    TEMPORAL_NAMESPACE: pick('TEMPORAL_NAMESPACE'),
    KAFKA_BROKERS: pick('KAFKA_BROKERS').split(','),
    S3_ENDPOINT: pick('S3_ENDPOINT'),
    S3_BUCKET: pick('S3_BUCKET'),
    S3_REGION: pick('S3_REGION'),
    AWS_ACCESS_KEY_ID: pick('AWS_ACCESS_KEY_ID'),
    AWS_SECRET_ACCESS_KEY: pick('AWS_SECRET_ACCESS_KEY'),
    MLFLOW_TRACKING_URI: pick('MLFLOW_TRACKING_URI'),
  };
}

export type TestEnv = ReturnType<typeof testEnv>;
