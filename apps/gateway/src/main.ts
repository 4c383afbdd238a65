import { runMain } from '@shepherd/core/env';
import { createLogger } from '@shepherd/core/logger';
import { buildGateway } from './app.ts';
import { loadGatewayEnv } from './env.ts';

runMain('gateway', async () => {
  const env = loadGatewayEnv();
  const app = buildGateway({ logger: createLogger('gateway', env.LOG_LEVEL) });
  process.once('SIGINT', () => void app.close());
  process.once('SIGTERM', () => void app.close());
  await app.listen({ host: env.GATEWAY_HOST, port: env.GATEWAY_PORT });
});
