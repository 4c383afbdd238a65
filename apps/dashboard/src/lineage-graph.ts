import type { LineageKind, LineageView } from './api.ts';

export interface GraphNode {
  key: string;
  kind: LineageKind;
  id: string;
}

export interface GraphEdge {
  key: string;
  from: string;
  to: string;
  relation: string;
}

export interface Graph {
  root: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const nodeKey = (node: { kind: string; id: string }) => `${node.kind}:${node.id}`;

/** The upstream and downstream walks from one root, as one graph (a node or edge seen twice counts once). */
export function mergeLineage(...views: LineageView[]): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  for (const view of views) {
    for (const node of [view.root, ...view.nodes]) nodes.set(nodeKey(node), { key: nodeKey(node), ...node });
    for (const edge of view.edges) {
      const from = nodeKey(edge.from);
      const to = nodeKey(edge.to);
      nodes.set(from, { key: from, ...edge.from });
      nodes.set(to, { key: to, ...edge.to });
      const key = `${from}->${to}:${edge.relation}`;
      edges.set(key, { key, from, to, relation: edge.relation });
    }
  }
  const root = views[0] ? nodeKey(views[0].root) : '';
  return { root, nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** Every node reachable from `start` against (upstream) or along (downstream) the edges, `start` excluded. */
export function reachable(graph: Graph, start: string, direction: 'upstream' | 'downstream'): Set<string> {
  const next = new Map<string, string[]>();
  for (const edge of graph.edges) {
    const [a, b] = direction === 'upstream' ? [edge.to, edge.from] : [edge.from, edge.to];
    next.set(a, [...(next.get(a) ?? []), b]);
  }
  const seen = new Set<string>();
  const stack = [start];
  for (let current = stack.pop(); current !== undefined; current = stack.pop()) {
    for (const neighbour of next.get(current) ?? []) {
      if (neighbour !== start && !seen.has(neighbour)) {
        seen.add(neighbour);
        stack.push(neighbour);
      }
    }
  }
  return seen;
}

export interface Highlight {
  upstream: Set<string>;
  downstream: Set<string>;
  /** Edges on a path through the selected node. */
  edges: Set<string>;
}

export function highlight(graph: Graph, selected: string): Highlight {
  const upstream = reachable(graph, selected, 'upstream');
  const downstream = reachable(graph, selected, 'downstream');
  const lineage = new Set([selected, ...upstream, ...downstream]);
  const edges = new Set(
    graph.edges
      .filter(
        (edge) =>
          lineage.has(edge.from) &&
          lineage.has(edge.to) &&
          // An edge between two ancestors, two descendants, or touching the selection: not a side branch.
          ((upstream.has(edge.from) && (upstream.has(edge.to) || edge.to === selected)) ||
            (downstream.has(edge.to) && (downstream.has(edge.from) || edge.from === selected))),
      )
      .map((edge) => edge.key),
  );
  return { upstream, downstream, edges };
}

export const kindLabels: Record<LineageKind, string> = {
  topic_range: 'Kafka offsets',
  feature_view: 'Feature view',
  training_set: 'Training set',
  run: 'Run',
  model_version: 'Model version',
  deployment: 'Deployment',
  alert: 'Alert',
};

/** Ids are uuids or long hashes: the start is enough to tell them apart on a graph. */
export function shortId(id: string): string {
  return id.length > 20 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

/** Offsets as people count them: `to` is exclusive, so the last offset read is `to - 1`. */
export function describeOffsets(range: { partition: number; from: string; to: string }): string {
  const from = BigInt(range.from);
  const to = BigInt(range.to);
  if (to <= from) return `partition ${range.partition}: none`;
  return `partition ${range.partition}: offsets ${from} – ${to - 1n} (${(to - from).toLocaleString()} messages)`;
}
