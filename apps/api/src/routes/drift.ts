import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import {
  createWebhookBody,
  driftMonitorConfig,
  driftMonitorView,
  driftMonitorWorkflowId,
  driftReportView,
  driftReportsQuery,
  startMonitorBody,
  webhookView as webhookViewSchema,
  type DriftMonitorInput,
} from '@shepherd/contracts/drift';
import { slug } from '@shepherd/contracts/registry';
import { endpointName } from '@shepherd/contracts/serving';
import { taskQueues } from '@shepherd/contracts/training';
import { ShepherdError } from '@shepherd/core/errors';
import {
  getMonitor,
  listReports,
  monitorView,
  reportViews,
  startMonitor,
  stopMonitor,
} from '@shepherd/registry/drift';
import { getEndpoint } from '@shepherd/registry/endpoints';
import { createWebhook, deleteWebhook, listWebhooks, webhookView } from '@shepherd/registry/notify';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, startMonitorWorkflow, type RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });
const endpointParams = projectParams.extend({ endpoint: endpointName });
const webhookParams = projectParams.extend({
  webhook: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lowercase letters, digits and -' }),
});

export function driftRoutes(deps: RouteDeps): RouteSpec[] {
  const mainQueue = deps.mainTaskQueue ?? taskQueues.main;
  return [
    route({
      method: 'POST',
      url: '/v1/projects/:project/endpoints/:endpoint/monitor',
      operationId: 'startDriftMonitor',
      // A monitor's policy may roll production back or retrain it: an approver's call.
      permission: 'approve',
      summary:
        'Start watching an endpoint for drift (window, thresholds, policy); a running monitor is returned as it is',
      tag: 'drift',
      params: endpointParams,
      body: startMonitorBody.optional(),
      response: driftMonitorView,
      status: 202,
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const config = driftMonitorConfig.parse(body ?? {});
        const workflowId = driftMonitorWorkflowId(endpoint.id, Date.now());
        const { monitor, started } = await startMonitor(ctx, endpoint, config, workflowId);
        if (started) {
          const input: DriftMonitorInput = {
            projectId: ctx.projectId,
            actor: ctx.actor,
            workflowId: monitor.workflowId,
            monitorId: monitor.id,
            endpointId: endpoint.id,
            config,
            trainingTaskQueue: deps.trainingTaskQueue,
          };
          await startMonitorWorkflow(
            deps.temporal,
            'driftMonitor',
            { taskQueue: mainQueue, workflowId: monitor.workflowId, args: [input] },
            () => stopMonitor(ctx, endpoint),
          );
        }
        return monitorView(monitor, endpoint.name);
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints/:endpoint/monitor',
      operationId: 'getDriftMonitor',
      permission: 'read',
      summary: "The endpoint's drift monitor: state, configuration and policy, windows judged",
      tag: 'drift',
      params: endpointParams,
      response: driftMonitorView,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const monitor = await getMonitor(ctx, endpoint.id);
        if (!monitor) throw new ShepherdError('not_found', `endpoint ${endpoint.name} has no drift monitor`);
        return monitorView(monitor, endpoint.name);
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/endpoints/:endpoint/monitor/stop',
      operationId: 'stopDriftMonitor',
      permission: 'write',
      summary: 'Stop watching an endpoint; its reports and alerts stay',
      tag: 'drift',
      params: endpointParams,
      response: driftMonitorView,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const monitor = await stopMonitor(ctx, endpoint);
        try {
          await deps.temporal.workflow
            .getHandle(monitor.workflowId)
            .signal('stopMonitor', { actor: ctx.actor });
        } catch (err) {
          // Already finished: the row says stopped, and a window that still runs reads that too.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        return monitorView(monitor, endpoint.name);
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints/:endpoint/drift',
      operationId: 'listDriftReports',
      permission: 'read',
      summary:
        'Drift reports over time, oldest first: per window and signal (skew, drift, prediction, performance), each feature’s test, statistic, p-value, threshold and verdict',
      tag: 'drift',
      params: endpointParams,
      query: driftReportsQuery,
      response: z.object({ endpoint: z.string(), reports: z.array(driftReportView) }),
      handler: async ({ params, query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const rows = await listReports(ctx, endpoint.id, {
          since: query.since ? new Date(query.since) : undefined,
          until: query.until ? new Date(query.until) : undefined,
          limit: query.limit,
        });
        return {
          endpoint: endpoint.name,
          reports: await reportViews(ctx, endpoint.name, rows, query.feature),
        };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/webhooks',
      operationId: 'createWebhook',
      permission: 'admin',
      summary: 'Send alerts to a webhook: Slack, PagerDuty Events v2, or generic JSON',
      tag: 'alerts',
      params: projectParams,
      body: createWebhookBody,
      response: webhookViewSchema,
      status: 201,
      errors: ['conflict'],
      creates: { param: 'webhook', field: 'name' },
      handler: async ({ body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return webhookView(await createWebhook(ctx, body));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/webhooks',
      operationId: 'listWebhooks',
      permission: 'read',
      summary: 'Webhooks alerts are sent to (routing keys are not shown)',
      tag: 'alerts',
      params: projectParams,
      response: z.object({ webhooks: z.array(webhookViewSchema) }),
      handler: async ({ principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return { webhooks: (await listWebhooks(ctx)).map(webhookView) };
      },
    }),
    route({
      method: 'DELETE',
      url: '/v1/projects/:project/webhooks/:webhook',
      operationId: 'deleteWebhook',
      permission: 'admin',
      summary: 'Stop sending alerts to a webhook',
      tag: 'alerts',
      params: webhookParams,
      response: webhookViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return webhookView(await deleteWebhook(ctx, params.webhook));
      },
    }),
  ];
}
