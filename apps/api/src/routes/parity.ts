import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import {
  parityMonitorConfig,
  parityMonitorView as parityMonitorViewSchema,
  parityMonitorWorkflowId,
  parityReport,
} from '@shepherd/contracts/features';
import { slug } from '@shepherd/contracts/registry';
import { taskQueues } from '@shepherd/contracts/training';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import type { FeatureParityMonitor } from '@shepherd/db/schema';
import { getLatestParityReport, listParityReports } from '@shepherd/features/parity';
import {
  getParityMonitor,
  parityMonitorView,
  startParityMonitor,
  stopParityMonitor,
} from '@shepherd/features/parity-monitor';
import { getFeatureView } from '@shepherd/features/registry';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, startMonitorWorkflow, type RouteDeps } from './context.ts';

const viewParams = z.object({
  project: slug,
  view: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, { message: 'must be a feature view name' }),
});

export function parityRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'POST',
      url: '/v1/projects/:project/feature-views/:view/parity-checks',
      operationId: 'runParityCheck',
      permission: 'write',
      summary:
        'Compare the online store with the offline store as of now for a sample of entities; stores the report and fires or resolves a parity alert',
      tag: 'features',
      params: viewParams,
      body: z
        .strictObject({
          sampleSize: z.number().int().min(1).max(100_000).default(1000),
          version: z.number().int().positive().max(2_147_483_647).optional(),
          /** Above this share of mismatching entities a parity alert fires. */
          maxMismatchRate: z.number().min(0).max(1).default(0.01),
        })
        .default({ sampleSize: 1000, maxMismatchRate: 0.01 }),
      response: parityReport,
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        // Refuses an unknown view with a 404 before any workflow starts.
        await getFeatureView(ctx.db, ctx.projectId, params.view, body.version);
        const workflowId = `parity-${params.project}-${params.view}-${randomUUID()}`;
        return deps.temporal.workflow.execute('parityCheck', {
          taskQueue: deps.mainTaskQueue ?? taskQueues.main,
          workflowId,
          args: [
            {
              projectId: ctx.projectId,
              actor: ctx.actor,
              workflowId,
              view: params.view,
              version: body.version,
              sampleSize: body.sampleSize,
              maxMismatchRate: body.maxMismatchRate,
            },
          ],
          workflowExecutionTimeout: '5 minutes',
        });
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/feature-views/:view/parity-checks',
      operationId: 'listParityChecks',
      permission: 'read',
      summary: 'Parity reports of a feature view, newest first',
      tag: 'features',
      params: viewParams,
      query: z.object({
        version: z.coerce.number().int().positive().max(2_147_483_647).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(50),
      }),
      response: z.object({ reports: z.array(parityReport) }),
      handler: async ({ params, query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const reports = await listParityReports(ctx.db, ctx.projectId, params.view, {
          limit: query.limit,
          ...(query.version ? { version: query.version } : {}),
        });
        return { reports };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/feature-views/:view/parity-monitor',
      operationId: 'startParityMonitor',
      permission: 'write',
      summary:
        'Check parity now and every everySeconds (default 900) after, storing each report and alerting past maxMismatchRate; a running monitor is returned as it is',
      tag: 'features',
      params: viewParams,
      body: parityMonitorConfig.optional(),
      response: parityMonitorViewSchema,
      status: 202,
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const config = parityMonitorConfig.parse(body ?? {});
        const workflowId = parityMonitorWorkflowId(ctx.projectId, params.view, Date.now());
        const { monitor, started } = await startParityMonitor(ctx, params.view, config, workflowId);
        if (started) {
          await startMonitorWorkflow(
            deps.temporal,
            'parityMonitor',
            {
              taskQueue: deps.mainTaskQueue ?? taskQueues.main,
              workflowId: monitor.workflowId,
              args: [
                {
                  projectId: ctx.projectId,
                  actor: ctx.actor,
                  workflowId: monitor.workflowId,
                  view: params.view,
                  version: config.version,
                  sampleSize: config.sampleSize,
                  maxMismatchRate: config.maxMismatchRate,
                  everySeconds: config.everySeconds,
                },
              ],
            },
            () => stopParityMonitor(ctx, params.view),
          );
        }
        return parityMonitorView(monitor, await latestReport(ctx.db, ctx.projectId, monitor));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/feature-views/:view/parity-monitor',
      operationId: 'getParityMonitor',
      permission: 'read',
      summary: "The view's parity monitor: state, configuration and the view's latest parity report",
      tag: 'features',
      params: viewParams,
      response: parityMonitorViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const monitor = await getParityMonitor(ctx, params.view);
        if (!monitor)
          throw new ShepherdError('not_found', `feature view ${params.view} has no parity monitor`);
        return parityMonitorView(monitor, await latestReport(ctx.db, ctx.projectId, monitor));
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/feature-views/:view/parity-monitor/stop',
      operationId: 'stopParityMonitor',
      permission: 'write',
      summary: "Stop a view's parity monitor; its reports and alerts stay",
      tag: 'features',
      params: viewParams,
      response: parityMonitorViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const monitor = await stopParityMonitor(ctx, params.view);
        try {
          await deps.temporal.workflow.getHandle(monitor.workflowId).cancel();
        } catch (err) {
          // The stop holds without the cancel: the workflow reads the stopped row before its next check.
          if (!(err instanceof WorkflowNotFoundError)) {
            request.log.warn({ err, workflowId: monitor.workflowId }, 'could not cancel the parity monitor');
          }
        }
        return parityMonitorView(monitor, await latestReport(ctx.db, ctx.projectId, monitor));
      },
    }),
  ];
}

/** The newest report of the version the monitor checks (its pinned one, or the highest). */
const latestReport = (db: Database, projectId: string, monitor: FeatureParityMonitor) =>
  getLatestParityReport(
    db,
    projectId,
    monitor.viewName,
    monitor.config.version === undefined ? {} : { version: monitor.config.version },
  );
