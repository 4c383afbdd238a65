import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';
import { ShepherdError, type ErrorCode } from '@shepherd/core/errors';

/** The codes an error body may carry: ShepherdError's, and HTTP's own for what routing refuses. */
export type WireErrorCode = ErrorCode | 'method_not_allowed';

/** Every error leaves as `{ error: { code, message, requestId } }`; the caller's mistakes are 4xx. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(errorResponse('not_found', `no route for ${request.method} ${request.url}`, request.id));
  });

  app.setErrorHandler((err: FastifyError | ShepherdError | Error, request, reply) => {
    if (err instanceof ShepherdError) {
      if (err.status >= 500) request.log.error({ err }, err.message);
      return reply.status(err.status).send(errorResponse(err.code, err.message, request.id, err.details));
    }
    const fastifyError = err as FastifyError;
    if (fastifyError.validation) {
      return reply.status(400).send(errorResponse('validation_failed', fastifyError.message, request.id));
    }
    const status = fastifyError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply
        .status(status)
        .send(errorResponse(codeForStatus(status), fastifyError.message, request.id));
    }
    request.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorResponse('internal', 'internal error', request.id));
  });
}

/**
 * For Fastify's constructor: what its router (a malformed URL, a path segment over 100 characters: 414)
 * and Node's HTTP parser (headers or URL over 16 KiB: 431) refuse before any handler or hook runs
 * leaves in the same envelope as everything else, instead of Fastify's own error shape.
 */
export const frameworkErrorOptions = {
  frameworkErrors: (error, request, reply) => {
    const status = error.statusCode ?? 400;
    // Fastify types this reply for any route's schema; ours has none.
    void (reply as unknown as FastifyReply)
      .status(status)
      .send(errorResponse(codeForStatus(status), error.message, request.id));
  },
  clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message =
      status === 431
        ? 'the request line or headers exceed 16 KiB'
        : status === 408
          ? 'request timeout'
          : 'malformed HTTP request';
    const body = JSON.stringify(errorResponse(codeForStatus(status), message, randomUUID()));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  },
} satisfies Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'>;

function codeForStatus(status: number): WireErrorCode {
  if (status === 413) return 'payload_too_large';
  if (status === 415 || status === 400) return 'bad_request';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 429) return 'rate_limited';
  if (status === 431) return 'payload_too_large';
  return 'bad_request';
}

export function errorResponse(code: WireErrorCode, message: string, requestId: string, details?: unknown) {
  return { error: { code, message, requestId, ...(details === undefined ? {} : { details }) } };
}
