import { z } from 'zod';
import { roles } from '@shepherd/db/schema';
import { route, type RouteSpec } from '../route.ts';

export const whoamiView = z.object({
  project: z.object({ slug: z.string(), name: z.string() }),
  role: z.enum(roles),
  tokenName: z.string(),
});
export type WhoamiView = z.infer<typeof whoamiView>;

/**
 * Who the token is: its project, role and name. A token belongs to exactly one project, so clients
 * (the dashboard's sign-in, the CLI) learn the project from the token instead of asking for it.
 */
export function whoamiRoutes(): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/whoami',
      operationId: 'whoami',
      permission: 'read',
      summary: "The calling token's project, role and name",
      tag: 'tokens',
      response: whoamiView,
      handler: async ({ principal }) => ({
        project: { slug: principal.project.slug, name: principal.project.name },
        role: principal.role,
        tokenName: principal.name,
      }),
    }),
  ];
}
