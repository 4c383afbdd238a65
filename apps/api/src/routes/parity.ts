import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parityReport } from '@shepherd/contracts/features';
import { slug } from '@shepherd/contracts/registry';
import { taskQueues } from '@shepherd/contracts/training';
import { listParityReports } from '@shepherd/features/parity';
import { getFeatureView } from '@shepherd/features/registry';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, type RouteDeps } from './context.ts';

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
  ];
}
