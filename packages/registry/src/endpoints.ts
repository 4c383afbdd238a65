import { and, asc, eq, inArray } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { endpoints, models, modelVersions, type Endpoint } from '@shepherd/db/schema';
import {
  sloObjectives,
  type CreateEndpointBody,
  type EndpointConfig,
  type EndpointMode,
} from '@shepherd/contracts/serving';
import { resolveAlias } from './aliases.ts';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';
import { getModel, getModelById } from './models.ts';
import { getVersion } from './versions.ts';

/** An endpoint serves a version that passed its gates, never one still being judged or rejected. */
const servableStates = new Set(['validated', 'canary', 'production', 'archived']);

export async function createEndpoint(ctx: RegistryContext, body: CreateEndpointBody): Promise<Endpoint> {
  const model = await getModel(ctx, body.model);
  const version =
    body.version !== undefined
      ? await getVersion(ctx, model.id, body.version)
      : await resolveAlias(ctx, model.id, 'champion');
  if (!version) {
    throw new ShepherdError(
      'conflict',
      `model ${model.name} has no champion yet: name the version the endpoint should serve`,
    );
  }
  if (!servableStates.has(version.state)) {
    throw new ShepherdError(
      'conflict',
      `version ${version.version} is ${version.state} and cannot be served`,
    );
  }
  return ctx.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(endpoints)
      .values({
        projectId: ctx.projectId,
        name: body.name,
        modelId: model.id,
        championVersionId: version.id,
        featureViewName: body.featureView?.name ?? null,
        featureViewVersion: body.featureView?.version ?? null,
        slo: sloObjectives.parse(body.slo ?? {}),
      })
      .onConflictDoNothing()
      .returning();
    if (!created) throw new ShepherdError('conflict', `endpoint ${body.name} already exists`);
    await recordAudit(tx, ctx, {
      action: 'endpoint.created',
      subjectKind: 'endpoint',
      subjectId: created.id,
      after: { name: created.name, model: model.name, champion: version.version },
    });
    return created;
  });
}

export async function getEndpoint(ctx: RegistryContext, name: string): Promise<Endpoint> {
  const [row] = await ctx.db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.projectId, ctx.projectId), eq(endpoints.name, name)));
  if (!row) throw new ShepherdError('not_found', `endpoint ${name} does not exist`);
  return row;
}

export async function getEndpointById(ctx: RegistryContext, id: string): Promise<Endpoint> {
  const [row] = await ctx.db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.projectId, ctx.projectId), eq(endpoints.id, id)));
  if (!row) throw new ShepherdError('not_found', `endpoint ${id} does not exist`);
  return row;
}

export async function listEndpoints(ctx: RegistryContext): Promise<Endpoint[]> {
  return ctx.db
    .select()
    .from(endpoints)
    .where(eq(endpoints.projectId, ctx.projectId))
    .orderBy(asc(endpoints.name));
}

export interface TrafficChange {
  championVersionId?: string | null;
  candidateVersionId?: string | null;
  candidateWeight?: number;
  mode?: EndpointMode;
  /** Why, for the audit log: e.g. `rollout step 2`, `rollback: latency`. */
  reason: string;
}

/**
 * Changes who serves what on an endpoint; gateways see it within a poll interval. Setting the
 * same split again writes nothing, so a retried workflow step leaves one audit entry.
 */
export async function setTraffic(
  ctx: RegistryContext,
  endpointId: string,
  change: TrafficChange,
): Promise<Endpoint> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(endpoints)
      .where(and(eq(endpoints.projectId, ctx.projectId), eq(endpoints.id, endpointId)))
      .for('update');
    if (!current) throw new ShepherdError('not_found', `endpoint ${endpointId} does not exist`);
    const next = {
      championVersionId:
        change.championVersionId !== undefined ? change.championVersionId : current.championVersionId,
      candidateVersionId:
        change.candidateVersionId !== undefined ? change.candidateVersionId : current.candidateVersionId,
      candidateWeight: change.candidateWeight ?? current.candidateWeight,
      mode: change.mode ?? current.mode,
    };
    if (next.candidateVersionId === null) next.candidateWeight = 0;
    const unchanged =
      next.championVersionId === current.championVersionId &&
      next.candidateVersionId === current.candidateVersionId &&
      next.candidateWeight === current.candidateWeight &&
      next.mode === current.mode;
    if (unchanged) return current;
    const [updated] = await tx.update(endpoints).set(next).where(eq(endpoints.id, endpointId)).returning();
    await recordAudit(tx, ctx, {
      action: 'endpoint.traffic_changed',
      subjectKind: 'endpoint',
      subjectId: endpointId,
      before: {
        championVersionId: current.championVersionId,
        candidateVersionId: current.candidateVersionId,
        candidateWeight: current.candidateWeight,
        mode: current.mode,
      },
      after: { ...next, reason: change.reason },
    });
    return updated!;
  });
}

/** The routing view of endpoints (contracts `EndpointConfig`): what the API shows and gateways route by. */
export async function endpointConfigs(db: Database, rows: readonly Endpoint[]): Promise<EndpointConfig[]> {
  const versionIds = [
    ...new Set(
      rows.flatMap((row) => [row.championVersionId, row.candidateVersionId]).filter((id) => id !== null),
    ),
  ];
  const modelIds = [...new Set(rows.map((row) => row.modelId))];
  const versionRows =
    versionIds.length === 0
      ? []
      : await db
          .select({ id: modelVersions.id, version: modelVersions.version })
          .from(modelVersions)
          .where(inArray(modelVersions.id, versionIds));
  const modelRows =
    modelIds.length === 0
      ? []
      : await db
          .select({ id: models.id, name: models.name, task: models.task })
          .from(models)
          .where(inArray(models.id, modelIds));
  const versionNumber = new Map(versionRows.map((row) => [row.id, row.version]));
  const modelById = new Map(modelRows.map((row) => [row.id, row]));
  const ref = (id: string | null) =>
    id === null ? null : { versionId: id, version: versionNumber.get(id) ?? 0 };
  return rows.map((row) => ({
    id: row.id,
    projectId: row.projectId,
    name: row.name,
    modelId: row.modelId,
    modelName: modelById.get(row.modelId)?.name ?? '',
    task: modelById.get(row.modelId)?.task ?? 'binary_classification',
    revision: row.revision,
    mode: row.mode,
    champion: ref(row.championVersionId),
    candidate: ref(row.candidateVersionId),
    candidateWeight: row.candidateWeight,
    featureView: row.featureViewName
      ? { name: row.featureViewName, version: row.featureViewVersion ?? null }
      : null,
    slo: row.slo,
    updatedAt: row.updatedAt.toISOString(),
  }));
}

export async function endpointConfig(ctx: RegistryContext, name: string): Promise<EndpointConfig> {
  const [config] = await endpointConfigs(ctx.db, [await getEndpoint(ctx, name)]);
  return config!;
}

/** The model an endpoint serves, for callers that only hold the endpoint. */
export const endpointModel = (ctx: RegistryContext, endpoint: Endpoint) =>
  getModelById(ctx, endpoint.modelId);
