import { z } from 'zod';
import { slug } from '@shepherd/contracts/registry';
import { projectSettingsView, updateProjectSettingsBody } from '@shepherd/contracts/settings';
import { getProjectSettings, updateProjectSettings } from '@shepherd/registry/settings';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, type RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });

/** Project settings: who may turn a safeguard off is an admin, and every change is audited. */
export function settingsRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/settings',
      operationId: 'getProjectSettings',
      permission: 'admin',
      summary: "The project's settings (four-eyes promotion)",
      tag: 'settings',
      params: projectParams,
      response: projectSettingsView,
      handler: async ({ principal, request }) => {
        const { project, ctx } = projectContext(deps, principal, request);
        return { project: project.slug, ...(await getProjectSettings(ctx)) };
      },
    }),
    route({
      method: 'PATCH',
      url: '/v1/projects/:project/settings',
      operationId: 'updateProjectSettings',
      permission: 'admin',
      summary: "Change the project's settings; audited with the settings before and after",
      tag: 'settings',
      params: projectParams,
      body: updateProjectSettingsBody,
      response: projectSettingsView,
      handler: async ({ body, principal, request }) => {
        const { project, ctx } = projectContext(deps, principal, request);
        return { project: project.slug, ...(await updateProjectSettings(ctx, body)) };
      },
    }),
  ];
}
