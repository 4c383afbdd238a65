import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import { isUniqueViolation } from '@shepherd/db/errors';
import { endpoints, models, modelVersions, rollouts, type Rollout } from '@shepherd/db/schema';
import {
  activeRolloutStates,
  analysisThresholds,
  defaultRolloutSteps,
  rolloutLabels,
  type AnalysisResult,
  type CanaryRolloutInput,
  type AnalysisThresholds,
  type EndpointMode,
  type RolloutLabels,
  type RolloutState,
  type RolloutStep,
  type RolloutView,
} from '@shepherd/contracts/serving';
import { recordAudit } from './audit.ts';
import type { Endpoint } from '@shepherd/db/schema';
import { getProjectSettings, withPromotionGate } from './settings.ts';
import { getVersionById } from './versions.ts';
import type { RegistryContext } from './context.ts';

export interface NewRollout {
  endpointId: string;
  candidateVersionId: string;
  championVersionId: string | null;
  mode: EndpointMode;
  steps: RolloutStep[];
  thresholds: AnalysisThresholds;
  analysisIntervalSeconds: number;
  workflowId: string;
  requestId: string;
  /** Checks that hold only for a new rollout (a retried request finds its rollout without them). */
  validate?: () => void;
}

/**
 * Records a rollout before its workflow starts. The same request id returns the rollout it
 * started; a second active rollout on the endpoint is a conflict naming the one in the way.
 */
export async function createRollout(ctx: RegistryContext, input: NewRollout): Promise<Rollout> {
  const [existing] = await ctx.db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.projectId, ctx.projectId), eq(rollouts.requestId, input.requestId)));
  if (existing) return existing;
  const { validate, ...values } = input;
  validate?.();
  try {
    return await ctx.db.transaction(async (tx) => {
      const [created] = await tx
        .insert(rollouts)
        .values({ ...values, projectId: ctx.projectId, startedBy: ctx.actor })
        .returning();
      await recordAudit(tx, ctx, {
        action: 'rollout.started',
        subjectKind: 'rollout',
        subjectId: created!.id,
        after: {
          endpointId: input.endpointId,
          candidateVersionId: input.candidateVersionId,
          steps: input.steps,
        },
      });
      return created!;
    });
  } catch (err) {
    if (isUniqueViolation(err, 'rollouts_one_active_per_endpoint')) {
      const [active] = await ctx.db
        .select({ id: rollouts.id })
        .from(rollouts)
        .where(
          and(eq(rollouts.endpointId, input.endpointId), inArray(rollouts.state, [...activeRolloutStates])),
        );
      throw new ShepherdError(
        'conflict',
        `the endpoint already has a rollout in progress (${active?.id ?? 'unknown'}); finish or abort it first`,
      );
    }
    if (isUniqueViolation(err, 'rollouts_project_request_unique')) {
      return (await findRolloutByRequest(ctx, input.requestId))!;
    }
    throw err;
  }
}

/** The rollout recorded under a request id (e.g. a training run's canary), if any. */
export async function findRolloutByRequest(
  ctx: RegistryContext,
  requestId: string,
): Promise<Rollout | undefined> {
  const [row] = await ctx.db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.projectId, ctx.projectId), eq(rollouts.requestId, requestId)));
  return row;
}

export async function getRollout(ctx: RegistryContext, id: string): Promise<Rollout> {
  const [row] = await ctx.db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.projectId, ctx.projectId), eq(rollouts.id, id)));
  if (!row) throw new ShepherdError('not_found', `rollout ${id} does not exist`);
  return row;
}

export interface RolloutProgress {
  state?: RolloutState;
  step?: number;
  weight?: number;
  /** Appended to the rollout's analyses. */
  analysis?: AnalysisResult;
  /** Appended to the rollout's reasons. */
  reasons?: string[];
}

const finalStates = new Set<RolloutState>(['succeeded', 'rolled_back', 'aborted', 'failed']);

/** Records what the workflow did. A finished rollout is not changed again (a retried step is a no-op). */
export async function recordRolloutProgress(
  ctx: RegistryContext,
  id: string,
  progress: RolloutProgress,
): Promise<Rollout> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(rollouts)
      .where(and(eq(rollouts.projectId, ctx.projectId), eq(rollouts.id, id)))
      .for('update');
    if (!current) throw new ShepherdError('not_found', `rollout ${id} does not exist`);
    if (finalStates.has(current.state)) return current;
    const analyses = progress.analysis
      ? // The same analysis recorded twice (a retried activity) is kept once.
        current.analyses.some((a) => a.at === progress.analysis!.at && a.step === progress.analysis!.step)
        ? current.analyses
        : [...current.analyses, progress.analysis]
      : current.analyses;
    const reasons = progress.reasons ? [...current.reasons, ...progress.reasons] : current.reasons;
    const state = progress.state ?? current.state;
    const [updated] = await tx
      .update(rollouts)
      .set({
        state,
        step: progress.step ?? current.step,
        weight: progress.weight ?? current.weight,
        analyses,
        reasons,
        finishedAt: finalStates.has(state) ? new Date() : null,
      })
      .where(eq(rollouts.id, id))
      .returning();
    if (progress.state && progress.state !== current.state) {
      await recordAudit(tx, ctx, {
        action: `rollout.${progress.state}`,
        subjectKind: 'rollout',
        subjectId: id,
        before: { state: current.state, step: current.step, weight: current.weight },
        after: { state, step: updated!.step, weight: updated!.weight, reasons: progress.reasons ?? [] },
      });
    }
    return updated!;
  });
}

export interface RolloutFilter {
  endpointId?: string;
  activeOnly?: boolean;
  limit?: number;
}

