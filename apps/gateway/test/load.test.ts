import { describe, expect, it } from 'vitest';
import { percentile, summarize, type LoadResult } from '../src/load.ts';

const result = (status: number, latencyMs: number, version: number | null): LoadResult => ({
  index: 0,
  atMs: 0,
  entityId: 'e',
  status,
  latencyMs,
  version,
  role: version === null ? null : 'champion',
  predictionId: version === null ? null : 'p-1',
  errorCode: status === 200 ? null : 'internal',
});

describe('load summaries', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('counts statuses, failures, versions and the achieved rate', () => {
    const summary = summarize(
      [result(200, 1, 1), result(200, 3, 2), result(500, 10, null), result(0, 20, null)],
      2000,
    );
    expect(summary).toMatchObject({
      requests: 4,
      ok: 2,
      failed: 2,
      statuses: { 200: 2, 500: 1, 0: 1 },
      errorCodes: { internal: 2 },
      versions: { 1: 1, 2: 1 },
      achievedRatePerSecond: 2,
      p50Ms: 3,
      maxMs: 20,
    });
  });
});
