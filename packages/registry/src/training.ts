import { and, desc, eq } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import {
  trainingRuns,
  trainingSets,
  type NewTrainingSet,
  type TrainingRun,
  type TrainingRunState,
  type TrainingSet,
} from '@shepherd/db/schema';
import type { RegistryContext } from './context.ts';

/** Returns the existing run when the request id was seen before: a retried request trains once. */
export async function createTrainingRun(
  ctx: RegistryContext,
  input: { modelId: string; requestId: string; workflowId: string; spec: Record<string, unknown> },
): Promise<{ run: TrainingRun; created: boolean }> {
  const [inserted] = await ctx.db
    .insert(trainingRuns)
    .values({ projectId: ctx.projectId, ...input })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { run: inserted, created: true };
  const [existing] = await ctx.db
    .select()
    .from(trainingRuns)
    .where(and(eq(trainingRuns.projectId, ctx.projectId), eq(trainingRuns.requestId, input.requestId)));
  if (!existing) throw new ShepherdError('conflict', `workflow id ${input.workflowId} is already in use`);
  if (existing.modelId !== input.modelId) {
    throw new ShepherdError('conflict', `request id '${input.requestId}' was already used for another model`);
  }
  return { run: existing, created: false };
}

export async function updateTrainingRun(
  ctx: RegistryContext,
  workflowId: string,
  patch: Partial<{
    state: TrainingRunState;
    step: string;
    trainingSetId: string;
    mlflowRunId: string;
    versionId: string;
    failureReason: string | null;
  }>,
): Promise<void> {
  await ctx.db
    .update(trainingRuns)
    .set(patch)
    .where(and(eq(trainingRuns.projectId, ctx.projectId), eq(trainingRuns.workflowId, workflowId)));
}

export async function getTrainingRun(ctx: RegistryContext, id: string): Promise<TrainingRun> {
  const [run] = await ctx.db
    .select()
    .from(trainingRuns)
    .where(and(eq(trainingRuns.projectId, ctx.projectId), eq(trainingRuns.id, id)));
  if (!run) throw new ShepherdError('not_found', `training run ${id} does not exist`);
  return run;
}

export async function listTrainingRuns(ctx: RegistryContext, modelId: string): Promise<TrainingRun[]> {
  return ctx.db
    .select()
    .from(trainingRuns)
    .where(and(eq(trainingRuns.projectId, ctx.projectId), eq(trainingRuns.modelId, modelId)))
    .orderBy(desc(trainingRuns.createdAt));
}

export async function saveTrainingSet(
  ctx: RegistryContext,
  input: Omit<NewTrainingSet, 'projectId' | 'id' | 'createdAt'>,
): Promise<TrainingSet> {
  const [inserted] = await ctx.db
    .insert(trainingSets)
    .values({ projectId: ctx.projectId, ...input })
    .onConflictDoNothing()
    .returning();
  if (inserted) return inserted;
  const [existing] = await ctx.db
    .select()
    .from(trainingSets)
    .where(and(eq(trainingSets.projectId, ctx.projectId), eq(trainingSets.requestId, input.requestId)));
  return existing!;
}

export async function getTrainingSet(ctx: RegistryContext, id: string): Promise<TrainingSet> {
  const [set] = await ctx.db
    .select()
    .from(trainingSets)
    .where(and(eq(trainingSets.projectId, ctx.projectId), eq(trainingSets.id, id)));
  if (!set) throw new ShepherdError('not_found', `training set ${id} does not exist`);
  return set;
}
