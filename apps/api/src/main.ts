import { dataConverterFor } from '@shepherd/clients/codec';
import { createKafka } from '@shepherd/clients/kafka';
import { createS3 } from '@shepherd/clients/s3';
import { connectTemporal } from '@shepherd/clients/temporal';
import { kafkaCheck, mlflowCheck, postgresCheck, s3Check, temporalCheck } from '@shepherd/clients/checks';
import type { Check } from '@shepherd/clients/health';
import { runMain } from '@shepherd/core/env';
import { createLogger } from '@shepherd/core/logger';
import { createDb } from '@shepherd/db/client';
import { migrate } from '@shepherd/db/migrate';
import { MlflowClient } from '@shepherd/mlflow/client';
import { ensureProject } from '@shepherd/registry/projects';
import { buildApp } from './app.ts';
import { ensureToken } from '@shepherd/registry/tokens';
import { loadApiEnv } from './env.ts';
import { OidcVerifier, oidcConfigFromEnv } from './auth/oidc.ts';

runMain('api', async () => {
  const env = loadApiEnv();
  const logger = createLogger('api', env.LOG_LEVEL);
  const database = await createDb({
    databaseUrl: env.DATABASE_URL,
    dataDir: env.PGLITE_DATA_DIR,
    minConnections: env.API_DB_POOL_MIN,
    logger,
  });
  await migrate(database.db).catch((err: unknown) => {
    throw new Error(
      `database migration failed (${database.kind}): ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  const temporal = await connectTemporal({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: dataConverterFor(env.SHEPHERD_PAYLOAD_KEYS),
  });
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'shepherd-api', retries: 0 });

  const readiness: Check[] = [
    postgresCheck(() => database.ping(), database.kind),
    temporalCheck(temporal.connection),
    kafkaCheck(kafka),
  ];
  if (env.S3_ENDPOINT) {
    const s3 = createS3({
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    });
    readiness.push(s3Check(s3, env.S3_BUCKET));
  }
  if (env.MLFLOW_TRACKING_URI) readiness.push(mlflowCheck(env.MLFLOW_TRACKING_URI));

  const mlflow = env.MLFLOW_TRACKING_URI
    ? new MlflowClient({ trackingUri: env.MLFLOW_TRACKING_URI })
    : undefined;
  // Until projects are managed over the API, one project exists from the start.
  const project = await ensureProject(database.db, env.DEFAULT_PROJECT);
  if (env.SHEPHERD_ADMIN_TOKEN) {
    await ensureToken(database.db, {
      projectId: project.id,
      name: 'bootstrap-admin',
      role: 'admin',
      createdBy: 'SHEPHERD_ADMIN_TOKEN',
      token: env.SHEPHERD_ADMIN_TOKEN,
    });
  }

  const oidcConfig = oidcConfigFromEnv(env);
  if (oidcConfig) logger.info({ issuer: oidcConfig.issuer }, 'accepting OIDC bearer tokens');

  const app = buildApp({
    oidc: oidcConfig ? new OidcVerifier(database.db, oidcConfig) : undefined,
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE || undefined,
    logger,
    readiness,
    services: {
      db: database.db,
      temporal: temporal.client,
      kafka,
      mlflow,
      trainingTaskQueue: env.TRAINING_TASK_QUEUE,
      mainTaskQueue: env.MAIN_TASK_QUEUE,
    },
  });
  const close = async () => {
    await app.close();
    await temporal.connection.close();
    await database.close();
  };
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());
  await app.listen({ host: env.API_HOST, port: env.API_PORT });
});
