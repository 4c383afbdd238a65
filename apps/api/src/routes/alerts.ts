import { z } from 'zod';
import { alertStates, alertView as alertViewSchema } from '@shepherd/contracts/alerts';
import { slug } from '@shepherd/contracts/registry';
import { alertView, getAlert, listAlerts, moveAlert } from '@shepherd/registry/alerts';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, type RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });
const alertParams = projectParams.extend({ alert: z.uuid() });

export function alertRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/alerts',
      operationId: 'listAlerts',
      permission: 'read',
      summary: 'Alerts, newest first; `state` filters (repeat it for several)',
      tag: 'alerts',
      params: projectParams,
      query: z.object({
        state: z.union([z.enum(alertStates), z.array(z.enum(alertStates)).max(3)]).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(200),
      }),
      response: z.object({ alerts: z.array(alertViewSchema) }),
      handler: async ({ query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const states =
          query.state === undefined ? [] : Array.isArray(query.state) ? query.state : [query.state];
        return { alerts: (await listAlerts(ctx, { states, limit: query.limit })).map(alertView) };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/alerts/:alert',
      operationId: 'getAlert',
      permission: 'read',
      summary: 'One alert with its details and runbook',
      tag: 'alerts',
      params: alertParams,
      response: alertViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return alertView(await getAlert(ctx, params.alert));
      },
    }),
    ...(['ack', 'resolve'] as const).map((action) =>
      route({
        method: 'POST',
        url: `/v1/projects/:project/alerts/:alert/${action}`,
        operationId: action === 'ack' ? 'acknowledgeAlert' : 'resolveAlert',
        permission: 'write',
        summary: action === 'ack' ? 'Acknowledge: someone is on it' : 'Resolve: the problem is over',
        tag: 'alerts',
        params: alertParams,
        body: z.strictObject({ note: z.string().min(1).max(2000).optional() }).optional(),
        response: alertViewSchema,
        errors: ['conflict'],
        handler: async ({ params, body, principal, request }) => {
          const { ctx } = projectContext(deps, principal, request);
          const to = action === 'ack' ? 'acknowledged' : 'resolved';
          return alertView(await moveAlert(ctx, params.alert, to, body?.note));
        },
      }),
    ),
  ];
}
