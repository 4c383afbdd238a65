/**
 * Where the local stack listens. Everything binds to loopback; the ports are fixed so the
 * README, the apps' defaults and the tests agree without a discovery step.
 */
export const localStack = {
  postgres: { host: '127.0.0.1', port: 5433, user: 'shepherd', password: 'shepherd', database: 'shepherd' },
  temporal: { host: '127.0.0.1', port: 7233, uiPort: 8233, namespace: 'default' },
  kafka: { host: '127.0.0.1', port: 9092, controllerPort: 9093 },
  s3: {
    host: '127.0.0.1',
    port: 9000,
    consolePort: 9001,
    accessKeyId: 'shepherd',
    secretAccessKey: 'shepherd-secret',
    bucket: 'shepherd-artifacts',
    region: 'us-east-1',
  },
  mlflow: { host: '127.0.0.1', port: 5500 },
} as const;

/** The environment an app or test uses to reach the local stack. */
export function localStackEnv() {
  const { postgres: pg, temporal, kafka, s3, mlflow } = localStack;
  return {
    DATABASE_URL: `postgres://${pg.user}:${pg.password}@${pg.host}:${pg.port}/${pg.database}`,
    TEMPORAL_ADDRESS: `${temporal.host}:${temporal.port}`,
    TEMPORAL_NAMESPACE: temporal.namespace,
    KAFKA_BROKERS: `${kafka.host}:${kafka.port}`,
    S3_ENDPOINT: `http://${s3.host}:${s3.port}`,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    MLFLOW_TRACKING_URI: `http://${mlflow.host}:${mlflow.port}`,
  };
}
