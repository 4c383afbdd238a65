import type { FastifyRequest } from 'fastify';
import { ShepherdError } from '@shepherd/core/errors';
import type { Principal } from '@shepherd/registry/tokens';
import type { OidcVerifier } from './oidc.ts';

/** The bearer token of a request; none is 401 before anything else is looked at. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
  if (!token) throw new ShepherdError('unauthenticated', 'send an API token: Authorization: Bearer shp_…');
  return token;
}

/**
 * Bearer token to principal, one way for every route (the route table and the event stream alike):
 * a Shepherd API token (`shp_…`) is looked up, anything else goes to the identity provider's
 * verifier when one is configured. Project membership and permissions are the caller's to check.
 */
export class Authenticator {
  constructor(
    private readonly lookup: (token: string) => Promise<Principal | undefined>,
    private readonly oidc?: OidcVerifier | undefined,
  ) {}

  /**
   * `project` is the slug the URL names: an OIDC token carries roles for several projects and is
   * turned into a principal of that one (a token without a role there is 404, as for a Shepherd
   * token of another project).
   */
  async principal(token: string, project: string | undefined): Promise<Principal> {
    const principal =
      this.oidc && !token.startsWith('shp_')
        ? await this.oidc.authenticate(token, project)
        : await this.lookup(token);
    if (!principal)
      throw new ShepherdError('unauthenticated', 'the API token is unknown, revoked or expired');
    return principal;
  }

  /**
   * For a long-lived connection: is the token still good for `project`? false when it was revoked,
   * expired or lost its role there; a check that could not be made (the database or the identity
   * provider briefly away) throws, and the caller decides whether to keep the connection meanwhile.
   */
  async stillValid(token: string, project: string): Promise<boolean> {
    try {
      const principal = await this.principal(token, project);
      return principal.project.slug === project;
    } catch (err) {
      if (err instanceof ShepherdError && (err.code === 'unauthenticated' || err.code === 'not_found')) {
        return false;
      }
      throw err;
    }
  }
}
