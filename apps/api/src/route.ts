import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { allows, type Permission } from './auth/permissions.ts';
import { authenticate, type Principal } from './auth/tokens.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

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

function parse<S extends z.ZodType>(schema: S | undefined, value: unknown, where: string): z.output<S> {
  if (!schema) return undefined as z.output<S>;
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new ShepherdError(
    'validation_failed',
    issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '),
    {
      details: { issues },
    },
  );
}

/**
 * Who is calling, checked before anything else about the request: a valid bearer token, for the
 * project in the path, whose role carries the route's permission. Another project's resources
 * answer 404, as if they did not exist.
 */
async function authorize(db: Database, spec: RouteSpec, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
  if (!token) throw new ShepherdError('unauthenticated', 'send an API token: Authorization: Bearer shp_…');
  const principal = await authenticate(db, token);
  if (!principal) throw new ShepherdError('unauthenticated', 'the API token is unknown, revoked or expired');
  const project = (request.params as { project?: unknown }).project;
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

export function registerRoutes(app: FastifyInstance, routes: RouteSpec[], db: Database): void {
  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: spec.url,
      handler: async (request, reply) => {
        const principal = await authorize(db, spec, request);
        const params = parse(spec.params, request.params, 'params');
        const query = parse(spec.query, request.query, 'query');
        const body = parse(spec.body, request.body, 'body');
        const result = await spec.handler({ params, query, body, principal, request, reply });
        return reply.status(spec.status ?? 200).send(spec.response.parse(result));
      },
    });
  }
}
