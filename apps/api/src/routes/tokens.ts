import { z } from 'zod';
import { slug } from '@shepherd/contracts/registry';
import { roles, type ApiToken } from '@shepherd/db/schema';
import { createToken, listTokens, revokeToken } from '@shepherd/registry/tokens';
import { route, type RouteSpec } from '../route.ts';
import { actorOf } from '../auth/oidc.ts';
import type { RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });

const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(roles),
  prefix: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

const view = (token: ApiToken): z.infer<typeof tokenView> => ({
  id: token.id,
  name: token.name,
  role: token.role,
  prefix: token.tokenPrefix,
  createdBy: token.createdBy,
  createdAt: token.createdAt.toISOString(),
  expiresAt: token.expiresAt?.toISOString() ?? null,
  revokedAt: token.revokedAt?.toISOString() ?? null,
});

export function tokenRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'POST',
      url: '/v1/projects/:project/tokens',
      operationId: 'createToken',
      permission: 'admin',
      summary: 'Create an API token for this project; the token is shown in this response only',
      tag: 'tokens',
      params: projectParams,
      body: z.object({
        name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 . _ @ -' }),
        role: z.enum(roles),
        expiresInDays: z.number().int().min(1).max(3650).optional(),
      }),
      response: tokenView.extend({ token: z.string() }),
      status: 201,
      handler: async ({ body, principal }) => {
        const { token, record } = await createToken(deps.db, {
          projectId: principal.project.id,
          name: body.name,
          role: body.role,
          createdBy: actorOf(principal),
          expiresAt: body.expiresInDays ? new Date(Date.now() + body.expiresInDays * 86_400_000) : null,
        });
        return { ...view(record), token };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/tokens',
      operationId: 'listTokens',
      permission: 'admin',
      summary: "List this project's tokens (never their secrets)",
      tag: 'tokens',
      params: projectParams,
      response: z.object({ tokens: z.array(tokenView) }),
      handler: async ({ principal }) => ({
        tokens: (await listTokens(deps.db, principal.project.id)).map(view),
      }),
    }),
    route({
      method: 'DELETE',
      url: '/v1/projects/:project/tokens/:id',
      operationId: 'revokeToken',
      permission: 'admin',
      summary: 'Revoke a token; it stops working at once',
      tag: 'tokens',
      params: projectParams.extend({ id: z.uuid() }),
      response: tokenView,
      handler: async ({ params, principal }) =>
        view(await revokeToken(deps.db, principal.project.id, params.id, actorOf(principal))),
    }),
  ];
}
