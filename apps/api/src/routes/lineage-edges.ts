import { z } from 'zod';
import { lineageNodeKind, slug } from '@shepherd/contracts/registry';
import { walkLineage } from '@shepherd/registry/lineage';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, type RouteDeps } from './context.ts';

const node = z.object({ kind: lineageNodeKind, id: z.string() });

export const lineageEdgesView = z.object({
  node,
  /** Every edge into or out of the node, with what its writer recorded on it. */
  edges: z.array(
    z.object({
      from: node,
      to: node,
      relation: z.string(),
      /**
       * E.g. on an edge from Kafka offsets: `topic`, `offsets` (`[{ partition, from, to }]`, `to`
       * exclusive, as decimal strings) and `rows`; on a view's edge to a training set, `rowsMatched`.
       */
      metadata: z.record(z.string(), z.unknown()),
    }),
  ),
});

/**
 * One lineage node's own edges with their metadata: what a graph walk leaves out to stay small,
 * and what a node's details need (the offset ranges a training set read, say).
 */
export function lineageEdgeRoutes(deps: RouteDeps): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/v1/projects/:project/lineage/:kind/:id/edges',
      operationId: 'getLineageEdges',
      permission: 'read',
      summary:
        "A lineage node's edges in both directions with what was recorded on them (for Kafka offsets: topic, partitions, offset ranges, rows)",
      tag: 'lineage',
      params: z.object({
        project: slug,
        kind: lineageNodeKind,
        // As the lineage route: node ids are ours; 100 is Fastify's limit on a path segment.
        id: z.string().regex(/^[\x21-\x7e]{1,100}$/, { message: 'must be 1-100 printable ASCII characters' }),
      }),
      response: lineageEdgesView,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const root = { kind: params.kind, id: params.id };
        const [up, down] = await Promise.all([
          walkLineage(ctx, root, 'upstream', 1),
          walkLineage(ctx, root, 'downstream', 1),
        ]);
        return {
          node: root,
          edges: [...up.edges, ...down.edges].map((edge) => ({
            from: { kind: edge.fromKind, id: edge.fromId },
            to: { kind: edge.toKind, id: edge.toId },
            relation: edge.relation,
            metadata: edge.metadata,
          })),
        };
      },
    }),
  ];
}
