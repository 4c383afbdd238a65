import { z } from 'zod';
import {
  compareView,
  createModelBody,
  lineageNodeKind,
  lineageView,
  modelName,
  modelView as modelViewSchema,
  rejectBody,
  setAliasBody,
  updateVersionBody,
  slug,
  versionView as versionViewSchema,
} from '@shepherd/contracts/registry';
import { ShepherdError } from '@shepherd/core/errors';
import type { Model } from '@shepherd/db/schema';
import { aliasName, getAliases, promote, removeAlias, setAlias } from '@shepherd/registry/aliases';
import type { RegistryContext } from '@shepherd/registry/context';
import { walkLineage } from '@shepherd/registry/lineage';
import { mirrorAliases } from '@shepherd/registry/mlflow-mirror';
import { createModel, getModel, listModels } from '@shepherd/registry/models';
import {
  getVersion,
  listVersions,
  transitionVersion,
  updateVersionMetadata,
} from '@shepherd/registry/versions';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, type RouteDeps } from './context.ts';
import { modelView, versionView } from './views.ts';

/** Version numbers are PostgreSQL integers: a larger one is the caller's mistake, not a 500. */
const maxVersion = 2_147_483_647;
const versionNumber = z.number().int().positive().max(maxVersion);
const versionInUrl = z.coerce.number().int().positive().max(maxVersion);
const projectParams = z.object({ project: slug });
const modelParams = projectParams.extend({ model: modelName });
const versionParams = modelParams.extend({ version: versionInUrl });
const aliasParams = modelParams.extend({
  alias: z.string().regex(aliasName, { message: "must be lowercase letters, digits, '-' or '_'" }),
});

/** alias → version number, for views; versions referenced by aliases are few. */
async function aliasNumbers(ctx: RegistryContext, model: Model): Promise<Record<string, number>> {
  const aliases = await getAliases(ctx, model.id);
  const versions = await listVersions(ctx, model.id);
  const numberOf = new Map(versions.map((version) => [version.id, version.version]));
  return Object.fromEntries(Object.entries(aliases).map(([alias, id]) => [alias, numberOf.get(id) ?? 0]));
}

const aliasesOf = (numbers: Record<string, number>, version: number) =>
  Object.entries(numbers)
    .filter(([, number]) => number === version)
    .map(([alias]) => alias)
    .sort();

/** Shepherd owns aliases; MLflow's registry follows (by the MLflow version recorded on each version). */
async function mirrorModelAliases(deps: RouteDeps, ctx: RegistryContext, model: Model): Promise<void> {
  if (!deps.mlflow) return;
  const aliases = await getAliases(ctx, model.id);
  const versions = await listVersions(ctx, model.id);
  const mlflowVersionOf = new Map(versions.map((version) => [version.id, version.tags['mlflow.version']]));
  const wanted: Record<string, string | undefined> = {};
  for (const alias of ['champion', 'challenger']) {
    const id = aliases[alias];
    wanted[alias] = id ? mlflowVersionOf.get(id) : undefined;
  }
  await mirrorAliases(deps.mlflow, model.name, wanted);
}

