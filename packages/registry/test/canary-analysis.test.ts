import { describe, expect, it } from 'vitest';
import {
  analysisThresholds,
  latencyBucketBoundsMs,
  latencyBucketIndex,
  predictionBins,
} from '@shepherd/contracts/serving';
import {
  analyzeCanary,
  failureReasons,
  mergeSparseBins,
  psi,
  type SideStats,
} from '../src/canary-analysis.ts';

const thresholds = analysisThresholds.parse({ minRequests: 50 });
const window = { step: 0, weight: 5, at: '2026-11-29T00:00:00.000Z', windowSeconds: 60 };

/** A side whose requests all took `latencyMs` and predicted around `prediction`. */
function side(requests: number, errors: number, latencyMs: number, prediction: number): SideStats {
  const latencyCounts = new Array<number>(latencyBucketBoundsMs.length + 1).fill(0);
  latencyCounts[latencyBucketIndex(latencyMs)] = requests;
  const predictionCounts = new Array<number>(predictionBins).fill(0);
  // Spread over three neighbouring bins, as real scores are.
  const bin = Math.min(predictionBins - 2, Math.max(1, Math.floor(prediction * predictionBins)));
  predictionCounts[bin - 1] = Math.floor((requests - errors) / 4);
  predictionCounts[bin] = Math.floor((requests - errors) / 2);
  predictionCounts[bin + 1] = requests - errors - 3 * Math.floor((requests - errors) / 4);
  return { requests, errors, latencyCounts, predictionCounts };
}

