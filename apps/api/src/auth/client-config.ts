import type { FastifyInstance } from 'fastify';
import type { AuthConfigView } from '@shepherd/contracts/auth';
import type { OidcVerifier } from './oidc.ts';

export const authConfigPath = '/v1/auth/config';

/**
 * How a browser signs in, for the dashboard's sign-in page, before it has any token: so it is the
 * one /v1 route without authentication, and it answers only what the provider publishes anyway.
 * Outside the route table (which authorises every route) and so outside the OpenAPI document.
 */
export function registerAuthConfigRoute(app: FastifyInstance, oidc: OidcVerifier | undefined): void {
  const client = oidc?.config.client;
  const body: AuthConfigView = {
    oidc:
      oidc && client
        ? {
            issuer: oidc.config.issuer,
            clientId: client.clientId,
            scopes: client.scopes,
            token: client.token,
            roleClaim: oidc.config.roleClaim,
          }
        : null,
  };
  app.get(authConfigPath, async (_request, reply) => reply.header('cache-control', 'no-store').send(body));
}
