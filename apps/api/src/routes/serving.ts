import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { slug } from '@shepherd/contracts/registry';
import {
  activeRolloutStates,
  createEndpointBody,
  endpointConfig,
  endpointName,
  rollbackBody,
  rollbackWorkflowId,
  rolloutView,
  rolloutWorkflowId,
  sloView,
  startRolloutBody,
  type RollbackInput,
} from '@shepherd/contracts/serving';
import { taskQueues } from '@shepherd/contracts/training';
import { ShepherdError } from '@shepherd/core/errors';
import type { Rollout } from '@shepherd/db/schema';
import type { RegistryContext } from '@shepherd/registry/context';
import {
  createEndpoint,
  endpointConfig as loadEndpointConfig,
  endpointConfigs,
  getEndpoint,
  listEndpoints,
} from '@shepherd/registry/endpoints';
import {
  getRollout,
  listRollouts,
  planRollout,
  recordRolloutProgress,
  rolloutViews,
} from '@shepherd/registry/rollouts';
import { sloReport, summarizeStats } from '@shepherd/registry/serving-stats';
import { assertFourEyes } from '@shepherd/registry/settings';
import { getVersion } from '@shepherd/registry/versions';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, startOnce, type RouteDeps } from './context.ts';

const projectParams = z.object({ project: slug });
const endpointParams = projectParams.extend({ endpoint: endpointName });
const rolloutParams = projectParams.extend({ rollout: z.uuid() });

/** JSON has no Infinity (a zero budget that was spent); null says "no budget left" as well as any number. */
const finite = (value: number | null) => (value === null || Number.isFinite(value) ? value : null);

const rollbackResult = z.object({
  workflowId: z.string(),
  kind: z.enum(['rollout_stopped', 'champion_restored']),
  from: z.number().int().optional(),
  to: z.number().int().optional(),
});

const rolloutActions = ['approve', 'pause', 'resume', 'abort', 'promote'] as const;

