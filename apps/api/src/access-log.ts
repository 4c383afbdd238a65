import type { FastifyRequest } from 'fastify';
import { clientClosedStatus } from '@shepherd/core/errors';
import type { Logger } from '@shepherd/core/logger';

/** Polled by load balancers and Prometheus every few seconds: their lines are kept for debug. */
const probeRoutes = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One line per request, in place of Fastify's two ("incoming request" at arrival and "request
 * completed" at the end), with the fields those carried: `reqId`, `req` (method, URL, remote
 * address), `res.statusCode` and `responseTime` in ms. Written on the app's logger with the id as a
 * field, so the request needs no child logger of its own. At 1,000 online lookups/s that is 1,000
 * lines/s to collect and store instead of 2,000 (bench/README.md, `online`). `route` is the matched
 * route's pattern, which the caller already has for its metrics. A request the caller abandoned is
 * logged as `request aborted` with status 499 and the time it had run.
 */
export function logAccess(
  logger: Logger,
  route: string,
  request: FastifyRequest,
  statusCode: number,
  responseTime: number,
): void {
  const level = probeRoutes.has(route) ? 'debug' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger[level](
    {
      reqId: request.id,
      req: { method: request.method, url: request.url, remoteAddress: request.ip },
      res: { statusCode },
      responseTime,
    },
    statusCode === clientClosedStatus ? 'request aborted' : 'request completed',
  );
}
