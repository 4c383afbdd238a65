import { describe, expect, it } from 'vitest';
import {
  expired,
  indexLabels,
  noMatch,
  pointInTimeMatch,
  type LabelRow,
  type ViewRows,
} from '../src/point-in-time.ts';

/** The definition, row by row: the latest row at or before the label's time (ties: later position). */
function bruteForce(labels: readonly LabelRow[], view: ViewRows): number[] {
  return labels.map((label) => {
    let best = -1;
    for (let r = 0; r < view.entityIds.length; r++) {
      if (view.entityIds[r] !== label.entityId || view.timeMs[r]! > label.timeMs) continue;
      if (
        best < 0 ||
        view.timeMs[r]! > view.timeMs[best]! ||
        (view.timeMs[r] === view.timeMs[best] &&
          (view.partition[r]! > view.partition[best]! ||
            (view.partition[r] === view.partition[best] && view.offset[r]! > view.offset[best]!)))
      ) {
        best = r;
      }
    }
    if (best < 0) return noMatch;
    return label.timeMs - view.timeMs[best]! <= view.ttlMs ? best : expired;
  });
}

/** A small seeded generator, so a failure reproduces. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function view(
  rows: { entity: string; t: number; partition?: number; offset: number }[],
  ttlMs: number,
): ViewRows {
  return {
    entityIds: rows.map((r) => r.entity),
    timeMs: rows.map((r) => r.t),
    partition: rows.map((r) => r.partition ?? 0),
    offset: rows.map((r) => r.offset),
    ttlMs,
  };
}

const label = (entityId: string, timeMs: number): LabelRow => ({
  id: `${entityId}@${timeMs}`,
  entityId,
  timeMs,
  label: 1,
});

describe('pointInTimeMatch', () => {
  it('takes the latest row at or before the label time, never a later one', () => {
    const rows = view(
      [
        { entity: 'a', t: 100, offset: 0 },
        { entity: 'a', t: 200, offset: 1 },
        // Written before the label was asked for, but its event time is after it: a leakage trap.
        { entity: 'a', t: 301, offset: 2 },
        { entity: 'b', t: 50, offset: 3 },
      ],
      1_000,
    );
    const match = pointInTimeMatch(
      [label('a', 300), label('a', 200), label('a', 99), label('b', 60), label('c', 500)],
      rows,
    );
    expect([...match]).toEqual([1, 1, noMatch, 3, noMatch]);
  });

  it('uses a late event by its event time, and breaks ties on event time by Kafka position', () => {
    const rows = view(
      [
        { entity: 'a', t: 200, partition: 0, offset: 5 },
        // Arrived after the row above (higher offset) with an older event time: a late event.
        { entity: 'a', t: 150, partition: 0, offset: 6 },
        { entity: 'a', t: 200, partition: 0, offset: 3 },
      ],
      1_000,
    );
    expect([...pointInTimeMatch([label('a', 199), label('a', 200)], rows)]).toEqual([1, 0]);
  });

  it('leaves a view out when its latest row is older than the TTL (exactly TTL old still counts)', () => {
    const rows = view([{ entity: 'a', t: 100, offset: 0 }], 50);
    expect([...pointInTimeMatch([label('a', 150), label('a', 151)], rows)]).toEqual([0, expired]);
  });

  it('agrees with the brute-force definition on random data with ties, late rows and expiry', () => {
    const next = random(20260101);
    for (let round = 0; round < 20; round++) {
      const entities = 1 + Math.floor(next() * 30);
      const rows = Array.from({ length: Math.floor(next() * 400) }, (_, offset) => ({
        entity: `e${Math.floor(next() * entities)}`,
        // Coarse times make ties on event time common.
        t: Math.floor(next() * 100) * 10,
        partition: Math.floor(next() * 3),
        offset,
      }));
      const labels = Array.from({ length: Math.floor(next() * 300) }, () =>
        label(`e${Math.floor(next() * (entities + 2))}`, Math.floor(next() * 1100)),
      );
      const v = view(rows, Math.floor(next() * 400));
      expect([...pointInTimeMatch(labels, v)]).toEqual(bruteForce(labels, v));
      // One label index serves every view of a training set.
      const index = indexLabels(labels);
      const other = view(rows.slice(0, Math.floor(rows.length / 2)), Math.floor(next() * 400));
      expect([...pointInTimeMatch(labels, v, index)]).toEqual(bruteForce(labels, v));
      expect([...pointInTimeMatch(labels, other, index)]).toEqual(bruteForce(labels, other));
    }
  });
});
