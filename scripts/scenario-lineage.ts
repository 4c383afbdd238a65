import type { LineageView } from '@shepherd/contracts/registry';
import type { ApiClient } from '../apps/cli/src/api-client.ts';

type Node = LineageView['nodes'][number];

const label = (node: Node) => `${node.kind} ${node.id}`;

/**
 * Where a version came from (Kafka offset ranges → feature view → training set → run → version)
 * and where it serves, as lines ordered from the sources down, for the demo's closing summary.
 */
export async function championLineage(
  api: ApiClient,
  versionId: string,
): Promise<{ nodes: string[]; topicRanges: string[]; lines: string[] }> {
  const path = (direction: 'upstream' | 'downstream') =>
    api.call<LineageView>('GET', `/lineage/model_version/${versionId}?direction=${direction}`);
  const upstream = await path('upstream');
  const downstream = await path('downstream');
  // Downstream only one hop: the deployments (and their alerts would follow, which is noise here).
  const edges = [
    ...upstream.edges,
    ...downstream.edges.filter((edge) => edge.from.kind === 'model_version' && edge.from.id === versionId),
  ];
  const depth = new Map<string, number>();
  const key = (node: Node) => `${node.kind}:${node.id}`;
  // Longest distance from a source: sources first, the deployment last.
  for (let pass = 0; pass < edges.length; pass++) {
    let changed = false;
    for (const edge of edges) {
      const next = (depth.get(key(edge.from)) ?? 0) + 1;
      if ((depth.get(key(edge.to)) ?? 0) < next) {
        depth.set(key(edge.to), next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const ordered = [...edges].sort((a, b) => (depth.get(key(a.to)) ?? 0) - (depth.get(key(b.to)) ?? 0));
  const nodes = [
    ...new Map([...upstream.nodes, ...ordered.map((edge) => edge.to)].map((n) => [key(n), n])).values(),
  ];
  return {
    nodes: nodes.map(key),
    topicRanges: nodes.filter((node) => node.kind === 'topic_range').map((node) => node.id),
    lines: ordered.map((edge) => `${label(edge.from)} —${edge.relation}→ ${label(edge.to)}`),
  };
}
