import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '@shepherd/core/logger';

export interface GatewayDeps {
  logger: Logger;
}

/** The data plane. It shares no process with the control plane, so a busy API never slows predictions. */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const app = Fastify({ loggerInstance: deps.logger, bodyLimit: 1024 * 1024 });
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
