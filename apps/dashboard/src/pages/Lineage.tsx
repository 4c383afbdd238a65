import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import ELK from 'elkjs/lib/elk.bundled.js';
import { useEffect, useMemo, useState } from 'react';
import { offsetRangesMetadata, type Api, type LineageKind, type VersionView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { mlflowRunUrl } from '../links.ts';
import {
  describeOffsets,
  highlight,
  kindLabels,
  mergeLineage,
  shortId,
  type Graph,
  type GraphNode,
} from '../lineage-graph.ts';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Empty, ErrorState, ExternalLink, Loading, Resource, StateBadge, Time } from '../ui.tsx';

/** Versions by id, to name model_version nodes ("fraud v2") and show their details. */
async function versionIndex(api: Api): Promise<Map<string, VersionView>> {
  const { models } = await api.listModels();
  const lists = await Promise.all(models.map((model) => api.listVersions(model.name)));
  return new Map(lists.flatMap((list) => list.versions).map((version) => [version.id, version]));
}

/** What the graph's nodes are named by: versions by id, and endpoints (deployments) by id. */
interface Names {
  versions: Map<string, VersionView>;
  endpoints: Map<string, string>;
}

async function endpointNames(api: Api): Promise<Map<string, string>> {
  const endpoints = await api.listEndpoints();
  return new Map(endpoints.map((endpoint) => [endpoint.id, endpoint.name]));
}

function nodeTitle(node: GraphNode, names: Names): string {
  if (node.kind === 'model_version') {
    const version = names.versions.get(node.id);
    if (version) return `${version.model} v${version.version}`;
  }
  if (node.kind === 'deployment') {
    const name = names.endpoints.get(node.id);
    if (name) return name;
  }
  if (node.kind === 'topic_range') {
    // `<topic>#<digest of the ranges>`: the topic says more than the digest.
    const topic = node.id.slice(0, node.id.lastIndexOf('#'));
    if (topic) return shortId(topic);
  }
  return shortId(node.id);
}

interface LineageNodeData extends Record<string, unknown> {
  kind: LineageKind;
  title: string;
  tone: 'root' | 'selected' | 'upstream' | 'downstream' | 'dimmed' | 'plain';
}

const nodeWidth = 190;
const nodeHeight = 56;

function LineageNodeView({ data }: NodeProps<Node<LineageNodeData>>) {
  return (
    <div className={`lineage-node kind-${data.kind} tone-${data.tone}`}>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="lineage-kind">{kindLabels[data.kind]}</span>
      <span className="lineage-title">{data.title}</span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { lineage: LineageNodeView };
const elk = new ELK();

/** Left to right: sources (Kafka offsets) first, deployments and alerts last. */
async function layout(graph: Graph): Promise<Map<string, { x: number; y: number }>> {
  const result = await elk.layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': '28',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
    },
    children: graph.nodes.map((node) => ({ id: node.key, width: nodeWidth, height: nodeHeight })),
    edges: graph.edges.map((edge) => ({ id: edge.key, sources: [edge.from], targets: [edge.to] })),
  });
  return new Map((result.children ?? []).map((child) => [child.id, { x: child.x ?? 0, y: child.y ?? 0 }]));
}

function LineageChooser() {
  const { api } = useDashboard();
  const versions = useLive('lineage:versions', async () =>
    [...(await versionIndex(api)).values()]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, 30),
  );
  return (
    <>
      <h1>Lineage</h1>
      <p>Pick a model version to see where it came from and what depends on it.</p>
      <Resource live={versions} what="Model versions">
        {(list) =>
          list.length === 0 ? (
            <Empty title="Nothing to trace yet">Lineage starts when a version is trained or imported.</Empty>
          ) : (
            <ul className="plain-list" data-testid="lineage-chooser">
              {list.map((version) => (
                <li key={version.id}>
                  <a href={href({ page: 'lineage', kind: 'model_version', id: version.id })}>
                    {version.model} v{version.version}
                  </a>{' '}
                  <StateBadge state={version.state} /> <Time iso={version.createdAt} />
                </li>
              ))}
            </ul>
          )
        }
      </Resource>
    </>
  );
}

export function LineagePage({ kind, id }: { kind?: LineageKind | undefined; id?: string | undefined }) {
  if (!kind || !id) return <LineageChooser />;
  return <LineageGraph kind={kind} id={id} />;
}

function LineageGraph({ kind, id }: { kind: LineageKind; id: string }) {
  const { api } = useDashboard();
  const data = useLive(`lineage:${kind}:${id}`, async () => {
    const [up, down, versions, endpoints] = await Promise.all([
      api.lineage(kind, id, 'upstream'),
      api.lineage(kind, id, 'downstream'),
      versionIndex(api),
      // Names only: a graph without them still draws.
      endpointNames(api).catch(() => new Map<string, string>()),
    ]);
    const names: Names = { versions, endpoints };
    return { graph: mergeLineage(up, down), names };
  });
  const rootKey = `${kind}:${id}`;
  const [selected, setSelected] = useState<string>(rootKey);
  useEffect(() => setSelected(rootKey), [rootKey]);

  return (
    <>
      <p className="breadcrumbs">
        <a href={href({ page: 'lineage' })}>Lineage</a> / {kindLabels[kind]} <code>{shortId(id)}</code>
      </p>
      <h1>Lineage</h1>
      <Resource live={data} what="Lineage">
        {({ graph, names }) =>
          graph.edges.length === 0 ? (
            <Empty title="No lineage recorded for this node">
              Nothing upstream or downstream of {kindLabels[kind].toLowerCase()} <code>{id}</code>.
            </Empty>
          ) : (
            <LineageCanvas graph={graph} names={names} selected={selected} onSelect={setSelected} />
          )
        }
      </Resource>
    </>
  );
}

