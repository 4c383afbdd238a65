import {
  percentileFromBuckets,
  type AnalysisCheck,
  type AnalysisResult,
  type AnalysisThresholds,
} from '@shepherd/contracts/serving';
import {
  chiSquareContingency,
  fillZeroShares,
  populationStabilityIndex,
  zTestTwoProportions,
} from '@shepherd/drift/stats';

/** What the analysis needs of one side (canary or champion) over the window. */
export interface SideStats {
  requests: number;
  errors: number;
  latencyCounts: readonly number[];
  predictionCounts: readonly number[];
}

export interface AnalysisExtras {
  /** Accuracy of each side on delayed labels, when enough labels arrived to judge. */
  accuracy?: { canary: number; champion: number; canaryLabels: number; championLabels: number } | undefined;
  /** Labelled predictions per side in the window (said when there were too few to judge). */
  labelled?: { canary: number; champion: number } | undefined;
  /** Latest parity report of the endpoint's feature view. */
  parity?: { mismatchRate: number; checkedAt: string } | undefined;
}

/** Population stability index of two histograms over the same bins (packages/drift's, with its zero filling). */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const totalE = expected.reduce((a, b) => a + b, 0);
  const totalA = actual.reduce((a, b) => a + b, 0);
  if (totalE === 0 || totalA === 0) return 0;
  const length = Math.max(expected.length, actual.length);
  const shares = (counts: readonly number[], total: number) =>
    fillZeroShares(Float64Array.from({ length }, (_, i) => (counts[i] ?? 0) / total));
  return populationStabilityIndex(shares(expected, totalE), shares(actual, totalA));
}

/**
 * Merges neighbouring bins until each holds at least `minExpected` of both sides' counts together,
 * so neither the index nor the test is dominated by bins too sparse to estimate (the usual
 * chi-squared practice). Pooled, not the reference's alone: a bin the champion never uses but the
 * canary fills is exactly the shift to see. The last merged bin absorbs a sparse tail.
 */
export function mergeSparseBins(
  expected: readonly number[],
  actual: readonly number[],
  minExpected = 5,
): { expected: number[]; actual: number[] } {
  const merged = { expected: [] as number[], actual: [] as number[] };
  let e = 0;
  let a = 0;
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    e += expected[i] ?? 0;
    a += actual[i] ?? 0;
    if (e + a >= minExpected) {
      merged.expected.push(e);
      merged.actual.push(a);
      e = 0;
      a = 0;
    }
  }
  if (e > 0 || a > 0) {
    if (merged.expected.length === 0) {
      merged.expected.push(e);
      merged.actual.push(a);
    } else {
      merged.expected[merged.expected.length - 1]! += e;
      merged.actual[merged.actual.length - 1]! += a;
    }
  }
  return merged;
}

/**
 * PSI of two samples is biased upwards by sampling noise alone: about (k - 1)(1/n1 + 1/n2) for k
 * occupied bins. A canary at 5 % sees few requests, so without this correction a canary
 * identical to its champion would "shift" on small windows. What is left is the shift beyond noise.
 */
export function excessPsi(
  expected: readonly number[],
  actual: readonly number[],
): { psi: number; noise: number; excess: number } {
  const n1 = expected.reduce((a, b) => a + b, 0);
  const n2 = actual.reduce((a, b) => a + b, 0);
  const raw = psi(expected, actual);
  if (n1 === 0 || n2 === 0) return { psi: raw, noise: 0, excess: 0 };
  let occupied = 0;
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if ((expected[i] ?? 0) + (actual[i] ?? 0) > 0) occupied++;
  }
  const noise = Math.max(occupied - 1, 0) * (1 / n1 + 1 / n2);
  return { psi: raw, noise, excess: Math.max(raw - noise, 0) };
}

/** The prediction-shift check's significance level. */
const shiftSignificance = 0.01;

const rate = (side: SideStats) => (side.requests === 0 ? null : side.errors / side.requests);

/**
 * Compares the canary with the champion over one window. A check without enough data is
 * `skipped`; any failed check fails the step; too few canary requests to judge is `inconclusive`
 * unless something already failed.
 */
/** Requests per side before the latency check reads p99 rather than p95. */
export const p99MinRequests = 500;

