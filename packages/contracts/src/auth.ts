import { z } from 'zod';

/**
 * `GET /v1/auth/config` (no authentication): how a browser may sign in. Everything here is public
 * (a public OIDC client has no secret); `oidc` is null when the API accepts Shepherd tokens only.
 */
export const authConfigView = z.object({
  oidc: z
    .object({
      issuer: z.url(),
      clientId: z.string().min(1),
      /** Space-separated, as the authorize request takes them. */
      scopes: z.string().min(1),
      /** Which token of the provider's token response to send as Bearer. */
      token: z.enum(['access_token', 'id_token']),
      /** The claim that lists `project:role` entries, so a client can offer the projects a user has. */
      roleClaim: z.string().min(1),
    })
    .nullable(),
});
export type AuthConfigView = z.infer<typeof authConfigView>;
