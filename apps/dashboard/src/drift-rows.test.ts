import { describe, expect, it } from 'vitest';
import type { DriftReportView } from './api.ts';
import { featureRows } from './drift-rows.ts';

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
