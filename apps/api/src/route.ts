import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ShepherdError, type ErrorCode } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { allows, type Permission } from '@shepherd/registry/permissions';
import type { RateLimiter } from './auth/rate-limit.ts';
import type { OidcVerifier } from './auth/oidc.ts';
import type { Principal } from '@shepherd/registry/tokens';
import { TokenCache } from '@shepherd/registry/token-cache';
import { Authenticator, bearerToken } from './auth/authenticate.ts';
import { errorResponse } from './errors.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One declaration per route drives validation, the handler's types and the OpenAPI document,
 * so the spec cannot drift from what the server accepts and returns.
 */
export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  method: Method;
  /** Fastify syntax (`/v1/projects/:project`); OpenAPI gets `{project}`. */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  /** Deny by default: every route names what it needs. */
  permission: Permission;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  status?: number;
  /**
   * What the handler itself may refuse with, beyond what every route can answer (400 for invalid
   * input, 401, 403 where the permission is not `read`, 404, and 413/415 for a body): e.g.
   * `conflict`. The OpenAPI document declares exactly these statuses, and schemathesis checks them.
   */
  errors?: readonly ErrorCode[];
  /**
   * A route that creates a resource addressed below its own URL: the path parameter naming it and the
   * response field that holds its value (e.g. models are addressed by name, not id). The document
   * links the response to every operation on the new resource, for clients and schemathesis alike.
   */
  creates?: { param: string; field: string };
  /**
   * The handler's result is sent as it is, without the response schema's parse: only for a hot
   * route whose handler builds its answer from already-typed data (a parse there copies every value
   * and costs more than the lookup). The schema still documents the route, and its tests check it.
   */
  trustedResponse?: boolean;
  handler: (input: {
    params: z.output<P>;
    query: z.output<Q>;
    body: z.output<B>;
    principal: Principal;
    request: FastifyRequest;
    reply: FastifyReply;
  }) => Promise<z.input<R>>;
}

export const route = <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType>(
  spec: RouteSpec<P, Q, B, R>,
): RouteSpec => spec as unknown as RouteSpec;

/** NUL and unpaired surrogates: PostgreSQL stores neither in text or jsonb. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const unstorable = /[\u0000\p{Cs}]/u;

/** Whether any string (value or key) is one PostgreSQL could not store; iterative, as bodies nest deep. */
function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') {
      if (unstorable.test(current)) return true;
    } else if (Array.isArray(current)) {
      for (const item of current) stack.push(item);
    } else if (current !== null && typeof current === 'object') {
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue;
        if (unstorable.test(key)) return true;
        stack.push((current as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/**
 * The path of the first string (value or key) PostgreSQL could not store, if any. The paths cost an
 * allocation per key, so they are built only once a cheap walk has found such a string: every
 * request's params and query come through here.
 */
export function unstorablePath(value: unknown): string[] | undefined {
  if (!hasUnstorableText(value)) return undefined;
  const stack: [unknown, string[]][] = [[value, []]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [current, path] = next;
    if (typeof current === 'string') {
      if (unstorable.test(current)) return path;
    } else if (Array.isArray(current)) {
      current.forEach((item, index) => stack.push([item, [...path, String(index)]]));
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (unstorable.test(key)) return [...path, key];
        stack.push([item, [...path, key]]);
      }
    }
  }
  return undefined;
}

function parse<S extends z.ZodType>(schema: S | undefined, value: unknown, where: string): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  const badText = unstorablePath(value);
  if (badText) {
    throw invalid([
      { path: [where, ...badText].join('.'), message: 'must not contain NUL or unpaired surrogates' },
    ]);
  }
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  throw invalid(
    result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}

function invalid(issues: { path: string; message: string }[]): ShepherdError {
  return new ShepherdError(
    'validation_failed',
    issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
    { details: { issues } },
  );
}

/**
 * Who is calling, checked before anything else about the request: a valid bearer token, for the
 * project in the path, whose role carries the route's permission. Another project's resources
 * answer 404, as if they did not exist.
 */
async function authorize(auth: Authenticator, spec: RouteSpec, request: FastifyRequest): Promise<Principal> {
  const token = bearerToken(request);
  const project = (request.params as { project?: unknown }).project;
  const principal = await auth.principal(token, typeof project === 'string' ? project : undefined);
  if (typeof project === 'string' && project !== principal.project.slug) {
    throw new ShepherdError('not_found', `project '${project}' does not exist`);
  }
  if (!allows(principal.role, spec.permission)) {
    throw new ShepherdError(
      'forbidden',
      `role ${principal.role} may not ${spec.operationId} (needs ${spec.permission})`,
    );
  }
  return principal;
}

export function registerRoutes(
  app: FastifyInstance,
  routes: RouteSpec[],
  db: Database,
  limiter?: RateLimiter,
  options: { tokenCacheMs?: number; oidc?: OidcVerifier | undefined } = {},
): void {
  const tokens = new TokenCache(db, options.tokenCacheMs);
  const auth = new Authenticator((token) => tokens.get(token), options.oidc);
  // A JSON body's `__proto__` and `constructor.prototype` keys are dropped rather than refused (Fastify's
  // default): the schemas allow and ignore unknown keys, and these are unknown keys like any other.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('remove', 'remove'),
  );

  const methodsByUrl = new Map<string, Method[]>();
  for (const spec of routes) {
    methodsByUrl.set(spec.url, [...(methodsByUrl.get(spec.url) ?? []), spec.method]);
    app.route({
      method: spec.method,
      url: spec.url,
      handler: async (request, reply) => {
        const principal = await authorize(auth, spec, request);
        const quota = limiter?.take(principal.tokenId);
        if (quota && !quota.allowed) {
          void reply.header('retry-after', String(quota.retryAfterSeconds));
          throw new ShepherdError(
            'rate_limited',
            `token ${principal.name} is over its ${limiter!.perMinute} requests a minute; retry in ${quota.retryAfterSeconds}s`,
          );
        }
        const params = parse(spec.params, request.params, 'params');
        const query = parse(spec.query, request.query, 'query');
        const body = parse(spec.body, request.body, 'body');
        const result = await spec.handler({ params, query, body, principal, request, reply });
        // A revocation through this process takes effect at once here, not after the cache's TTL.
        if (spec.operationId === 'revokeToken') tokens.clear();
        return reply
          .status(spec.status ?? 200)
          .send(spec.trustedResponse ? result : spec.response.parse(result));
      },
    });
  }

  // Any other method on a known path is 405 with the methods it has (RFC 9110), not 404.
  for (const [url, methods] of methodsByUrl) {
    const allowed = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
    const allow = allowed.join(', ');
    const refuse = async (request: FastifyRequest, reply: FastifyReply) =>
      reply
        .status(405)
        .header('allow', allow)
        .send(
          errorResponse('method_not_allowed', `${request.method} is not allowed here (${allow})`, request.id),
        );
    app.route({
      method: app.supportedMethods.filter((method) => !allowed.includes(method as Method | 'HEAD')),
      url,
      // Before Fastify looks at a body (QUERY, say, must otherwise bring a Content-Type).
      onRequest: refuse,
      handler: refuse,
    });
  }
}