function LineageCanvas({
  graph,
  names,
  selected,
  onSelect,
}: {
  graph: Graph;
  names: Names;
  selected: string;
  onSelect: (key: string) => void;
}) {
  const [positions, setPositions] = useState<Map<string, { x: number; y: number }> | null>(null);
  const [layoutError, setLayoutError] = useState<unknown>(undefined);
  // Re-layout only when the graph's shape changes, not on every poll that returns the same graph.
  const shape = useMemo(
    () => JSON.stringify([graph.nodes.map((n) => n.key).sort(), graph.edges.map((e) => e.key).sort()]),
    [graph],
  );
  useEffect(() => {
    let cancelled = false;
    layout(graph).then(
      (result) => !cancelled && setPositions(result),
      (err: unknown) => !cancelled && setLayoutError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [shape]); // `shape` stands for the graph's structure: a poll with the same graph keeps the layout

  const lit = useMemo(() => highlight(graph, selected), [graph, selected]);
  const byKey = useMemo(() => new Map(graph.nodes.map((node) => [node.key, node])), [graph]);
  const selectedNode = byKey.get(selected) ?? byKey.get(graph.root);

  const nodes: Node<LineageNodeData>[] = graph.nodes.map((node) => ({
    id: node.key,
    type: 'lineage',
    position: positions?.get(node.key) ?? { x: 0, y: 0 },
    selected: node.key === selected,
    ariaLabel: `${kindLabels[node.kind]} ${nodeTitle(node, names)}`,
    data: {
      kind: node.kind,
      title: nodeTitle(node, names),
      tone:
        node.key === selected
          ? 'selected'
          : lit.upstream.has(node.key)
            ? 'upstream'
            : lit.downstream.has(node.key)
              ? 'downstream'
              : node.key === graph.root
                ? 'root'
                : 'dimmed',
    },
  }));
  const edges: Edge[] = graph.edges.map((edge) => ({
    id: edge.key,
    source: edge.from,
    target: edge.to,
    label: edge.relation.replace(/_/g, ' '),
    className: lit.edges.has(edge.key) ? 'edge-lit' : 'edge-dim',
    animated: lit.edges.has(edge.key),
    markerEnd: { type: MarkerType.ArrowClosed },
  }));

  // Click and keyboard (Enter on a focused node) both arrive as selection changes.
  const onNodesChange = (changes: NodeChange<Node<LineageNodeData>>[]) => {
    const picked = changes.find((change) => change.type === 'select' && change.selected);
    if (picked && picked.type === 'select') onSelect(picked.id);
  };

  if (layoutError !== undefined) return <ErrorState error={layoutError} />;
  return (
    <div className="lineage">
      <div className="lineage-canvas" data-testid="lineage-graph">
        {positions ? (
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onNodeClick={(_, node) => onSelect(node.id)}
            nodesDraggable={false}
            nodesConnectable={false}
            edgesFocusable={false}
            fitView
            fitViewOptions={{ padding: 0.15 }}
            minZoom={0.2}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        ) : (
          <Loading what="layout" />
        )}
        <p className="legend" aria-hidden="true">
          <span className="tone-upstream">upstream</span> <span className="tone-selected">selected</span>{' '}
          <span className="tone-downstream">downstream</span>
        </p>
      </div>
      {selectedNode && (
        <NodeDetails
          node={selectedNode}
          graph={graph}
          names={names}
          lit={lit}
          onSelect={onSelect}
          byKey={byKey}
        />
      )}
    </div>
  );
}

/** A Kafka offsets node: the topic and the ranges read, from the edges that recorded them. */
function OffsetRanges({ node }: { node: GraphNode }) {
  const { api } = useDashboard();
  const edges = useLive(`lineage-edges:${node.key}`, () => api.lineageEdges(node.kind, node.id), {
    poll: false,
  });
  if (edges.status === 'loading') return <Loading what="offsets" />;
  if (edges.status === 'error') return <ErrorState error={edges.error} onRetry={edges.refresh} />;
  const recorded = edges.data.edges.flatMap((edge) => {
    const parsed = offsetRangesMetadata.safeParse(edge.metadata);
    return parsed.success ? [{ edge, ranges: parsed.data }] : [];
  });
  if (recorded.length === 0) {
    return (
      <>
        <dt>Offsets</dt>
        <dd className="muted">not recorded</dd>
      </>
    );
  }
  // Every edge from one range node records the same ranges (the node id is their digest).
  const { ranges } = recorded[0]!;
  return (
    <>
      <dt>Topic</dt>
      <dd>
        <code data-testid="offset-topic">{ranges.topic}</code>
      </dd>
      <dt>Offsets read</dt>
      <dd>
        <ul className="offsets" data-testid="offset-ranges">
          {ranges.offsets.map((range) => (
            <li key={range.partition}>{describeOffsets(range)}</li>
          ))}
        </ul>
      </dd>
      {ranges.rows !== undefined && (
        <>
          <dt>Rows</dt>
          <dd data-testid="offset-rows">
            {ranges.rows.toLocaleString()}{' '}
            {recorded[0]!.edge.relation === 'labelled' ? 'labels' : 'offline rows'}
          </dd>
        </>
      )}
    </>
  );
}

function NodeDetails({
  node,
  graph,
  names,
  lit,
  onSelect,
  byKey,
}: {
  node: GraphNode;
  graph: Graph;
  names: Names;
  lit: ReturnType<typeof highlight>;
  onSelect: (key: string) => void;
  byKey: Map<string, GraphNode>;
}) {
  const { config } = useDashboard();
  const incoming = graph.edges.filter((edge) => edge.to === node.key);
  const outgoing = graph.edges.filter((edge) => edge.from === node.key);
  const { versions } = names;
  const version = node.kind === 'model_version' ? versions.get(node.id) : undefined;
  const trainedHere =
    node.kind === 'training_set' ? [...versions.values()].filter((v) => v.trainingSetId === node.id) : [];
  const endpoint = node.kind === 'deployment' ? names.endpoints.get(node.id) : undefined;
  const neighbour = (key: string) => {
    const other = byKey.get(key);
    return other ? `${kindLabels[other.kind]} ${nodeTitle(other, names)}` : key;
  };

  return (
    <aside className="lineage-details" aria-labelledby="node-details-title" data-testid="node-details">
      <h2 id="node-details-title">
        {kindLabels[node.kind]}: {nodeTitle(node, names)}
      </h2>
      <dl className="facts">
        <dt>Id</dt>
        <dd>
          <code className="hash">{node.id}</code>
        </dd>
        <dt>Upstream / downstream</dt>
        <dd>
          {lit.upstream.size} / {lit.downstream.size} nodes
        </dd>
        {version && (
          <>
            <dt>Version</dt>
            <dd>
              <a href={href({ page: 'version', model: version.model, version: version.version })}>
                {version.model} v{version.version}
              </a>{' '}
              <StateBadge state={version.state} />
            </dd>
            <dt>Artifact</dt>
            <dd>
              <code className="hash">{version.artifactSha256.slice(0, 16)}…</code>
            </dd>
          </>
        )}
        {node.kind === 'run' && (
          <>
            <dt>MLflow</dt>
            <dd>
              <ExternalLink href={mlflowRunUrl(config, node.id)}>Open the run</ExternalLink>
            </dd>
          </>
        )}
        {node.kind === 'training_set' && trainedHere.length > 0 && (
          <>
            <dt>Versions trained on it</dt>
            <dd>
              {trainedHere.map((v) => (
                <a
                  key={v.id}
                  className="inline-item"
                  href={href({ page: 'version', model: v.model, version: v.version })}
                >
                  {v.model} v{v.version}
                </a>
              ))}
            </dd>
          </>
        )}
        {node.kind === 'feature_view' && (
          <>
            <dt>Ingestion</dt>
            <dd>
              <a href={href({ page: 'features' })}>Feature views</a>
            </dd>
          </>
        )}
        {endpoint && (
          <>
            <dt>Endpoint</dt>
            <dd>
              <a href={href({ page: 'slos', endpoint })}>{endpoint}</a> ·{' '}
              <a href={href({ page: 'drift', endpoint })}>drift</a>
            </dd>
          </>
        )}
        {node.kind === 'alert' && (
          <>
            <dt>Alert</dt>
            <dd>
              <a href={href({ page: 'alert', id: node.id })}>Open the alert</a>
            </dd>
          </>
        )}
        {node.kind === 'topic_range' && <OffsetRanges node={node} />}
      </dl>

      {incoming.length > 0 && (
        <>
          <h3>Comes from</h3>
          <ul className="plain-list">
            {incoming.map((edge) => (
              <li key={edge.key}>
                <button type="button" className="link-button" onClick={() => onSelect(edge.from)}>
                  {neighbour(edge.from)}
                </button>{' '}
                <span className="muted">({edge.relation.replace(/_/g, ' ')})</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {outgoing.length > 0 && (
        <>
          <h3>Feeds</h3>
          <ul className="plain-list">
            {outgoing.map((edge) => (
              <li key={edge.key}>
                <button type="button" className="link-button" onClick={() => onSelect(edge.to)}>
                  {neighbour(edge.to)}
                </button>{' '}
                <span className="muted">({edge.relation.replace(/_/g, ' ')})</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {node.key !== graph.root && (
        <p>
          <a href={href({ page: 'lineage', kind: node.kind, id: node.id })}>Trace lineage from this node</a>
        </p>
      )}
    </aside>
  );
}
