import { describe, expect, it } from 'vitest';
import type { DriftReportView, FeatureHistogramView } from './api.ts';
import { featureRows, histogramBars } from './drift-rows.ts';

const feature = (name: string, score: number | null, drifted: boolean) => ({
  feature: name,
  method: 'ks',
  statistic: score,
  pValue: score === null ? null : 1 - score,
  score,
  threshold: 0.5,
  drifted,
  effect: null,
  currentCount: 100,
  referenceCount: 1000,
});

const report = (sequence: number, features: ReturnType<typeof feature>[]): DriftReportView => ({
  id: `r${sequence}`,
  endpoint: 'fraud-scoring',
  monitorId: 'm',
  sequence,
  versionId: null,
  version: 1,
  windowStart: `2026-01-01T00:0${sequence}:00Z`,
  windowEnd: `2026-01-01T00:0${sequence + 1}:00Z`,
  predictions: 100,
  judged: 100,
  labels: 0,
  drifted: features.some((f) => f.drifted),
  signals: [
    { signal: 'skew', outcome: 'stable', detail: '', shareDrifted: 0, features, metric: null },
    {
      signal: 'drift',
      outcome: 'skipped',
      detail: 'no baseline yet',
      shareDrifted: null,
      features: [],
      metric: null,
    },
  ],
  createdAt: '2026-01-01T00:00:00Z',
});

describe('featureRows', () => {
  it('keeps the latest verdict per signal and feature with its scores over the windows, oldest first', () => {
    const rows = featureRows([
      report(1, [feature('amount', 0.1, false), feature('country', 0.2, false)]),
      report(2, [feature('amount', null, false)]),
      report(3, [feature('amount', 0.7, true)]),
    ]);
    expect(rows.map((row) => [row.signal, row.feature, row.score, row.drifted])).toEqual([
      ['skew', 'amount', 0.7, true],
      ['skew', 'country', 0.2, false],
    ]);
    // A window without a score (too few rows) leaves a gap rather than a zero.
    expect(rows[0]!.history).toEqual([
      { at: '2026-01-01T00:02:00Z', score: 0.1 },
      { at: '2026-01-01T00:04:00Z', score: 0.7 },
    ]);
  });
});

describe('histogramBars', () => {
  const counts = (values: number[], extra: Partial<FeatureHistogramView['current']> = {}) => ({
    counts: values,
    below: 0,
    above: 0,
    missing: 0,
    total: values.reduce((a, b) => a + b, 0) + (extra.below ?? 0) + (extra.above ?? 0),
    ...extra,
  });
  const histogram = (overrides: Partial<FeatureHistogramView>): FeatureHistogramView => ({
    endpoint: 'fraud-scoring',
    feature: 'amount',
    kind: 'numeric',
    edges: [0, 0.5, 1],
    categories: null,
    reference: counts([30, 10]),
    current: counts([5, 5]),
    window: {
      reportId: 'r',
      sequence: 3,
      windowStart: '2026-01-01T00:00:00Z',
      windowEnd: '2026-01-01T00:01:00Z',
      versionId: 'v',
      version: 1,
      judged: 10,
    },
    verdicts: [],
    ...overrides,
  });

  it('gives each bin both sides as shares of their own totals, labelled by its left edge', () => {
    expect(histogramBars(histogram({}))).toEqual([
      { label: '0', reference: 0.75, current: 0.5 },
      { label: '0.50', reference: 0.25, current: 0.5 },
    ]);
  });

  it('adds bars for what the window has outside the training range', () => {
    const bars = histogramBars(histogram({ current: counts([2, 2], { below: 1, above: 5 }) }));
    expect(bars.map((bar) => bar.label)).toEqual(['< 0', '0', '0.50', '> 1']);
    expect(bars[0]).toEqual({ label: '< 0', reference: 0, current: 0.1 });
    expect(bars[3]).toEqual({ label: '> 1', reference: 0, current: 0.5 });
  });

  it('labels categorical bins by category', () => {
    const bars = histogramBars(
      histogram({
        kind: 'categorical',
        edges: null,
        categories: ['1', '2', '(other)'],
        reference: counts([8, 2, 0]),
        current: counts([1, 1, 2]),
      }),
    );
    expect(bars).toEqual([
      { label: '1', reference: 0.8, current: 0.25 },
      { label: '2', reference: 0.2, current: 0.25 },
      { label: '(other)', reference: 0, current: 0.5 },
    ]);
  });

  it('draws an empty window as zeros rather than dividing by nothing', () => {
    expect(histogramBars(histogram({ current: counts([0, 0]) })).map((bar) => bar.current)).toEqual([0, 0]);
  });
});
