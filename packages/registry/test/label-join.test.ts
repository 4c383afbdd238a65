import { describe, expect, it } from 'vitest';
import { analysisThresholds } from '@shepherd/contracts/serving';
import { analyzeCanary } from '../src/canary-analysis.ts';
import { accuracyOf, canaryAccuracy, matchLabels, type LabelTarget } from '../src/label-join.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, seconds));

const prediction = (id: string, entityId: string | null, seconds: number, value: number, versionId = 'v1') =>
  ({ predictionId: id, entityId, at: at(seconds), prediction: value, versionId }) satisfies LabelTarget;

describe('matchLabels', () => {
  it('joins by prediction id first, else the same entity nearest in time within the limit', () => {
    const predictions = [
      prediction('p1', 'card-1', 0, 0.9, 'canary'),
      prediction('p2', 'card-1', 50, 0.2, 'champion'),
      prediction('p3', 'card-2', 10, 0.8, 'champion'),
      prediction('p4', null, 10, 0.1, 'champion'),
    ];
    const joined = matchLabels(
      [
        // Names p4 (no entity) directly: only the id can find it.
        { id: 'p4', entityId: 'card-9', eventTime: at(0), label: 0 },
        // No id: card-1's nearest prediction to t=45 is p2 (t=50), not p1 (t=0).
        { id: null, entityId: 'card-1', eventTime: at(45), label: 1 },
        // No id, and card-2's only prediction is 40 s away: beyond a 30 s join.
        { id: null, entityId: 'card-2', eventTime: at(50), label: 1 },
        // An id nobody logged falls back to the entity: card-1's unused p1.
        { id: 'unknown', entityId: 'card-1', eventTime: at(1), label: 1 },
      ],
      predictions,
      30,
    );
    expect(joined).toEqual([
      { prediction: 0.1, label: 0, versionId: 'champion' },
      { prediction: 0.2, label: 1, versionId: 'champion' },
      { prediction: 0.9, label: 1, versionId: 'canary' },
    ]);
  });

  it('gives each prediction one label at most', () => {
    const joined = matchLabels(
      [
        { id: null, entityId: 'card-1', eventTime: at(0), label: 1 },
        { id: null, entityId: 'card-1', eventTime: at(1), label: 0 },
      ],
      [prediction('p1', 'card-1', 0, 0.9)],
      30,
    );
    expect(joined).toHaveLength(1);
  });
});

describe('canaryAccuracy', () => {
  const pairs = (versionId: string, right: number, wrong: number) => [
    ...Array.from({ length: right }, () => ({ prediction: 0.9, label: 1, versionId })),
    ...Array.from({ length: wrong }, () => ({ prediction: 0.9, label: 0, versionId })),
  ];

  it('judges only when both sides have enough labels', () => {
    const joined = [...pairs('canary', 10, 10), ...pairs('champion', 40, 0)];
    expect(canaryAccuracy(joined, { canary: 'canary', champion: 'champion' }, 30)).toEqual({
      labelled: { canary: 20, champion: 40 },
    });
    expect(canaryAccuracy(joined, { canary: 'canary', champion: 'champion' }, 20)).toEqual({
      labelled: { canary: 20, champion: 40 },
      accuracy: { canary: 0.5, champion: 1, canaryLabels: 20, championLabels: 40 },
    });
  });

  it('feeds the analysis: a canary that gets labels wrong fails its accuracy check, too few labels skip it', () => {
    const thresholds = analysisThresholds.parse({ minRequests: 1, minLabels: 20 });
    const side = { requests: 100, errors: 0, latencyCounts: [100], predictionCounts: [50, 50] };
    const window = { step: 0, weight: 20, at: at(0).toISOString(), windowSeconds: 5 };
    const bad = canaryAccuracy(
      [...pairs('c', 5, 20), ...pairs('p', 25, 0)],
      { canary: 'c', champion: 'p' },
      20,
    );
    const failed = analyzeCanary(window, side, side, thresholds, bad);
    expect(failed.checks.find((c) => c.name === 'accuracy')).toMatchObject({ outcome: 'failed', value: 0.8 });
    expect(failed.verdict).toBe('failed');
    const few = canaryAccuracy(
      [...pairs('c', 5, 0), ...pairs('p', 25, 0)],
      { canary: 'c', champion: 'p' },
      20,
    );
    const skipped = analyzeCanary(window, side, side, thresholds, few);
    expect(skipped.checks.find((c) => c.name === 'accuracy')).toMatchObject({ outcome: 'skipped' });
    expect(skipped.checks.find((c) => c.name === 'accuracy')?.detail).toContain('5 canary, 25 champion');
  });

  it('counts a probability at or above 0.5 as the positive class', () => {
    expect(
      accuracyOf([
        { prediction: 0.5, label: 1 },
        { prediction: 0.49, label: 0 },
        { prediction: 0.7, label: 0 },
        { prediction: 0.1, label: 1 },
      ]),
    ).toBe(0.5);
  });
});
