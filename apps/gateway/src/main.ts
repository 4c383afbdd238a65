import { createArtifactStore } from '@shepherd/artifacts/store';
import { runMain } from '@shepherd/core/env';
import { createLogger } from '@shepherd/core/logger';
import { createDb } from '@shepherd/db/client';
import { loadGatewayEnv } from './env.ts';
import { startGateway } from './gateway.ts';

runMain('gateway', async () => {
  const env = loadGatewayEnv();
  const logger = createLogger('gateway', env.LOG_LEVEL);
  const database = await createDb({
    databaseUrl: env.DATABASE_URL,
    maxConnections: env.GATEWAY_DB_POOL,
    logger,
  });
  const artifacts = createArtifactStore(env);
  if (env.GATEWAY_FAULT_INJECTION) {
    logger.warn('fault injection is on: versions tagged shepherd.fault.* misbehave on purpose');
  }
  const gateway = await startGateway({
    db: database.db,
    artifacts,
    kafka: { brokers: env.KAFKA_BROKERS, clientId: `shepherd-gateway-${env.GATEWAY_ID}` },
    logger,
    gatewayId: env.GATEWAY_ID,
    logBuffer: env.GATEWAY_LOG_BUFFER,
    configPollMs: env.GATEWAY_CONFIG_POLL_MS,
    faultInjection: env.GATEWAY_FAULT_INJECTION,
    predictionsTopic: env.GATEWAY_PREDICTIONS_TOPIC,
  });
  const stop = () => {
    let code = 0;
    void gateway
      .close()
      .then(() => database.close())
      .then(() => artifacts.close())
      .catch((err: unknown) => {
        code = 1;
        logger.error({ err }, 'stopping the gateway failed');
      })
      // kafkajs and pg may keep timers alive a while; everything worth keeping is written by now.
      .finally(() => process.exit(code));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await gateway.app.listen({ host: env.GATEWAY_HOST, port: env.GATEWAY_PORT });
  logger.info({ gatewayId: env.GATEWAY_ID, port: env.GATEWAY_PORT }, 'gateway listening');
});
