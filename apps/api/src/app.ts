import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyRequest } from 'fastify';
import { clientClosedStatus } from '@shepherd/core/errors';
import { lazyChildLogger, type Logger } from '@shepherd/core/logger';
import { runChecks, type Check } from '@shepherd/clients/health';
import type { ReadinessResponse } from '@shepherd/contracts/health';
import { RateLimiter } from './auth/rate-limit.ts';
import type { OidcVerifier } from './auth/oidc.ts';
import { registerAuthConfigRoute } from './auth/client-config.ts';
import { frameworkErrorOptions, installErrorHandling } from './errors.ts';
import { openApiDocument } from './openapi.ts';
import { registerRoutes, type RouteSpec } from './route.ts';
import type { RouteDeps } from './routes/context.ts';
import { servingRoutes } from './routes/serving.ts';
import { alertRoutes } from './routes/alerts.ts';
import { parityRoutes } from './routes/parity.ts';
import { auditRoutes } from './routes/audit.ts';
import { driftRoutes } from './routes/drift.ts';
import { featureRoutes } from './routes/features.ts';
import { modelRoutes } from './routes/models.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { settingsRoutes } from './routes/settings.ts';
import { trainingRoutes } from './routes/trainings.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { eventStreamRoute, registerEventRoutes } from './routes/events.ts';
import { seriesRoutes } from './routes/series.ts';
import { lineageEdgeRoutes } from './routes/lineage-edges.ts';
import { apiMetrics } from './metrics.ts';
import { logAccess } from './access-log.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** `performance.now()` when the request arrived (the onRequest hook in buildApp). */
    arrivedAt: number;
  }
}

export interface ApiDeps {
  logger: Logger;
  /** Each dependency /readyz proves reachable. */
  readiness: Check[];
  /** The /v1 API; without it only health endpoints are served (used by unit tests). */
  services?: RouteDeps;
  /** Requests a minute per API token; unset: no limit. */
  rateLimitPerMinute?: number | undefined;
  /** Also accept OIDC bearer tokens from this issuer; unset: Shepherd API tokens only. */
  oidc?: OidcVerifier | undefined;
}

export function apiRoutes(services: RouteDeps): RouteSpec[] {
  return [
    ...modelRoutes(services),
    ...trainingRoutes(services),
    ...tokenRoutes(services),
    ...settingsRoutes(services),
    ...featureRoutes(services),
    ...auditRoutes(services),
    ...servingRoutes(services),
    ...alertRoutes(services),
    ...parityRoutes(services),
    ...whoamiRoutes(),
    ...driftRoutes(services),
    ...seriesRoutes(services),
    ...lineageEdgeRoutes(services),
  ];
}

export function buildApp(deps: ApiDeps) {
  const app = Fastify({
    // Our pino and fastify's bundled pino types differ only nominally.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // A request's own logger is made only if the request logs beyond its access line (below).
    childLoggerFactory: (logger, bindings, options) =>
      lazyChildLogger(logger as Logger, bindings, options) as FastifyBaseLogger,
    // Fastify's two lines per request ("incoming request", "request completed") become one: the
    // access line written in the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Router and HTTP-parser refusals (414, malformed URL, 431) in the same error envelope.
    ...frameworkErrorOptions,
  });
  installErrorHandling(app);
  // Callback-style hooks on every request: an async hook costs a promise per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  const metrics = apiMetrics(deps.services);
  // Every request ends in exactly one of the two hooks below: answered, or abandoned by its caller.
  const record = (request: FastifyRequest, statusCode: number, elapsedMs: number) => {
    // The route's pattern, not the URL: one series per route, whatever ids callers send.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observe(request.method, route, statusCode, elapsedMs / 1000);
    logAccess(deps.logger, route, request, statusCode, elapsedMs);
  };
  app.addHook('onResponse', (request, reply, done) => {
    record(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  // An abandoned request has no reply to time it by, so each request notes when it arrived.
  app.decorateRequest('arrivedAt', 0);
  app.addHook('onRequest', (request, _reply, done) => {
    request.arrivedAt = performance.now();
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    if (request.routeOptions.url !== eventStreamRoute) {
      record(request, clientClosedStatus, performance.now() - request.arrivedAt);
    }
    done();
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(await metrics.render()),
  );

  app.get('/readyz', async (_request, reply) => {
    const checks = await runChecks(deps.readiness);
    const ready = checks.every((check) => check.ok);
    const body: ReadinessResponse = { status: ready ? 'ready' : 'not_ready', checks };
    return reply.status(ready ? 200 : 503).send(body);
  });

  if (deps.services) {
    const routes = apiRoutes(deps.services);
    registerRoutes(
      app,
      routes,
      deps.services.db,
      deps.rateLimitPerMinute ? new RateLimiter(deps.rateLimitPerMinute) : undefined,
      { oidc: deps.oidc },
    );
    const document = openApiDocument(routes);
    app.get('/v1/openapi.json', async () => document);
    registerEventRoutes(app, deps.services, {}, deps.oidc);
    registerAuthConfigRoute(app, deps.oidc);
  }

  return app;
}
