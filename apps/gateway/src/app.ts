import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyReply,
} from 'fastify';
import { clientClosedStatus, ShepherdError, type ErrorCode } from '@shepherd/core/errors';
import { lazyChildLogger, type Logger } from '@shepherd/core/logger';
import { allows } from '@shepherd/registry/permissions';
import type { Principal } from '@shepherd/registry/tokens';
import type { RoutingTable } from './config.ts';
import { renderMetrics } from './metrics.ts';
import type { PredictionLogCounters } from './prediction-log.ts';
import type { Predictor } from './predict.ts';
import type { StatsRecorder } from './stats.ts';

export interface GatewayAppDeps {
  logger: Logger;
  /** Absent: only /healthz, /readyz and /metrics (unit tests of the shell). */
  predictor?: Predictor;
  /** The principal behind a bearer token, or undefined when it is unknown, revoked or expired. */
  authenticate?: (token: string) => Promise<Principal | undefined>;
  table?: () => RoutingTable | undefined;
  stats?: StatsRecorder;
  logCounters?: () => PredictionLogCounters;
  modelsLoaded?: () => number;
}

type WireCode = ErrorCode | 'method_not_allowed';

const errorBody = (code: WireCode, message: string, requestId: string, details?: unknown) => ({
  error: { code, message, requestId, ...(details === undefined ? {} : { details }) },
});

function codeForStatus(status: number): WireCode {
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 413 || status === 431) return 'payload_too_large';
  return 'bad_request';
}

/**
 * The data plane's HTTP surface. It shares no process with the control plane, so a busy API never
 * slows predictions; errors leave in the API's envelope `{ error: { code, message, requestId } }`.
 */
export function buildGateway(deps: GatewayAppDeps) {
  const app = Fastify({
    // Our pino and fastify's bundled pino types differ only nominally.
    loggerInstance: deps.logger as FastifyBaseLogger,
    // A request's logger costs nothing until the request logs (most never do).
    childLoggerFactory: (logger, bindings, options) =>
      lazyChildLogger(logger as Logger, bindings, options) as FastifyBaseLogger,
    bodyLimit: 4 * 1024 * 1024,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // A log line per request would cost more than the prediction; errors are logged, and /metrics counts.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors: (error, request, reply) => {
      const status = error.statusCode ?? 400;
      void (reply as unknown as FastifyReply)
        .status(status)
        .send(errorBody(codeForStatus(status), error.message, request.id));
    },
  });

  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(errorBody('not_found', `no route for ${request.method} ${request.url}`, request.id));
  });
  app.setErrorHandler((err: FastifyError | ShepherdError | Error, request, reply) => {
    if (err instanceof ShepherdError) {
      if (err.status >= 500) request.log.error({ err }, err.message);
      return reply.status(err.status).send(errorBody(err.code, err.message, request.id, err.details));
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send(errorBody(codeForStatus(status), err.message, request.id));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'internal error', request.id));
  });
  // Callback style: an async hook costs a promise on every prediction.
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  // Ready once the routing table is loaded: before that every predict would be refused.
  app.get('/readyz', async (_request, reply) => {
    const table = deps.table?.();
    const ready = deps.predictor === undefined || table !== undefined;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      checks: [
        {
          name: 'config',
          ok: ready,
          detail: table
            ? `generation ${table.generation}, loaded ${table.loadedAt.toISOString()}`
            : 'not loaded',
        },
      ],
    });
  });

  const httpRequests = new Map<string, number>();
  app.get('/metrics', async (_request, reply) => {
    const body =
      deps.stats && deps.logCounters
        ? renderMetrics({
            stats: deps.stats,
            log: deps.logCounters(),
            table: deps.table?.(),
            modelsLoaded: deps.modelsLoaded?.() ?? 0,
            shadowSkipped: deps.predictor?.shadowSkipped ?? 0,
            httpRequests,
          })
        : '';
    return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(body);
  });

  const predictor = deps.predictor;
  const authenticate = deps.authenticate;
  if (predictor && authenticate) {
    app.post<{ Params: { endpoint: string } }>('/v1/endpoints/:endpoint/predict', async (request, reply) => {
      // Labels only for endpoints that exist: made-up names must not grow the series without bound.
      let project = '';
      let endpoint = '';
      try {
        const header = request.headers.authorization;
        const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!match) {
          throw new ShepherdError('unauthenticated', 'send an API token as "Authorization: Bearer <token>"');
        }
        const principal = await authenticate(match[1]!);
        if (!principal)
          throw new ShepherdError('unauthenticated', 'the API token is unknown, revoked or expired');
        if (!allows(principal.role, 'read')) {
          throw new ShepherdError('forbidden', `role ${principal.role} may not request predictions`);
        }
        const routed = predictor.route(principal.project.id, request.params.endpoint);
        project = principal.project.id;
        endpoint = routed.config.name;
        const result = await predictor.predict(routed, request.body, () => reply.elapsedTime);
        count(httpRequests, project, endpoint, answered(reply, 200));
        return await reply.status(200).send(result);
      } catch (err) {
        count(
          httpRequests,
          project,
          endpoint,
          answered(reply, err instanceof ShepherdError ? err.status : 500),
        );
        throw err;
      }
    });
  }

  return app;
}

/**
 * The status a request is counted under: 499 when its caller went away before the answer (a client
 * timeout), which the server-side latency cannot show, as it ends when the answer is ready.
 */
const answered = (reply: FastifyReply, status: number) => (reply.raw.destroyed ? clientClosedStatus : status);

function count(counters: Map<string, number>, project: string, endpoint: string, status: number): void {
  const key = `${project}\u0000${endpoint}\u0000${status}`;
  counters.set(key, (counters.get(key) ?? 0) + 1);
}
