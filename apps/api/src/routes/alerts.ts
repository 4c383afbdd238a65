import { z } from 'zod';
import { alertStates, alertView as alertViewSchema } from '@shepherd/contracts/alerts';
import { deliveryView, type AlertNotificationInput, type NotificationEvent } from '@shepherd/contracts/drift';
import { slug } from '@shepherd/contracts/registry';
import { taskQueues } from '@shepherd/contracts/training';
import type { Alert } from '@shepherd/db/schema';
import { alertView, annotateAlert, getAlert, listAlerts, moveAlert } from '@shepherd/registry/alerts';
import type { RegistryContext } from '@shepherd/registry/context';
import { endpointOfAlert, planEndpointRollback, planRetrain } from '@shepherd/registry/drift';
import { listDeliveries, recipientsOf } from '@shepherd/registry/notify';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, startOnce, type RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });
const alertParams = projectParams.extend({ alert: z.uuid() });

const remedyBody = z.strictObject({
  /** Idempotency key: the same request id never starts two remedies. */
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'must be 1-100 letters, digits, . _ : -' }),
  reason: z.string().min(1).max(2000).optional(),
});

const remedyResult = z.object({
  alert: alertViewSchema,
  action: z.enum(['rollback', 'retrain']),
  workflowId: z.string(),
});

export function alertRoutes(deps: RouteDeps): RouteSpec[] {
  const mainQueue = deps.mainTaskQueue ?? taskQueues.main;

  /** Webhooks hear of acknowledgements and resolutions too (PagerDuty closes its incident). */
  async function notifyMove(ctx: RegistryContext, alert: Alert, event: NotificationEvent) {
    // No webhook takes it: nothing to start (and no Temporal round trip on every acknowledgement).
    if ((await recipientsOf(ctx, alert)).length === 0) return;
    const input: AlertNotificationInput = { projectId: alert.projectId, alertId: alert.id, event };
    await startOnce(deps.temporal, 'alertNotification', {
      taskQueue: mainQueue,
      workflowId: `notify-${alert.id}-${event}`,
      args: [input],
    });
  }

  /** On-call acted: the alert is acknowledged (if it was firing) and names what was started. */
  async function recordAction(ctx: RegistryContext, alert: Alert, action: string, workflowId: string) {
    await annotateAlert(ctx, alert.id, { remedy: { action, workflowId, by: ctx.actor } });
    if (alert.state === 'firing') {
      await notifyMove(ctx, await moveAlert(ctx, alert.id, 'acknowledged', action), 'acknowledge');
    }
    return getAlert(ctx, alert.id);
  }

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
          const before = await getAlert(ctx, params.alert);
          const moved = await moveAlert(ctx, params.alert, to, body?.note);
          if (before.state !== moved.state)
            await notifyMove(ctx, moved, action === 'ack' ? 'acknowledge' : 'resolve');
          return alertView(moved);
        },
      }),
    ),
    route({
      method: 'POST',
      url: '/v1/projects/:project/alerts/:alert/rollback',
      operationId: 'rollbackFromAlert',
      permission: 'write',
      summary:
        "Roll back the alert's endpoint: stop its rollout in progress, or restore the previous champion; acknowledges the alert",
      tag: 'alerts',
      params: alertParams,
      body: remedyBody,
      response: remedyResult,
      status: 202,
      errors: ['conflict'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const alert = await getAlert(ctx, params.alert);
        const endpoint = await endpointOfAlert(ctx, alert);
        const { activeRolloutWorkflowId } = await planEndpointRollback(ctx, endpoint);
        const workflowId = `rollback-${params.project}-${body.requestId}`;
        await startOnce(deps.temporal, 'rollback', {
          taskQueue: mainQueue,
          workflowId,
          args: [
            {
              projectId: ctx.projectId,
              actor: ctx.actor,
              workflowId,
              endpointId: endpoint.id,
              reason: body.reason ?? `alert ${alert.id}: ${alert.summary}`.slice(0, 2000),
              activeRolloutWorkflowId,
            },
          ],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        });
        const updated = await recordAction(ctx, alert, 'rollback', workflowId);
        return { alert: alertView(updated), action: 'rollback' as const, workflowId };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/alerts/:alert/retrain',
      operationId: 'retrainFromAlert',
      permission: 'write',
      summary:
        "Retrain the champion of the alert's endpoint as it was trained, then gate it and canary it on the endpoint; acknowledges the alert",
      tag: 'alerts',
      params: alertParams,
      body: remedyBody,
      response: remedyResult,
      status: 202,
      errors: ['conflict'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const alert = await getAlert(ctx, params.alert);
        const endpoint = await endpointOfAlert(ctx, alert);
        const pipeline = await planRetrain(ctx, {
          endpointId: endpoint.id,
          requestId: body.requestId,
          reason: body.reason ?? `alert ${alert.id}: ${alert.summary}`,
        });
        await startOnce(deps.temporal, 'trainingPipeline', {
          taskQueue: deps.trainingTaskQueue,
          workflowId: pipeline.workflowId,
          args: [pipeline],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        const updated = await recordAction(ctx, alert, 'retrain', pipeline.workflowId);
        return { alert: alertView(updated), action: 'retrain' as const, workflowId: pipeline.workflowId };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/alerts/:alert/deliveries',
      operationId: 'listAlertDeliveries',
      permission: 'read',
      summary: 'Where the alert was sent: per webhook and event, attempts, last status, delivered or failed',
      tag: 'alerts',
      params: alertParams,
      response: z.object({ deliveries: z.array(deliveryView) }),
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        await getAlert(ctx, params.alert);
        return { deliveries: await listDeliveries(ctx, params.alert) };
      },
    }),
  ];
}