export function servingRoutes(deps: RouteDeps): RouteSpec[] {
  const mainQueue = deps.mainTaskQueue ?? taskQueues.main;
  const oneView = async (ctx: RegistryContext, rollout: Rollout) => (await rolloutViews(ctx, [rollout]))[0]!;

  /**
   * A rollout whose start failed and that Temporal has no workflow for will never run, yet as
   * `running` it would hold the endpoint (no other rollout, and nothing to abort). It is marked
   * failed. When Temporal cannot even say (unreachable), it is left: a retry of the same request
   * starts it.
   */
  async function failIfNeverStarted(ctx: RegistryContext, rollout: Rollout, cause: unknown) {
    try {
      await deps.temporal.workflow.getHandle(rollout.workflowId).describe();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) return;
      const why = cause instanceof Error ? cause.message : String(cause);
      await recordRolloutProgress(ctx, rollout.id, {
        state: 'failed',
        reasons: [`its workflow could not be started: ${why}`],
      });
    }
  }

  /** A rollout's workflow answers signals only while it runs; a finished one is a conflict, not a 500. */
  async function signalRollout(
    ctx: RegistryContext,
    id: string,
    send: (workflowId: string) => Promise<void>,
  ) {
    const rollout = await getRollout(ctx, id);
    if (!['running', 'awaiting_approval', 'paused'].includes(rollout.state)) {
      throw new ShepherdError('conflict', `rollout ${id} is ${rollout.state}`);
    }
    await send(rollout.workflowId);
    return rollout;
  }

  return [
    route({
      method: 'POST',
      url: '/v1/projects/:project/endpoints',
      operationId: 'createEndpoint',
      permission: 'approve',
      summary: 'Create an endpoint serving a model (its champion unless a version is named)',
      tag: 'serving',
      params: projectParams,
      body: createEndpointBody,
      response: endpointConfig,
      status: 201,
      errors: ['conflict'],
      creates: { param: 'endpoint', field: 'name' },
      handler: async ({ body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await createEndpoint(ctx, body);
        return (await endpointConfigs(ctx.db, [endpoint]))[0]!;
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints',
      operationId: 'listEndpoints',
      permission: 'read',
      summary: 'Endpoints with their traffic split',
      tag: 'serving',
      params: projectParams,
      response: z.object({ endpoints: z.array(endpointConfig) }),
      handler: async ({ principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return { endpoints: await endpointConfigs(ctx.db, await listEndpoints(ctx)) };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints/:endpoint',
      operationId: 'getEndpoint',
      permission: 'read',
      summary: 'One endpoint: champion, candidate and traffic split',
      tag: 'serving',
      params: endpointParams,
      response: endpointConfig,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return loadEndpointConfig(ctx, params.endpoint);
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints/:endpoint/slo',
      operationId: 'getEndpointSlo',
      permission: 'read',
      summary: 'SLO status per version over sliding windows, with error-budget burn rates',
      tag: 'serving',
      params: endpointParams,
      response: sloView,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const config = (await endpointConfigs(ctx.db, [endpoint]))[0]!;
        const now = new Date();
        const report = await sloReport(ctx.db, ctx.projectId, endpoint.id, endpoint.slo, now);
        const serving = [
          config.champion ? { ...config.champion, role: 'champion' as const } : null,
          config.candidate
            ? {
                ...config.candidate,
                role: config.mode === 'shadow' ? ('shadow' as const) : ('candidate' as const),
              }
            : null,
        ].filter((entry) => entry !== null);
        const since = new Date(now.getTime() - 300_000);
        const versions = await Promise.all(
          serving.map(async (entry) => ({
            ...(await summarizeStats(ctx.db, ctx.projectId, endpoint.id, {
              since,
              until: now,
              versionId: entry.versionId,
              role: entry.role,
            })),
            ...entry,
          })),
        );
        return {
          endpoint: endpoint.name,
          at: report.at,
          objectives: report.objectives,
          fastBurn: report.fastBurn,
          windows: report.windows.map((window) => ({
            ...window,
            burnRates: {
              errors: finite(window.burnRates.errors),
              availability: finite(window.burnRates.availability),
              latency: finite(window.burnRates.latency),
            },
          })),
          versions,
        };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/endpoints/:endpoint/rollouts',
      operationId: 'startRollout',
      permission: 'approve',
      summary: 'Start a canary (or shadow) rollout of a validated version; idempotent on requestId',
      tag: 'serving',
      params: endpointParams,
      body: startRolloutBody,
      response: rolloutView,
      status: 202,
      errors: ['conflict'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const version = await getVersion(ctx, endpoint.modelId, body.version);
        const { rollout, input } = await planRollout(ctx, {
          endpoint,
          candidateVersionId: version.id,
          requestId: body.requestId,
          workflowId: rolloutWorkflowId(params.project, body.requestId),
          mode: body.mode,
          steps: body.steps,
          analysisIntervalSeconds: body.analysisIntervalSeconds,
          thresholds: body.thresholds,
          labels: body.labels,
        });
        // A retried request whose rollout already ended (it may never have had a workflow, see
        // below) answers with it: starting a workflow now would move traffic for a finished rollout.
        if (!activeRolloutStates.includes(rollout.state)) return oneView(ctx, rollout);
        try {
          await startOnce(deps.temporal, 'canaryRollout', {
            taskQueue: mainQueue,
            workflowId: input.workflowId,
            args: [input],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          });
        } catch (err) {
          await failIfNeverStarted(ctx, rollout, err);
          throw err;
        }
        return oneView(ctx, await getRollout(ctx, rollout.id));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/rollouts',
      operationId: 'listRollouts',
      permission: 'read',
      summary: 'Rollouts, newest first',
      tag: 'serving',
      params: projectParams,
      query: z.object({
        endpoint: endpointName.optional(),
        active: z.enum(['true', 'false']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: z.object({ rollouts: z.array(rolloutView) }),
      handler: async ({ query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpointId = query.endpoint ? (await getEndpoint(ctx, query.endpoint)).id : undefined;
        const rows = await listRollouts(ctx, {
          ...(endpointId ? { endpointId } : {}),
          activeOnly: query.active === 'true',
          limit: query.limit,
        });
        return { rollouts: await rolloutViews(ctx, rows) };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/rollouts/:rollout',
      operationId: 'getRollout',
      permission: 'read',
      summary: 'One rollout: steps, traffic, every analysis and its checks',
      tag: 'serving',
      params: rolloutParams,
      response: rolloutView,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return oneView(ctx, await getRollout(ctx, params.rollout));
      },
    }),
    ...rolloutActions.map((action) =>
      route({
        method: 'POST',
        url: `/v1/projects/:project/rollouts/:rollout/${action}`,
        operationId: `${action}Rollout`,
        // Letting more traffic through is an approval; stopping or holding it is anyone's who may write.
        permission: action === 'approve' || action === 'promote' ? 'approve' : 'write',
        summary: {
          approve:
            'Approve the manual gate the rollout waits at (not by whoever started it when the project requires four eyes)',
          pause: 'Pause the rollout; its bake clock stops',
          resume: 'Resume a paused rollout',
          abort: 'Abort: all traffic back to the champion at once',
          promote:
            'Promote the candidate now, skipping the remaining steps (not by whoever started it when the project requires four eyes)',
        }[action],
        tag: 'serving',
        params: rolloutParams,
        body: z.strictObject({ reason: z.string().min(1).max(2000).optional() }).optional(),
        response: rolloutView,
        status: 202,
        errors: action === 'approve' || action === 'promote' ? ['conflict', 'forbidden'] : ['conflict'],
        handler: async ({ params, body, principal, request }) => {
          const { ctx } = projectContext(deps, principal, request);
          const rollout = await signalRollout(ctx, params.rollout, async (workflowId) => {
            const handle = deps.temporal.workflow.getHandle(workflowId);
            // Both let the candidate go on towards champion: four eyes, when the project asks for it.
            if (action === 'approve' || action === 'promote') {
              await assertFourEyes(ctx, await getRollout(ctx, params.rollout), action);
            }
            const who = { actor: ctx.actor };
            // The workflow knows which gate it waits at.
            if (action === 'approve') await handle.signal('approve', who);
            else if (action === 'pause') await handle.signal('pause', who);
            else if (action === 'resume') await handle.signal('resume', who);
            else if (action === 'abort')
              await handle.signal('abort', { ...who, reason: body?.reason ?? 'no reason given' });
            else await handle.signal('promoteNow', who);
          });
          return oneView(ctx, rollout);
        },
      }),
    ),
    route({
      method: 'POST',
      url: '/v1/projects/:project/endpoints/:endpoint/rollback',
      operationId: 'rollbackEndpoint',
      permission: 'write',
      summary:
        'Roll back: stop a rollout in progress, or restore the previous champion to 100 %; idempotent on requestId',
      tag: 'serving',
      params: endpointParams,
      body: rollbackBody,
      response: rollbackResult,
      errors: ['conflict'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const [active] = await listRollouts(ctx, { endpointId: endpoint.id, activeOnly: true, limit: 1 });
        const workflowId = rollbackWorkflowId(params.project, body.requestId);
        const input: RollbackInput & { activeRolloutWorkflowId: string | null } = {
          projectId: ctx.projectId,
          actor: ctx.actor,
          workflowId,
          endpointId: endpoint.id,
          reason: body.reason,
          activeRolloutWorkflowId: active?.workflowId ?? null,
        };
        const handle = await startOnce(deps.temporal, 'rollback', {
          taskQueue: mainQueue,
          workflowId,
          args: [input],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        });
        try {
          const result = (await handle.result()) as {
            kind: 'rollout_stopped' | 'champion_restored';
            from?: number;
            to?: number;
          };
          return { workflowId, ...result };
        } catch (err) {
          // The workflow's own refusal (nothing to roll back to) is the caller's conflict.
          const refusal = refusalOf(err);
          if (refusal) throw new ShepherdError('conflict', refusal, { cause: err });
          throw err;
        }
      },
    }),
  ];
}

/** The message of a ShepherdError conflict raised by an activity, under the workflow's failure wrappers. */
function refusalOf(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if ((current as Error & { type?: unknown }).type === 'conflict') return current.message;
    current = current.cause;
  }
  return undefined;
}
