import { describe, expect, it } from 'vitest';
import { latencyBucketBoundsMs, latencyBucketIndex, sloObjectives } from '@shepherd/contracts/serving';
import { ShepherdError } from '@shepherd/core/errors';
import { assembleSeries, maxSeriesPoints, planSeries, type BucketRow } from '../src/slo-series.ts';

const objectives = sloObjectives.parse({ latencyP99Ms: 50, errorRate: 0.01, availability: 0.99 });

/** A bucket's sums as the database would return them for these latencies. */
function row(
  bucket: number,
  versionId: string,
  role: BucketRow['role'],
  latenciesMs: number[],
  errors = 0,
): BucketRow {
  const latencyCounts = new Array<number>(latencyBucketBoundsMs.length + 1).fill(0);
  for (const ms of latenciesMs) latencyCounts[latencyBucketIndex(ms)]! += 1;
  return {
    bucket,
    versionId,
    role,
    requests: latenciesMs.length,
    errors,
    latencySumMs: latenciesMs.reduce((a, b) => a + b, 0),
    latencyCounts,
  };
}

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('planSeries', () => {
  it('aligns buckets to multiples of the step, the last one holding `until`', () => {
    const until = new Date('2026-01-01T10:07:30Z');
    const plan = planSeries(until, 3600, 300);
    expect(plan.buckets).toBe(12);
    // The bucket holding 10:07:30 is 10:05–10:10; twelve of them start at 09:10.
    expect(plan.since.toISOString()).toBe('2026-01-01T09:10:00.000Z');
    expect(plan.until).toBe(until);
    // Polled again a little later: the same buckets.
    expect(planSeries(new Date('2026-01-01T10:09:59Z'), 3600, 300).since).toEqual(plan.since);
    expect(planSeries(new Date('2026-01-01T10:10:00Z'), 3600, 300).since.toISOString()).toBe(
      '2026-01-01T09:15:00.000Z',
    );
  });

  it('rounds the window up to whole steps', () => {
    expect(planSeries(new Date(0), 90, 60).buckets).toBe(2);
  });

  it('widens a step too fine for the window to keep the points bounded', () => {
    const plan = planSeries(new Date(), 86_400, 60);
    expect(plan.stepSeconds).toBe(120);
    expect(plan.buckets).toBe(maxSeriesPoints);
    expect(planSeries(new Date(), 86_400, 600).stepSeconds).toBe(600);
  });

  it('takes a step longer than the window as one bucket', () => {
    expect(planSeries(new Date(), 30, 60)).toMatchObject({ buckets: 1, stepSeconds: 60 });
  });

  it('refuses a step that is not a whole second, and an empty window', () => {
    expect((refusal(() => planSeries(new Date(), 60, 0.5)) as ShepherdError).code).toBe('bad_request');
    expect((refusal(() => planSeries(new Date(), 60, 0)) as ShepherdError).code).toBe('bad_request');
    expect((refusal(() => planSeries(new Date(), 0, 1)) as Error).message).toMatch(/longer than 0/);
  });
});

