import { describe, expect, it } from 'vitest';
import { describeOffsets, highlight, mergeLineage, reachable, shortId } from './lineage-graph.ts';

const set = { kind: 'training_set' as const, id: 'set-1' };
const run = { kind: 'run' as const, id: 'run-1' };
const version = { kind: 'model_version' as const, id: 'v-1' };
const other = { kind: 'model_version' as const, id: 'v-2' };
const deployment = { kind: 'deployment' as const, id: 'd-1' };

const upstream = {
  root: version,
  direction: 'upstream' as const,
  nodes: [version, run, set],
  edges: [
    { from: set, to: run, relation: 'trained_on' },
    { from: run, to: version, relation: 'produced' },
  ],
};
const downstream = {
  root: version,
  direction: 'downstream' as const,
  nodes: [version, deployment],
  edges: [{ from: version, to: deployment, relation: 'deployed' }],
};

describe('lineage graph', () => {
  it('merges both walks from a root without duplicates', () => {
    const graph = mergeLineage(upstream, downstream, upstream);
    expect(graph.root).toBe('model_version:v-1');
    expect(graph.nodes.map((node) => node.key).sort()).toEqual([
      'deployment:d-1',
      'model_version:v-1',
      'run:run-1',
      'training_set:set-1',
    ]);
    expect(graph.edges).toHaveLength(3);
  });

  it('finds ancestors and descendants, and the edges between them only', () => {
    const graph = mergeLineage(upstream, downstream, {
      root: set,
      direction: 'downstream',
      nodes: [set, other],
      edges: [{ from: set, to: other, relation: 'trained_on' }],
    });
    expect([...reachable(graph, 'model_version:v-1', 'upstream')].sort()).toEqual([
      'run:run-1',
      'training_set:set-1',
    ]);
    expect([...reachable(graph, 'training_set:set-1', 'downstream')].sort()).toEqual([
      'deployment:d-1',
      'model_version:v-1',
      'model_version:v-2',
      'run:run-1',
    ]);
    const lit = highlight(graph, 'run:run-1');
    expect([...lit.upstream]).toEqual(['training_set:set-1']);
    expect([...lit.downstream].sort()).toEqual(['deployment:d-1', 'model_version:v-1']);
    // The sibling version trained on the same set is not on the run's lineage.
    expect([...lit.edges].some((edge) => edge.includes('v-2'))).toBe(false);
    expect(lit.edges.size).toBe(3);
  });

  it('survives cycles', () => {
    const graph = mergeLineage({
      root: set,
      direction: 'downstream',
      nodes: [set, run],
      edges: [
        { from: set, to: run, relation: 'a' },
        { from: run, to: set, relation: 'b' },
      ],
    });
    expect([...reachable(graph, 'training_set:set-1', 'downstream')]).toEqual(['run:run-1']);
  });

  it('shortens long ids only', () => {
    expect(shortId('abc')).toBe('abc');
    expect(shortId('0123456789abcdef0123456789')).toBe('01234567…6789');
  });
});

describe('describeOffsets', () => {
  it('names the last offset read (the recorded end is exclusive) and how many', () => {
    expect(describeOffsets({ partition: 0, from: '0', to: '3000' })).toBe(
      `partition 0: offsets 0 – 2999 (${(3000).toLocaleString()} messages)`,
    );
    expect(describeOffsets({ partition: 2, from: '9007199254740993', to: '9007199254740995' })).toBe(
      'partition 2: offsets 9007199254740993 – 9007199254740994 (2 messages)',
    );
  });

  it('says none for an empty range', () => {
    expect(describeOffsets({ partition: 1, from: '5', to: '5' })).toBe('partition 1: none');
  });
});
