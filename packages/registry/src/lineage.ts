import { and, eq, or, type SQL } from 'drizzle-orm';
import { lineageEdges, type LineageEdge, type LineageNodeKind } from '@shepherd/db/schema';
import type { Database } from '@shepherd/db/client';
import type { RegistryContext } from './context.ts';

export interface LineageNode {
  kind: LineageNodeKind;
  id: string;
}

export interface NewEdge {
  from: LineageNode;
  to: LineageNode;
  relation: string;
  metadata?: Record<string, unknown>;
}

/** Idempotent: recording an edge twice (a retried activity) leaves one edge. */
export async function addEdges(db: Database, projectId: string, edges: NewEdge[]): Promise<void> {
  if (edges.length === 0) return;
  await db
    .insert(lineageEdges)
    .values(
      edges.map((edge) => ({
        projectId,
        fromKind: edge.from.kind,
        fromId: edge.from.id,
        toKind: edge.to.kind,
        toId: edge.to.id,
        relation: edge.relation,
        metadata: edge.metadata ?? {},
      })),
    )
    .onConflictDoNothing();
}

export type Direction = 'upstream' | 'downstream';

export interface LineageGraph {
  root: LineageNode;
  direction: Direction;
  nodes: LineageNode[];
  edges: Pick<LineageEdge, 'fromKind' | 'fromId' | 'toKind' | 'toId' | 'relation' | 'metadata'>[];
}

/**
 * Walks the graph breadth-first from a node: upstream answers "where did this come from",
 * downstream "what depends on this". One query per level; depth is bounded.
 */
export async function walkLineage(
  ctx: RegistryContext,
  root: LineageNode,
  direction: Direction,
  maxDepth = 10,
): Promise<LineageGraph> {
  const seen = new Map<string, LineageNode>([[key(root), root]]);
  const edges: LineageGraph['edges'] = [];
  const edgeKeys = new Set<string>();
  let frontier = [root];
  for (let depth = 0; depth < maxDepth && frontier.length > 0; depth += 1) {
    const matchers: SQL[] = frontier.map((node) =>
      direction === 'upstream'
        ? and(eq(lineageEdges.toKind, node.kind), eq(lineageEdges.toId, node.id))!
        : and(eq(lineageEdges.fromKind, node.kind), eq(lineageEdges.fromId, node.id))!,
    );
    const rows = await ctx.db
      .select()
      .from(lineageEdges)
      .where(and(eq(lineageEdges.projectId, ctx.projectId), or(...matchers)));
    const next: LineageNode[] = [];
    for (const row of rows) {
      const edgeKey = `${row.fromKind}:${row.fromId}->${row.toKind}:${row.toId}:${row.relation}`;
      if (!edgeKeys.has(edgeKey)) {
        edgeKeys.add(edgeKey);
        edges.push({
          fromKind: row.fromKind,
          fromId: row.fromId,
          toKind: row.toKind,
          toId: row.toId,
          relation: row.relation,
          metadata: row.metadata,
        });
      }
      const neighbour: LineageNode =
        direction === 'upstream'
          ? { kind: row.fromKind, id: row.fromId }
          : { kind: row.toKind, id: row.toId };
      if (!seen.has(key(neighbour))) {
        seen.set(key(neighbour), neighbour);
        next.push(neighbour);
      }
    }
    frontier = next;
  }
  return { root, direction, nodes: [...seen.values()], edges };
}

const key = (node: LineageNode) => `${node.kind}:${node.id}`;
