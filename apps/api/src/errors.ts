import type { FastifyError, FastifyInstance } from 'fastify';
import { ShepherdError, type ErrorCode } from '@shepherd/core/errors';

/** Every error leaves as `{ error: { code, message, requestId } }`; the caller's mistakes are 4xx. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(body('not_found', `no route for ${request.method} ${request.url}`, request.id));
  });

  app.setErrorHandler((err: FastifyError | ShepherdError | Error, request, reply) => {
    if (err instanceof ShepherdError) {
      if (err.status >= 500) request.log.error({ err }, err.message);
      return reply.status(err.status).send(body(err.code, err.message, request.id, err.details));
    }
    const fastifyError = err as FastifyError;
    if (fastifyError.validation) {
      return reply.status(400).send(body('validation_failed', fastifyError.message, request.id));
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send(body(codeForStatus(status), fastifyError.message, request.id));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(body('internal', 'internal error', request.id));
  });
}

function codeForStatus(status: number): ErrorCode {
  if (status === 413) return 'payload_too_large';
  if (status === 415 || status === 400) return 'bad_request';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  return 'bad_request';
}

function body(code: ErrorCode, message: string, requestId: string, details?: unknown) {
  return { error: { code, message, requestId, ...(details === undefined ? {} : { details }) } };
}