describe('canary analysis', () => {
  it('passes a canary that looks like its champion', () => {
    const result = analyzeCanary(window, side(200, 0, 2, 0.1), side(3800, 1, 2, 0.1), thresholds);
    expect(result.verdict).toBe('passed');
    expect(result.checks.find((c) => c.name === 'latency')?.outcome).toBe('passed');
    expect(failureReasons(result)).toEqual([]);
  });

  it('fails on latency, on errors and on shifted predictions, each on its own', () => {
    const champion = side(3800, 0, 2, 0.1);
    const slow = analyzeCanary(window, side(200, 0, 40, 0.1), champion, thresholds);
    expect(slow.verdict).toBe('failed');
    expect(slow.checks.filter((c) => c.outcome === 'failed').map((c) => c.name)).toEqual(['latency']);

    const failing = analyzeCanary(window, side(200, 30, 2, 0.1), champion, thresholds);
    expect(failing.checks.filter((c) => c.outcome === 'failed').map((c) => c.name)).toEqual(['errors']);
    expect(failing.canary.errorRate).toBeCloseTo(0.15);

    const skewed = analyzeCanary(window, side(200, 0, 2, 0.7), champion, thresholds);
    expect(skewed.checks.filter((c) => c.outcome === 'failed').map((c) => c.name)).toEqual([
      'prediction_shift',
    ]);
    expect(failureReasons(skewed)[0]).toMatch(/^prediction_shift: PSI/);
  });

  it('ignores a large ratio of tiny latencies, and reads p95 until both sides have 500 requests', () => {
    const quick = analyzeCanary(window, side(200, 0, 3, 0.1), side(3800, 0, 1, 0.1), thresholds);
    expect(quick.checks.find((c) => c.name === 'latency')).toMatchObject({ outcome: 'passed' });
    expect(quick.checks.find((c) => c.name === 'latency')?.value).toBeGreaterThan(2);

    // 60 canary requests, three of them (5 %) very slow: the slowest is p99, but p95 is what counts.
    const latencyCounts = [...side(60, 0, 2, 0.1).latencyCounts];
    latencyCounts[latencyBucketIndex(2)] = 57;
    latencyCounts[latencyBucketIndex(500)] = 3;
    const canary = { ...side(60, 0, 2, 0.1), latencyCounts };
    const few = analyzeCanary(window, canary, side(3800, 0, 2, 0.1), thresholds);
    expect(few.checks.find((c) => c.name === 'latency')?.detail).toMatch(/^p95/);
    expect(few.checks.find((c) => c.name === 'latency')?.outcome).toBe('passed');
    const some = analyzeCanary(window, side(499, 0, 2, 0.1), side(3800, 0, 2, 0.1), thresholds);
    expect(some.checks.find((c) => c.name === 'latency')?.detail).toMatch(/^p95/);
    const many = analyzeCanary(window, side(500, 0, 2, 0.1), side(3800, 0, 2, 0.1), thresholds);
    expect(many.checks.find((c) => c.name === 'latency')?.detail).toMatch(/^p99/);
  });

  it('is inconclusive with too few canary requests, unless labels or parity already fail it', () => {
    const few = analyzeCanary(window, side(10, 0, 2, 0.1), side(3800, 0, 2, 0.1), thresholds);
    expect(few.verdict).toBe('inconclusive');
    const parity = analyzeCanary(window, side(10, 0, 2, 0.1), side(3800, 0, 2, 0.1), thresholds, {
      parity: { mismatchRate: 0.2, checkedAt: window.at },
    });
    expect(parity.verdict).toBe('failed');
    const accuracy = analyzeCanary(window, side(200, 0, 2, 0.1), side(3800, 0, 2, 0.1), thresholds, {
      accuracy: { canary: 0.7, champion: 0.9, canaryLabels: 250, championLabels: 250 },
    });
    expect(accuracy.checks.find((c) => c.name === 'accuracy')?.outcome).toBe('failed');
    // The same drop on 30 labels a side is within chance (p ≈ 0.03 one-sided): no verdict against it.
    const chance = analyzeCanary(window, side(200, 0, 2, 0.1), side(3800, 0, 2, 0.1), thresholds, {
      accuracy: { canary: 0.7, champion: 0.9, canaryLabels: 30, championLabels: 30 },
    });
    expect(chance.checks.find((c) => c.name === 'accuracy')?.outcome).toBe('passed');
  });

  it('does not call sampling noise a shift: two small samples of one distribution pass', () => {
    // 40 canary requests spread over 20 bins against 4000 champion requests of the same spread.
    const flat = (n: number) => new Array<number>(predictionBins).fill(n / predictionBins);
    const canary = {
      ...side(40, 0, 2, 0.5),
      predictionCounts: [3, 1, 2, 3, 1, 2, 2, 3, 1, 2, 2, 2, 3, 1, 2, 2, 3, 1, 2, 2],
    };
    const champion = { ...side(4000, 0, 2, 0.5), predictionCounts: flat(4000) };
    const result = analyzeCanary(window, canary, champion, analysisThresholds.parse({ minRequests: 20 }));
    const check = result.checks.find((c) => c.name === 'prediction_shift')!;
    expect(psi(champion.predictionCounts, canary.predictionCounts)).toBeGreaterThan(0.1);
    expect(check.outcome).toBe('passed');
  });

  it('merges sparse bins before PSI: scores piled near zero with a few stragglers are no shift', () => {
    // The champion's 28 and the canary's 12 predictions sit in the first bins, as fraud scores do.
    const champion = {
      ...side(28, 0, 2, 0.5),
      predictionCounts: [20, 5, 2, 0, 1, ...new Array<number>(15).fill(0)],
    };
    const canary = {
      ...side(12, 0, 2, 0.5),
      predictionCounts: [8, 2, 0, 1, 0, 0, 0, 1, ...new Array<number>(12).fill(0)],
    };
    const result = analyzeCanary(window, canary, champion, analysisThresholds.parse({ minRequests: 10 }));
    expect(psi(champion.predictionCounts, canary.predictionCounts)).toBeGreaterThan(0.5);
    expect(result.checks.find((c) => c.name === 'prediction_shift')?.outcome).toBe('passed');
    expect(mergeSparseBins([20, 5, 2, 0, 1], [8, 2, 0, 1, 0])).toEqual({
      expected: [20, 8],
      actual: [8, 3],
    });
    // Mass where the champion has none stays a bin of its own: that is the shift.
    expect(mergeSparseBins([0, 0, 0, 40], [30, 0, 0, 0])).toEqual({ expected: [0, 40], actual: [30, 0] });
  });

  it('computes PSI as the textbook formula and stays finite on empty bins', () => {
    expect(psi([50, 50], [50, 50])).toBe(0);
    const expected = (0.5 - 0.75) * Math.log(0.5 / 0.75) + (0.5 - 0.25) * Math.log(0.5 / 0.25);
    expect(psi([75, 25], [50, 50])).toBeCloseTo(expected, 12);
    expect(Number.isFinite(psi([100, 0], [0, 100]))).toBe(true);
  });
});