export function modelRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/models',
      operationId: 'listModels',
      permission: 'read',
      summary: 'List the models of a project',
      tag: 'models',
      params: projectParams,
      response: z.object({ models: z.array(modelViewSchema) }),
      handler: async ({ principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const models = await listModels(ctx);
        return {
          models: await Promise.all(
            models.map(async (model) => modelView(model, await aliasNumbers(ctx, model))),
          ),
        };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/models',
      operationId: 'createModel',
      permission: 'write',
      summary: 'Create a model',
      tag: 'models',
      params: projectParams,
      body: createModelBody,
      response: modelViewSchema,
      status: 201,
      errors: ['conflict'],
      creates: { param: 'model', field: 'name' },
      handler: async ({ body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        return modelView(await createModel(ctx, body), {});
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/models/:model',
      operationId: 'getModel',
      permission: 'read',
      summary: 'Get a model with its aliases',
      tag: 'models',
      params: modelParams,
      response: modelViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        return modelView(model, await aliasNumbers(ctx, model));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/models/:model/versions',
      operationId: 'listVersions',
      permission: 'read',
      summary: 'List the versions of a model, newest first',
      tag: 'versions',
      params: modelParams,
      response: z.object({ versions: z.array(versionViewSchema) }),
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const numbers = await aliasNumbers(ctx, model);
        const versions = await listVersions(ctx, model.id);
        return {
          versions: versions.map((version) =>
            versionView(model, version, aliasesOf(numbers, version.version)),
          ),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/models/:model/versions/:version',
      operationId: 'getVersion',
      permission: 'read',
      summary: 'Get one version: metrics, evaluation report, artifact',
      tag: 'versions',
      params: versionParams,
      response: versionViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const version = await getVersion(ctx, model.id, params.version);
        return versionView(model, version, aliasesOf(await aliasNumbers(ctx, model), version.version));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/models/:model/compare',
      operationId: 'compareVersions',
      permission: 'read',
      summary: 'Compare the holdout metrics of two versions',
      tag: 'versions',
      params: modelParams,
      query: z.object({
        base: versionInUrl,
        candidate: versionInUrl,
      }),
      response: compareView,
      handler: async ({ params, query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const base = await getVersion(ctx, model.id, query.base);
        const candidate = await getVersion(ctx, model.id, query.candidate);
        const names = [...new Set([...Object.keys(base.metrics), ...Object.keys(candidate.metrics)])].sort();
        return {
          model: model.name,
          base: base.version,
          candidate: candidate.version,
          metrics: names.map((metric) => {
            const a = base.metrics[metric] ?? null;
            const b = candidate.metrics[metric] ?? null;
            const absoluteChange = a !== null && b !== null ? b - a : null;
            const relativeChange =
              absoluteChange !== null && a !== null && a !== 0 ? absoluteChange / Math.abs(a) : null;
            return { metric, base: a, candidate: b, absoluteChange, relativeChange };
          }),
        };
      },
    }),
    route({
      method: 'PUT',
      url: '/v1/projects/:project/models/:model/aliases/:alias',
      operationId: 'setAlias',
      permission: 'write',
      summary: 'Point an alias (e.g. challenger) at a version; champion moves by approval',
      tag: 'versions',
      params: aliasParams,
      body: setAliasBody.extend({ version: versionNumber }),
      errors: ['conflict', 'upstream_unavailable'],
      response: modelViewSchema,
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const version = await getVersion(ctx, model.id, body.version);
        await setAlias(ctx, model.id, params.alias, version.id);
        await mirrorModelAliases(deps, ctx, model);
        return modelView(model, await aliasNumbers(ctx, model));
      },
    }),
    route({
      method: 'DELETE',
      url: '/v1/projects/:project/models/:model/aliases/:alias',
      operationId: 'removeAlias',
      permission: 'write',
      summary: 'Remove an alias',
      tag: 'versions',
      params: aliasParams,
      response: modelViewSchema,
      errors: ['upstream_unavailable'],
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        if (params.alias === 'champion') {
          throw new ShepherdError(
            'bad_request',
            'the champion alias cannot be removed, only replaced by approving another version',
          );
        }
        await removeAlias(ctx, model.id, params.alias);
        await mirrorModelAliases(deps, ctx, model);
        return modelView(model, await aliasNumbers(ctx, model));
      },
    }),
    route({
      method: 'PATCH',
      url: '/v1/projects/:project/models/:model/versions/:version',
      operationId: 'updateVersion',
      permission: 'write',
      summary: "Change a version's description or tags",
      tag: 'versions',
      params: versionParams,
      body: updateVersionBody,
      response: versionViewSchema,
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const version = await getVersion(ctx, model.id, params.version);
        const tags = { ...version.tags };
        for (const [key, value] of Object.entries(body.tags ?? {})) {
          if (value === null) delete tags[key];
          else tags[key] = value;
        }
        const updated = await updateVersionMetadata(ctx, version.id, {
          tags,
          ...(body.description !== undefined ? { description: body.description } : {}),
        });
        return versionView(model, updated, aliasesOf(await aliasNumbers(ctx, model), updated.version));
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/models/:model/versions/:version/approve',
      operationId: 'approveVersion',
      permission: 'approve',
      summary: 'Approve a validated version: it becomes champion, the previous champion is archived',
      tag: 'versions',
      params: versionParams,
      response: versionViewSchema,
      errors: ['conflict', 'upstream_unavailable'],
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const version = await getVersion(ctx, model.id, params.version);
        const { champion } = await promote(ctx, model.id, version.id);
        await mirrorModelAliases(deps, ctx, model);
        return versionView(model, champion, aliasesOf(await aliasNumbers(ctx, model), champion.version));
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/models/:model/versions/:version/reject',
      operationId: 'rejectVersion',
      permission: 'approve',
      summary: 'Reject a validated version with a reason',
      tag: 'versions',
      params: versionParams,
      body: rejectBody,
      response: versionViewSchema,
      errors: ['conflict', 'upstream_unavailable'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const version = await getVersion(ctx, model.id, params.version);
        const aliases = await getAliases(ctx, model.id);
        if (aliases.champion === version.id) {
          throw new ShepherdError(
            'conflict',
            `version ${version.version} is the champion; approve another version first`,
          );
        }
        const rejected = await transitionVersion(ctx, version.id, 'rejected', {
          failureReason: `rejected by reviewer: ${body.reason}`,
        });
        if (aliases.challenger === version.id) await removeAlias(ctx, model.id, 'challenger');
        await mirrorModelAliases(deps, ctx, model);
        return versionView(model, rejected, []);
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/lineage/:kind/:id',
      operationId: 'getLineage',
      permission: 'read',
      summary: 'Where a node came from (upstream) or what depends on it (downstream)',
      tag: 'lineage',
      params: projectParams.extend({
        kind: lineageNodeKind,
        // Node ids are ours (uuids, run ids, topic and view names); 100 is Fastify's limit on a path segment.
        id: z.string().regex(/^[\x21-\x7e]{1,100}$/, { message: 'must be 1-100 printable ASCII characters' }),
      }),
      query: z.object({
        direction: z.enum(['upstream', 'downstream']).default('upstream'),
        depth: z.coerce.number().int().min(1).max(20).default(10),
      }),
      response: lineageView,
      handler: async ({ params, query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const graph = await walkLineage(
          ctx,
          { kind: params.kind, id: params.id },
          query.direction,
          query.depth,
        );
        return {
          root: graph.root,
          direction: graph.direction,
          nodes: graph.nodes,
          edges: graph.edges.map((edge) => ({
            from: { kind: edge.fromKind, id: edge.fromId },
            to: { kind: edge.toKind, id: edge.toId },
            relation: edge.relation,
          })),
        };
      },
    }),
  ];
}
