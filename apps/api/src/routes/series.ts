import { z } from 'zod';
import { featureHistogramView } from '@shepherd/contracts/drift';
import { slug } from '@shepherd/contracts/registry';
import { endpointName, sloSeriesView } from '@shepherd/contracts/serving';
import { featureHistogram } from '@shepherd/registry/drift-series';
import { getEndpoint } from '@shepherd/registry/endpoints';
import { maxSeriesPoints, sloSeries } from '@shepherd/registry/slo-series';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, type RouteDeps } from './context.ts';

/**
 * Time series for charts: an endpoint's SLOs per time bucket (totals and per version), and one
 * feature's reference vs current histogram of a drift window.
 */

const endpointParams = z.object({ project: slug, endpoint: endpointName });

const unitSeconds = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/**
 * `90s`, `15m`, `6h`, `7d`: at most seven digits of seconds, six of minutes, five of hours or four
 * of days, so every duration the pattern takes is one the API answers (no separate limit to trip on).
 */
const duration = z.string().regex(/^([1-9][0-9]{0,6}s|[1-9][0-9]{0,5}m|[1-9][0-9]{0,4}h|[1-9][0-9]{0,3}d)$/, {
  message: 'must be a duration such as 90s, 15m, 6h or 7d',
});
const seconds = (text: string) =>
  Number(text.slice(0, -1)) * unitSeconds[text.slice(-1) as keyof typeof unitSeconds];

export function seriesRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints/:endpoint/slo/series',
      operationId: 'getEndpointSloSeries',
      permission: 'read',
      summary: `SLOs over time: latency p50/p95/p99, error rate, throughput and burn rates per time bucket, for the endpoint and per version (at most ${maxSeriesPoints} points; a finer step is widened)`,
      tag: 'serving',
      params: endpointParams,
      query: z.object({
        window: duration.default('1h'),
        /** Default: a sixtieth of the window, at least a second. */
        step: duration.optional(),
      }),
      response: sloSeriesView,
      handler: async ({ params, query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const windowSeconds = seconds(query.window);
        const series = await sloSeries(ctx.db, ctx.projectId, endpoint.id, endpoint.slo, {
          windowSeconds,
          stepSeconds: query.step ? seconds(query.step) : Math.max(1, Math.ceil(windowSeconds / 60)),
        });
        return { endpoint: endpoint.name, ...series };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/endpoints/:endpoint/drift/histogram',
      operationId: 'getDriftHistogram',
      permission: 'read',
      summary:
        "One feature's histogram in the champion's training profile against a drift window's predictions, on the same bins (default the newest window that judged predictions)",
      tag: 'drift',
      params: endpointParams,
      query: z.object({
        feature: z.string().min(1).max(200),
        report: z.uuid().optional(),
      }),
      response: featureHistogramView,
      handler: async ({ params, query, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const endpoint = await getEndpoint(ctx, params.endpoint);
        const histogram = await featureHistogram(ctx, endpoint.id, query.feature, { reportId: query.report });
        return { endpoint: endpoint.name, ...histogram };
      },
    }),
  ];
}
