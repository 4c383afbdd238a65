import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { latencyBucketBoundsMs, latencyBucketIndex, predictionBins } from '@shepherd/contracts/serving';
import type { Database } from '@shepherd/db/client';
import { StatsRecorder, type StatsSubject } from '../src/stats.ts';

type Row = Record<string, unknown>;

/** Just the insert chain StatsRecorder uses; `fail` makes the next inserts throw. */
function fakeDb() {
  const state = { rows: [] as Row[], fail: 0 };
  const db = {
    insert: () => ({
      values: (rows: Row[]) => ({
        onConflictDoNothing: async () => {
          if (state.fail > 0) {
            state.fail -= 1;
            throw new Error('connection refused');
          }
          state.rows.push(...rows);
        },
      }),
    }),
  } as unknown as Database;
  return { db, state };
}

const subject: StatsSubject = {
  projectId: 'p',
  endpointId: 'e',
  endpoint: 'fraud',
  versionId: 'v1',
  version: 1,
  role: 'champion',
};

describe('serving stats', () => {
  it('sums a second per endpoint × version × role and writes it once the second is over', async () => {
    const { db, state } = fakeDb();
    let now = 10_000;
    const stats = new StatsRecorder({
      db,
      gatewayId: 'gw',
      logger: pino({ level: 'silent' }),
      now: () => now,
    });
    stats.record(subject, { count: 1, errors: 0, latencyMs: 2, status: 200, predictions: [0.12] });
    stats.record(subject, { count: 2, errors: 0, latencyMs: 4, status: 200, predictions: [0.99, 1.7] });
    stats.record(
      { ...subject, role: 'candidate', versionId: 'v2' },
      { count: 1, errors: 1, latencyMs: 9, status: 500 },
    );
    now = 10_900;
    await stats.flush();
    expect(state.rows).toHaveLength(0);

    now = 11_000;
    await stats.flush();
    expect(state.rows).toHaveLength(2);
    const champion = state.rows.find((row) => row.role === 'champion')!;
    const latencyCounts = new Array<number>(latencyBucketBoundsMs.length + 1).fill(0);
    latencyCounts[latencyBucketIndex(2)] = 1;
    latencyCounts[latencyBucketIndex(4)]! += 2;
    const predictionCounts = new Array<number>(predictionBins).fill(0);
    predictionCounts[2] = 1;
    // 0.99 and the out-of-range 1.7 both land in the last bin.
    predictionCounts[predictionBins - 1] = 2;
    expect(champion).toEqual({
      projectId: 'p',
      endpointId: 'e',
      versionId: 'v1',
      role: 'champion',
      gatewayId: 'gw',
      second: new Date(10_000),
      requests: 3,
      errors: 0,
      latencyCounts,
      latencySumMs: 2 + 8,
      predictionCounts,
      predictionSum: 0.12 + 0.99 + 1.7,
      predictionSquares: 0.12 ** 2 + 0.99 ** 2 + 1.7 ** 2,
    });
    expect(state.rows.find((row) => row.role === 'candidate')).toMatchObject({ requests: 1, errors: 1 });

    const totals = stats.snapshot().find((total) => total.subject.role === 'champion')!;
    expect(totals.byStatus.get(200)).toBe(3);
  });

  it('keeps a failed insert for the next tick, and bounds what it keeps', async () => {
    const { db, state } = fakeDb();
    let now = 0;
    const stats = new StatsRecorder({
      db,
      gatewayId: 'gw',
      logger: pino({ level: 'silent' }),
      now: () => now,
      maxPendingRows: 2,
    });
    state.fail = 1;
    stats.record(subject, { count: 1, errors: 0, latencyMs: 1, status: 200, predictions: [0.5] });
    now = 1000;
    await stats.flush();
    expect(state.rows).toHaveLength(0);
    expect(stats.pendingRows).toBe(1);
    expect(stats.lastFlushError).toBe('connection refused');
    await stats.flush();
    expect(state.rows).toHaveLength(1);
    expect(stats.pendingRows).toBe(0);

    state.fail = 10;
    for (let second = 2; second <= 5; second++) {
      now = second * 1000;
      stats.record(subject, { count: 1, errors: 0, latencyMs: 1, status: 200 });
      now += 1000;
      await stats.flush();
    }
    expect(stats.pendingRows).toBe(2);
    expect(stats.droppedRows).toBe(2);
  });

  it('writes the open second too when stopping', async () => {
    const { db, state } = fakeDb();
    const stats = new StatsRecorder({
      db,
      gatewayId: 'gw',
      logger: pino({ level: 'silent' }),
      now: () => 5_500,
    });
    stats.record(subject, { count: 1, errors: 0, latencyMs: 1, status: 200 });
    await stats.stop();
    expect(state.rows).toHaveLength(1);
  });
});