export async function listRollouts(ctx: RegistryContext, filter: RolloutFilter = {}): Promise<Rollout[]> {
  const conditions = [eq(rollouts.projectId, ctx.projectId)];
  if (filter.endpointId) conditions.push(eq(rollouts.endpointId, filter.endpointId));
  if (filter.activeOnly) conditions.push(inArray(rollouts.state, [...activeRolloutStates]));
  return ctx.db
    .select()
    .from(rollouts)
    .where(and(...conditions))
    .orderBy(desc(rollouts.createdAt))
    .limit(filter.limit ?? 100);
}

/** The API's view: names and version numbers next to ids. */
export async function rolloutViews(ctx: RegistryContext, rows: readonly Rollout[]): Promise<RolloutView[]> {
  if (rows.length === 0) return [];
  const versionIds = [
    ...new Set(rows.flatMap((r) => [r.candidateVersionId, r.championVersionId]).filter((id) => id !== null)),
  ];
  const versionRows = await ctx.db
    .select({ id: modelVersions.id, version: modelVersions.version })
    .from(modelVersions)
    .where(inArray(modelVersions.id, versionIds));
  const endpointRows = await ctx.db
    .select({ id: endpoints.id, name: endpoints.name, model: models.name })
    .from(endpoints)
    .innerJoin(models, eq(models.id, endpoints.modelId))
    .where(
      and(
        eq(endpoints.projectId, ctx.projectId),
        inArray(endpoints.id, [...new Set(rows.map((r) => r.endpointId))]),
      ),
    );
  const versionNumber = new Map(versionRows.map((row) => [row.id, row.version]));
  const endpointById = new Map(endpointRows.map((row) => [row.id, row]));
  return rows.map((row) => ({
    id: row.id,
    endpoint: endpointById.get(row.endpointId)?.name ?? row.endpointId,
    model: endpointById.get(row.endpointId)?.model ?? '',
    candidate: { versionId: row.candidateVersionId, version: versionNumber.get(row.candidateVersionId) ?? 0 },
    champion: row.championVersionId
      ? { versionId: row.championVersionId, version: versionNumber.get(row.championVersionId) ?? 0 }
      : null,
    mode: row.mode,
    state: row.state,
    step: row.step,
    weight: row.weight,
    steps: row.steps,
    thresholds: row.thresholds,
    analysisIntervalSeconds: row.analysisIntervalSeconds,
    analyses: row.analyses,
    reasons: row.reasons,
    workflowId: row.workflowId,
    startedBy: row.startedBy,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  }));
}

/** Rollouts whose workflow ended without saying so (for reconciliation and tests). */
export const activeRolloutCount = async (ctx: RegistryContext, endpointId: string) => {
  const [row] = await ctx.db
    .select({ count: sql<number>`count(*)::int` })
    .from(rollouts)
    .where(and(eq(rollouts.endpointId, endpointId), inArray(rollouts.state, [...activeRolloutStates])));
  return row?.count ?? 0;
};

export interface RolloutRequest {
  endpoint: Endpoint;
  candidateVersionId: string;
  requestId: string;
  workflowId: string;
  mode?: EndpointMode;
  steps?: RolloutStep[] | undefined;
  analysisIntervalSeconds: number;
  thresholds?: Partial<AnalysisThresholds> | undefined;
  labels?: Partial<RolloutLabels> | undefined;
}

/**
 * Records a rollout and returns what its workflow needs. Shared by the API and the training
 * pipeline's canary policy, so both refuse the same things: a version of another model, one that
 * is not `validated`, or the endpoint's own champion. Under four-eyes promotion a plan without a
 * manual gate gets one on its final step, so no rollout moves `champion` without a second person.
 */
export async function planRollout(
  ctx: RegistryContext,
  request: RolloutRequest,
): Promise<{ rollout: Rollout; input: CanaryRolloutInput }> {
  const { endpoint } = request;
  const version = await getVersionById(ctx, request.candidateVersionId);
  const { fourEyesPromotion } = await getProjectSettings(ctx);
  const steps = request.steps ?? defaultRolloutSteps;
  const rollout = await createRollout(ctx, {
    endpointId: endpoint.id,
    candidateVersionId: version.id,
    championVersionId: endpoint.championVersionId,
    mode: request.mode ?? 'canary',
    steps: fourEyesPromotion ? withPromotionGate(steps) : steps,
    thresholds: analysisThresholds.parse(request.thresholds ?? {}),
    analysisIntervalSeconds: request.analysisIntervalSeconds,
    workflowId: request.workflowId,
    requestId: request.requestId,
    validate: () => {
      if (version.modelId !== endpoint.modelId) {
        throw new ShepherdError('conflict', `endpoint ${endpoint.name} serves another model`);
      }
      if (version.state !== 'validated') {
        throw new ShepherdError(
          'conflict',
          `version ${version.version} is ${version.state}; only a validated version can be rolled out`,
        );
      }
      if (endpoint.championVersionId === version.id) {
        throw new ShepherdError(
          'conflict',
          `version ${version.version} already serves endpoint ${endpoint.name}`,
        );
      }
    },
  });
  return {
    rollout,
    input: {
      projectId: ctx.projectId,
      actor: ctx.actor,
      workflowId: rollout.workflowId,
      rolloutId: rollout.id,
      endpointId: endpoint.id,
      candidateVersionId: rollout.candidateVersionId,
      championVersionId: rollout.championVersionId,
      mode: rollout.mode,
      steps: rollout.steps,
      thresholds: rollout.thresholds,
      analysisIntervalSeconds: rollout.analysisIntervalSeconds,
      labels: rolloutLabels.parse(request.labels ?? {}),
    },
  };
}
