import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger } from '@shepherd/core/logger';

export interface GatewayDeps {
  logger: Logger;
}

/** The data plane. It shares no process with the control plane, so a busy API never slows predictions. */
export function buildGateway(deps: GatewayDeps) {
  const app = Fastify({
    // Our pino and fastify's bundled pino types differ only nominally.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