export function analyzeCanary(
  window: { step: number; weight: number; at: string; windowSeconds: number },
  canary: SideStats,
  champion: SideStats,
  thresholds: AnalysisThresholds,
  extras: AnalysisExtras = {},
): AnalysisResult {
  const enough = canary.requests >= thresholds.minRequests;
  const championEnough = champion.requests >= thresholds.minRequests;
  const canaryP99 = percentileFromBuckets(canary.latencyCounts, 0.99);
  const championP99 = percentileFromBuckets(champion.latencyCounts, 0.99);
  const checks: AnalysisCheck[] = [];

  // p99 of a few hundred requests is the slowest two or three: one hiccup of a shared machine
  // (a demo canary of 126 requests read 21 ms against 2.7 ms that way). The analysis compares p95
  // until both sides have enough requests that p99 rests on at least five of them.
  const tailQuantile = Math.min(canary.requests, champion.requests) >= p99MinRequests ? 0.99 : 0.95;
  const tail = tailQuantile === 0.99 ? 'p99' : 'p95';
  const canaryTail = percentileFromBuckets(canary.latencyCounts, tailQuantile);
  const championTail = percentileFromBuckets(champion.latencyCounts, tailQuantile);
  if (enough && championEnough && canaryTail !== null && championTail !== null) {
    const ratio = canaryTail / championTail;
    const slower =
      ratio > thresholds.maxLatencyP99Ratio && canaryTail - championTail > thresholds.minLatencyIncreaseMs;
    checks.push({
      name: 'latency',
      outcome: slower ? 'failed' : 'passed',
      value: ratio,
      threshold: thresholds.maxLatencyP99Ratio,
      detail: `${tail} ${canaryTail.toFixed(2)} ms vs champion ${championTail.toFixed(2)} ms`,
    });
  } else {
    checks.push(skipped('latency', 'not enough requests on both sides'));
  }

  const canaryRate = rate(canary);
  if (enough && canaryRate !== null) {
    const championRate = rate(champion) ?? 0;
    const increase = canaryRate - championRate;
    checks.push({
      name: 'errors',
      outcome: increase > thresholds.maxErrorRateIncrease ? 'failed' : 'passed',
      value: increase,
      threshold: thresholds.maxErrorRateIncrease,
      detail: `error rate ${(canaryRate * 100).toFixed(2)} % vs champion ${(championRate * 100).toFixed(2)} %`,
    });
  } else {
    checks.push(skipped('errors', 'not enough canary requests'));
  }

  if (enough && championEnough) {
    const bins = mergeSparseBins(champion.predictionCounts, canary.predictionCounts);
    const shift = excessPsi(bins.expected, bins.actual);
    // A shift must be both large (PSI beyond noise) and unlikely by chance (chi-squared test of
    // homogeneity, both sides being samples): small windows then neither miss nor invent one.
    const { pValue } =
      bins.expected.length > 1 ? chiSquareContingency(bins.expected, bins.actual) : { pValue: 1 };
    checks.push({
      name: 'prediction_shift',
      outcome: shift.excess > thresholds.maxPredictionPsi && pValue < shiftSignificance ? 'failed' : 'passed',
      value: shift.excess,
      threshold: thresholds.maxPredictionPsi,
      detail: `PSI of canary predictions against the champion's over ${bins.expected.length} bins: ${shift.psi.toFixed(3)}, of which sampling noise ~${shift.noise.toFixed(3)} (chi-squared p = ${pValue.toPrecision(2)})`,
    });
  } else {
    checks.push(skipped('prediction_shift', 'not enough requests on both sides'));
  }

  if (extras.accuracy) {
    const { canary: right, champion: championRight, canaryLabels, championLabels } = extras.accuracy;
    const drop = championRight - right;
    // A drop is only held against the canary when labels this few could not have made it by chance
    // (one-sided two-proportion z-test at 1 %): 60 labels move accuracy by ±0.05 on their own.
    const { pValue } = zTestTwoProportions(
      Math.round(right * canaryLabels),
      canaryLabels,
      Math.round(championRight * championLabels),
      championLabels,
    );
    const oneSided = drop > 0 ? pValue / 2 : 1;
    checks.push({
      name: 'accuracy',
      outcome: drop > thresholds.maxAccuracyDrop && oneSided < shiftSignificance ? 'failed' : 'passed',
      value: drop,
      threshold: thresholds.maxAccuracyDrop,
      detail: `accuracy ${right.toFixed(3)} on ${canaryLabels} labels vs champion ${championRight.toFixed(3)} on ${championLabels} (one-sided p = ${oneSided.toPrecision(2)})`,
    });
  } else {
    const counts = extras.labelled;
    checks.push(
      skipped(
        'accuracy',
        counts
          ? `too few delayed labels in this window: ${counts.canary} canary, ${counts.champion} champion (need ${thresholds.minLabels} each)`
          : 'no delayed labels for this window yet',
      ),
    );
  }

  if (extras.parity) {
    checks.push({
      name: 'parity',
      outcome: extras.parity.mismatchRate > thresholds.maxParityMismatchRate ? 'failed' : 'passed',
      value: extras.parity.mismatchRate,
      threshold: thresholds.maxParityMismatchRate,
      detail: `feature parity report of ${extras.parity.checkedAt}`,
    });
  } else {
    checks.push(skipped('parity', 'no parity report for the feature view'));
  }

  const failed = checks.some((check) => check.outcome === 'failed');
  return {
    ...window,
    verdict: failed ? 'failed' : enough ? 'passed' : 'inconclusive',
    canary: { requests: canary.requests, errorRate: canaryRate, p99Ms: canaryP99 },
    champion: { requests: champion.requests, errorRate: rate(champion), p99Ms: championP99 },
    checks,
  };
}

const skipped = (name: AnalysisCheck['name'], detail: string): AnalysisCheck => ({
  name,
  outcome: 'skipped',
  value: null,
  threshold: null,
  detail,
});

/** The failed checks of an analysis, as reasons a person can read. */
export const failureReasons = (analysis: AnalysisResult): string[] =>
  analysis.checks
    .filter((check) => check.outcome === 'failed')
    .map((check) => `${check.name}: ${check.detail} (${check.value?.toFixed(4)} > ${check.threshold})`);
