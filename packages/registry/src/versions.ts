import { and, desc, eq, max } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import { isUniqueViolation } from '@shepherd/db/errors';
import { modelVersions, type ModelVersion, type ModelVersionState } from '@shepherd/db/schema';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';

/** The lifecycle of a version. Anything not listed here is refused with a 409. */
const transitions: Record<ModelVersionState, readonly ModelVersionState[]> = {
  registered: ['validating', 'failed'],
  validating: ['validated', 'rejected', 'failed'],
  validated: ['canary', 'production', 'archived', 'rejected'],
  canary: ['production', 'rolled_back', 'validated'],
  production: ['archived', 'rolled_back'],
  archived: ['production'],
  rolled_back: ['archived'],
  rejected: [],
  failed: [],
};

export function canTransition(from: ModelVersionState, to: ModelVersionState): boolean {
  return transitions[from].includes(to);
}

export interface RegisterVersionInput {
  modelId: string;
  artifactUri: string;
  artifactSha256: string;
  state?: ModelVersionState;
  mlflowRunId?: string | null;
  trainingSetId?: string | null;
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
  description?: string | null;
  /** Idempotency key: registering twice with the same request id returns the first version. */
  requestId: string;
}

/**
 * Allocates the next version number and inserts the version. A retried call with the same
 * request id returns the version it created the first time, so a retried activity registers once.
 */
export async function registerVersion(
  ctx: RegistryContext,
  input: RegisterVersionInput,
): Promise<ModelVersion> {
  const existing = await findVersionByRequest(ctx, input.requestId);
  if (existing) return existing;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      return await ctx.db.transaction(async (tx) => {
        const [row] = await tx
          .select({ latest: max(modelVersions.version) })
          .from(modelVersions)
          .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.modelId, input.modelId)));
        const [version] = await tx
          .insert(modelVersions)
          .values({
            projectId: ctx.projectId,
            modelId: input.modelId,
            version: (row?.latest ?? 0) + 1,
            state: input.state ?? 'registered',
            artifactUri: input.artifactUri,
            artifactSha256: input.artifactSha256,
            mlflowRunId: input.mlflowRunId ?? null,
            trainingSetId: input.trainingSetId ?? null,
            metrics: input.metrics ?? {},
            tags: input.tags ?? {},
            description: input.description ?? null,
            requestId: input.requestId,
          })
          .returning();
        await recordAudit(tx, ctx, {
          action: 'version.registered',
          subjectKind: 'model_version',
          subjectId: version!.id,
          after: version,
        });
        return version!;
      });
    } catch (err) {
      if (isUniqueViolation(err, 'model_versions_project_request_unique')) {
        const first = await findVersionByRequest(ctx, input.requestId);
        if (first) return first;
      }
      // Two registrations raced for the same number: take the next one.
      if (isUniqueViolation(err, 'model_versions_model_version_unique')) continue;
      throw err;
    }
  }
  throw new ShepherdError(
    'conflict',
    'could not allocate a version number; too many concurrent registrations',
  );
}

export async function findVersionByRequest(
  ctx: RegistryContext,
  requestId: string,
): Promise<ModelVersion | undefined> {
  const [version] = await ctx.db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.requestId, requestId)));
  return version;
}

export async function getVersionById(ctx: RegistryContext, id: string): Promise<ModelVersion> {
  const [version] = await ctx.db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.id, id)));
  if (!version) throw new ShepherdError('not_found', `model version ${id} does not exist`);
  return version;
}

export async function getVersion(
  ctx: RegistryContext,
  modelId: string,
  version: number,
): Promise<ModelVersion> {
  const [row] = await ctx.db
    .select()
    .from(modelVersions)
    .where(
      and(
        eq(modelVersions.projectId, ctx.projectId),
        eq(modelVersions.modelId, modelId),
        eq(modelVersions.version, version),
      ),
    );
  if (!row) throw new ShepherdError('not_found', `version ${version} does not exist`);
  return row;
}

export async function listVersions(ctx: RegistryContext, modelId: string): Promise<ModelVersion[]> {
  return ctx.db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.modelId, modelId)))
    .orderBy(desc(modelVersions.version));
}

export type VersionPatch = Partial<
  Pick<ModelVersion, 'metrics' | 'evaluation' | 'referenceProfile' | 'failureReason' | 'tags' | 'description'>
>;

/** Moves a version along its lifecycle; refuses moves the lifecycle does not allow. */
export async function transitionVersion(
  ctx: RegistryContext,
  versionId: string,
  to: ModelVersionState,
  patch: VersionPatch = {},
): Promise<ModelVersion> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(modelVersions)
      .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.id, versionId)))
      .for('update');
    if (!current) throw new ShepherdError('not_found', `model version ${versionId} does not exist`);
    if (current.state === to) return current;
    if (!canTransition(current.state, to)) {
      throw new ShepherdError(
        'conflict',
        `version ${current.version} is ${current.state} and cannot become ${to}`,
      );
    }
    const [updated] = await tx
      .update(modelVersions)
      .set({ state: to, ...patch })
      .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.id, versionId)))
      .returning();
    await recordAudit(tx, ctx, {
      action: `version.${to}`,
      subjectKind: 'model_version',
      subjectId: versionId,
      before: { state: current.state },
      after: { state: to, ...patch },
    });
    return updated!;
  });
}

/** Stores evaluation results and metadata on a version without moving its state. */
export async function annotateVersion(
  ctx: RegistryContext,
  versionId: string,
  patch: VersionPatch,
): Promise<ModelVersion> {
  const [updated] = await ctx.db
    .update(modelVersions)
    .set(patch)
    .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.id, versionId)))
    .returning();
  if (!updated) throw new ShepherdError('not_found', `model version ${versionId} does not exist`);
  return updated;
}

/** A person's edit of description or tags, audited with before and after. */
export async function updateVersionMetadata(
  ctx: RegistryContext,
  versionId: string,
  patch: Pick<VersionPatch, 'description' | 'tags'>,
): Promise<ModelVersion> {
  return ctx.db.transaction(async (tx) => {
    const before = await getVersionById({ ...ctx, db: tx }, versionId);
    const updated = await annotateVersion({ ...ctx, db: tx }, versionId, patch);
    await recordAudit(tx, ctx, {
      action: 'version.updated',
      subjectKind: 'model_version',
      subjectId: versionId,
      before: { description: before.description, tags: before.tags },
      after: { description: updated.description, tags: updated.tags },
    });
    return updated;
  });
}
