import { z } from 'zod';
import { featureViewSummary, onlineFeaturesResponse } from '@shepherd/contracts/features';
import { slug } from '@shepherd/contracts/registry';
import { getFeatureViewMetrics } from '@shepherd/features/metrics';
import { getOnlineFeatures, maxEntitiesPerLookup } from '@shepherd/features/online';
import { listFeatureViews } from '@shepherd/features/registry';
import { route, type RouteSpec } from '../route.ts';
import type { RouteDeps } from './context.ts';

const viewParams = z.object({
  project: slug,
  view: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, { message: 'must be a feature view name' }),
});

export function featureRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/feature-views',
      operationId: 'listFeatureViews',
      permission: 'read',
      summary: 'Feature views with ingestion metrics: events ingested, DLQ count, lag per partition',
      tag: 'features',
      params: z.object({ project: slug }),
      response: z.object({ views: z.array(featureViewSummary) }),
      handler: async ({ principal }) => {
        const views = await listFeatureViews(deps.db, principal.project.id);
        const admin = deps.kafka?.admin();
        await admin?.connect();
        try {
          // One view at a time: the metrics share one admin, whose lookups must not overlap.
          const out = [];
          for (const registered of views) {
            out.push({
              name: registered.view.name,
              version: registered.view.version,
              entityKey: registered.view.entityKey,
              sourceTopic: registered.view.sourceTopic,
              ttlSeconds: registered.view.ttlSeconds,
              features: registered.view.features.map((feature) => ({
                name: feature.name,
                type: feature.type,
              })),
              metrics: admin ? await getFeatureViewMetrics(deps.db, admin, registered) : null,
            });
          }
          return { views: out };
        } finally {
          await admin?.disconnect();
        }
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/feature-views/:view/online',
      operationId: 'getOnlineFeatures',
      permission: 'read',
      summary: 'Latest feature values for entities, with the age of each vector and a stale flag past TTL',
      tag: 'features',
      params: viewParams,
      query: z.object({
        /** Repeat the parameter for several entities: `?entity=a&entity=b`. */
        entity: z
          .union([z.string().min(1), z.array(z.string().min(1)).min(1).max(maxEntitiesPerLookup)])
          .transform((value) => (Array.isArray(value) ? value : [value])),
        version: z.coerce.number().int().positive().max(2_147_483_647).optional(),
      }),
      response: onlineFeaturesResponse,
      // The hot path (issue #10: p99 under 2 ms): getOnlineFeatures returns this shape, typed.
      trustedResponse: true,
      handler: async ({ params, query, principal }) => {
        return getOnlineFeatures(deps.db, principal.project.id, params.view, query.entity, {
          ...(query.version ? { version: query.version } : {}),
        });
      },
    }),
  ];
}
