import { and, eq } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { modelAliases, modelVersions, type ModelVersion } from '@shepherd/db/schema';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';
import { canTransition } from './versions.ts';

/** The row of one alias of one model, in the caller's project. */
const aliasKey = (ctx: RegistryContext, modelId: string, alias: string) =>
  and(
    eq(modelAliases.projectId, ctx.projectId),
    eq(modelAliases.modelId, modelId),
    eq(modelAliases.alias, alias),
  );

export const aliasName = /^[a-z][a-z0-9_-]{0,62}$/;

export async function getAliases(ctx: RegistryContext, modelId: string): Promise<Record<string, string>> {
  const rows = await ctx.db
    .select()
    .from(modelAliases)
    .where(and(eq(modelAliases.projectId, ctx.projectId), eq(modelAliases.modelId, modelId)));
  return Object.fromEntries(rows.map((row) => [row.alias, row.versionId]));
}

export async function resolveAlias(
  ctx: RegistryContext,
  modelId: string,
  alias: string,
): Promise<ModelVersion | undefined> {
  const [row] = await ctx.db
    .select({ version: modelVersions })
    .from(modelAliases)
    .innerJoin(modelVersions, eq(modelVersions.id, modelAliases.versionId))
    .where(aliasKey(ctx, modelId, alias));
  return row?.version;
}

async function moveAlias(
  tx: Database,
  ctx: RegistryContext,
  modelId: string,
  alias: string,
  versionId: string,
) {
  const [before] = await tx
    .select()
    .from(modelAliases)
    .where(aliasKey(ctx, modelId, alias));
  if (before?.versionId === versionId) return;
  await tx
    .insert(modelAliases)
    .values({ projectId: ctx.projectId, modelId, alias, versionId })
    .onConflictDoUpdate({
      target: [modelAliases.modelId, modelAliases.alias],
      set: { versionId, updatedAt: new Date() },
    });
  await recordAudit(tx, ctx, {
    action: 'alias.moved',
    subjectKind: 'model',
    subjectId: modelId,
    before: before ? { alias, versionId: before.versionId } : null,
    after: { alias, versionId },
  });
}

/** Points an alias at a version. `champion` goes through `promote`, which also moves states. */
export async function setAlias(
  ctx: RegistryContext,
  modelId: string,
  alias: string,
  versionId: string,
): Promise<void> {
  if (!aliasName.test(alias)) {
    throw new ShepherdError('bad_request', `alias '${alias}' must be lowercase letters, digits, '-' or '_'`);
  }
  if (alias === 'champion') {
    throw new ShepherdError(
      'bad_request',
      'the champion alias moves by promotion (approve), not by setting it',
    );
  }
  await ctx.db.transaction(async (tx) => {
    const version = await lockVersion(tx, ctx, modelId, versionId);
    if (version.state === 'rejected' || version.state === 'failed') {
      throw new ShepherdError(
        'conflict',
        `version ${version.version} is ${version.state}; an alias cannot point at it`,
      );
    }
    await moveAlias(tx, ctx, modelId, alias, versionId);
  });
}

export async function removeAlias(ctx: RegistryContext, modelId: string, alias: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const deleted = await tx
      .delete(modelAliases)
      .where(aliasKey(ctx, modelId, alias))
      .returning();
    if (deleted.length > 0) {
      await recordAudit(tx, ctx, {
        action: 'alias.removed',
        subjectKind: 'model',
        subjectId: modelId,
        before: { alias, versionId: deleted[0]!.versionId },
      });
    }
  });
}

export interface Promotion {
  champion: ModelVersion;
  previousChampion: ModelVersion | undefined;
}

/**
 * Makes a version the champion: it becomes `production`, the previous champion is `archived`
 * (kept as the rollback target), and a `challenger` alias on the promoted version is cleared.
 */
export async function promote(ctx: RegistryContext, modelId: string, versionId: string): Promise<Promotion> {
  return ctx.db.transaction(async (tx) => {
    const version = await lockVersion(tx, ctx, modelId, versionId);
    if (version.state !== 'production' && !canTransition(version.state, 'production')) {
      throw new ShepherdError(
        'conflict',
        `version ${version.version} is ${version.state} and cannot be promoted`,
      );
    }
    const previous = await resolveAlias({ ...ctx, db: tx }, modelId, 'champion');
    if (previous?.id === versionId) return { champion: version, previousChampion: undefined };

    const [champion] = await tx
      .update(modelVersions)
      .set({ state: 'production' })
      .where(eq(modelVersions.id, versionId))
      .returning();
    let archived: ModelVersion | undefined;
    if (previous && previous.state === 'production') {
      [archived] = await tx
        .update(modelVersions)
        .set({ state: 'archived' })
        .where(eq(modelVersions.id, previous.id))
        .returning();
    }
    await moveAlias(tx, ctx, modelId, 'champion', versionId);
    await tx
      .delete(modelAliases)
      .where(and(aliasKey(ctx, modelId, 'challenger'), eq(modelAliases.versionId, versionId)));
    await recordAudit(tx, ctx, {
      action: 'version.promoted',
      subjectKind: 'model_version',
      subjectId: versionId,
      before: { state: version.state, previousChampion: previous?.id ?? null },
      after: { state: 'production' },
    });
    return { champion: champion!, previousChampion: archived ?? previous };
  });
}

async function lockVersion(
  tx: Database,
  ctx: RegistryContext,
  modelId: string,
  versionId: string,
): Promise<ModelVersion> {
  const [version] = await tx
    .select()
    .from(modelVersions)
    .where(
      and(
        eq(modelVersions.projectId, ctx.projectId),
        eq(modelVersions.modelId, modelId),
        eq(modelVersions.id, versionId),
      ),
    )
    .for('update');
  if (!version) throw new ShepherdError('not_found', `version ${versionId} does not belong to this model`);
  return version;
}