describe('assembleSeries', () => {
  // 10:00 to 10:03, one-minute steps, `until` 30 s into the third bucket.
  const plan = planSeries(new Date('2026-01-01T10:02:30Z'), 180, 60);

  it('has a point for every bucket, empty ones included', () => {
    const series = assembleSeries(plan, [row(1, 'v1', 'champion', [2])], objectives, new Map());
    expect(series.points.map((p) => p.at)).toEqual([
      '2026-01-01T10:00:00.000Z',
      '2026-01-01T10:01:00.000Z',
      '2026-01-01T10:02:00.000Z',
    ]);
    expect(series.points.map((p) => p.requests)).toEqual([0, 1, 0]);
    expect(series.points[0]).toMatchObject({ errorRate: null, p99Ms: null, throughputPerSecond: 0 });
    expect(series.points[0]!.burnRates).toEqual({ errors: null, availability: null, latency: null });
  });

  it('sums champion and candidate for the endpoint, leaves shadow out, and keeps each version apart', () => {
    const rows = [
      row(0, 'champ', 'champion', Array<number>(90).fill(1)),
      row(0, 'cand', 'candidate', Array<number>(10).fill(100), 5),
      row(0, 'shadow-v', 'shadow', Array<number>(50).fill(1000), 50),
    ];
    const series = assembleSeries(
      plan,
      rows,
      objectives,
      new Map([
        ['champ', 1],
        ['cand', 2],
        ['shadow-v', 3],
      ]),
    );
    const first = series.points[0]!;
    expect(first.requests).toBe(100);
    expect(first.errors).toBe(5);
    expect(first.errorRate).toBeCloseTo(0.05);
    expect(first.availability).toBeCloseTo(0.95);
    // 90 at 1 ms, 10 at 100 ms: p50 in the 1 ms bucket, p95 and p99 in the 100 ms one.
    expect(first.p50Ms).toBe(latencyBucketBoundsMs[latencyBucketIndex(1)]);
    expect(first.p95Ms).toBe(latencyBucketBoundsMs[latencyBucketIndex(100)]);
    expect(first.p99Ms).toBe(latencyBucketBoundsMs[latencyBucketIndex(100)]);
    expect(first.meanLatencyMs).toBeCloseTo((90 * 1 + 10 * 100) / 100);
    expect(first.throughputPerSecond).toBeCloseTo(100 / 60);
    // 5 % errors against 1 % allowed; 10 % slower than 50 ms against the 1 % a p99 allows.
    expect(first.burnRates.errors).toBeCloseTo(5);
    expect(first.burnRates.availability).toBeCloseTo(5);
    expect(first.burnRates.latency).toBeCloseTo(10);

    expect(series.versions.map((v) => [v.version, v.role])).toEqual([
      [3, 'shadow'],
      [2, 'candidate'],
      [1, 'champion'],
    ]);
    const candidate = series.versions.find((v) => v.role === 'candidate')!;
    expect(candidate.points).toHaveLength(3);
    expect(candidate.points[0]).toMatchObject({ requests: 10, errors: 5, errorRate: 0.5 });
    expect(series.versions.find((v) => v.role === 'shadow')!.points[0]!.requests).toBe(50);
  });

  it('adds up what several gateways reported for the same bucket', () => {
    const series = assembleSeries(
      plan,
      [row(1, 'v', 'champion', [1, 1]), row(1, 'v', 'champion', [1, 200])],
      objectives,
      new Map(),
    );
    expect(series.points[1]!.requests).toBe(4);
    expect(series.points[1]!.p99Ms).toBe(latencyBucketBoundsMs[latencyBucketIndex(200)]);
    expect(series.versions).toHaveLength(1);
    expect(series.versions[0]!.version).toBeNull();
  });

  it('reads the unfinished last bucket over the seconds that are over', () => {
    const series = assembleSeries(
      plan,
      [row(2, 'v', 'champion', Array<number>(60).fill(1))],
      objectives,
      new Map(),
    );
    const last = series.points[2]!;
    expect(last.seconds).toBe(30);
    expect(last.throughputPerSecond).toBeCloseTo(2);
    expect(series.points[1]!.seconds).toBe(60);
  });

  it('gives no burn rate for an objective that allows no failure', () => {
    const strict = sloObjectives.parse({ latencyP99Ms: 50, errorRate: 0, availability: 1 });
    const series = assembleSeries(plan, [row(0, 'v', 'champion', [1, 1], 1)], strict, new Map());
    expect(series.points[0]!.burnRates.errors).toBeNull();
    expect(series.points[0]!.burnRates.availability).toBeNull();
    expect(series.points[0]!.errorRate).toBe(0.5);
  });

  it('ignores rows outside the plan', () => {
    const series = assembleSeries(
      plan,
      [row(3, 'v', 'champion', [1]), row(-1, 'v', 'champion', [1])],
      objectives,
      new Map(),
    );
    expect(series.points.every((p) => p.requests === 0)).toBe(true);
  });
});
