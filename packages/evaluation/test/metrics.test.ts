import { describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import {
  binaryClassificationMetrics,
  confusionMatrix,
  logLoss,
  type Metrics,
  regressionMetrics,
  rocAuc,
} from '../src/metrics.ts';

// Reference values from scikit-learn 1.9.1 (roc_auc_score, log_loss on probabilities clipped at
// 1e-15, accuracy/precision/recall/f1 with zero_division=0 on p >= threshold, mean_squared_error,
// mean_absolute_error), printed by test/fixtures/metrics_reference.py with the same vectors.
const ties = {
  labels: [0, 0, 1, 1, 0, 1, 0, 1, 1, 0],
  scores: [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.2, 0.9, 0.35, 0.7],
};
const grid = {
  labels: [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0],
  scores: [
    0.1, 0.7, 0.3, 0.2, 0.5, 0.5, 0.0, 0.1, 0.9, 0.4, 0.5, 0.3, 0.6, 0.2, 0.1, 0.0, 0.8, 0.3, 0.5, 0.2, 1.0,
    0.6, 0.1, 0.4, 0.3, 0.2, 0.0, 0.7, 0.4, 0.1,
  ],
};

describe('rocAuc', () => {
  it('matches scikit-learn with ties across classes', () => {
    expect(rocAuc(ties.labels, ties.scores)).toBeCloseTo(0.68, 12);
    expect(rocAuc(grid.labels, grid.scores)).toBeCloseTo(0.9021164021164021, 12);
  });

  it('is 1 for a perfect ranking, 0 for a reversed one and 0.5 when every score ties', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('by hand: one positive tied with one of two negatives', () => {
    // Positive 0.5 vs negatives 0.5 (tie: 1/2) and 0.2 (below: 1) => (1 + 0.5) / 2.
    expect(rocAuc([1, 0, 0], [0.5, 0.5, 0.2])).toBe(0.75);
  });

  it('accepts typed arrays and arbitrary real scores', () => {
    expect(rocAuc(Uint8Array.from([0, 1, 0, 1]), Float32Array.from([-3, 2, -1, 10]))).toBe(1);
  });

  it('is undefined when only one class is present', () => {
    expect(rocAuc([1, 1, 1], [0.2, 0.4, 0.9])).toBeUndefined();
    expect(binaryClassificationMetrics([0, 0], [0.2, 0.4])).not.toHaveProperty('roc_auc');
  });

  it('agrees with the O(n^2) pair count on random data with many ties', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const n = 2000;
    const labels = Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
    const scores = labels.map((label) => Math.round((random() + label * 0.3) * 20) / 20);
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < n; j++) {
        if (labels[j] !== 0) continue;
        pairs++;
        wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    expect(rocAuc(labels, scores)).toBeCloseTo(wins / pairs, 12);
  });
});

describe('logLoss', () => {
  it('matches scikit-learn', () => {
    expect(logLoss(ties.labels, ties.scores)).toBeCloseTo(0.58985671666735, 12);
    expect(logLoss(grid.labels, grid.scores)).toBeCloseTo(0.3759446846643945, 12);
  });

  it('clips certain-and-wrong predictions at 1e-15 instead of going infinite', () => {
    // scikit-learn's log_loss on np.clip(p, 1e-15, 1 - 1e-15). Not quite -ln(1e-15) = 34.5388 for
    // the label-0 row: 1 - (1 - 1e-15) is 9.992e-16 in doubles, so that row costs 34.5396.
    expect(logLoss([1], [0])).toBeCloseTo(34.538776394910684, 12);
    expect(logLoss([1, 0], [0, 1])).toBeCloseTo(34.53917619362578, 12);
    // scikit-learn: 9.992e-16; log1p here is a hair more exact for the label-0 row (1.0e-15).
    expect(logLoss([1, 0], [1, 0])).toBeCloseTo(9.992007221626415e-16, 18);
  });

  it('by hand: ln 2 for coin flips', () => {
    expect(logLoss([0, 1, 1], [0.5, 0.5, 0.5])).toBeCloseTo(Math.LN2, 15);
  });
});

describe('binaryClassificationMetrics', () => {
  it.each([
    ['ties', ties, 0.5, { accuracy: 0.6, precision: 0.6666666666666666, recall: 0.4, f1: 0.5 }],
    ['ties', ties, 0.35, { accuracy: 0.7, precision: 0.625, recall: 1.0, f1: 0.7692307692307693 }],
    [
      'grid',
      grid,
      0.5,
      { accuracy: 0.8, precision: 0.6363636363636364, recall: 0.7777777777777778, f1: 0.7 },
    ],
    [
      'grid',
      grid,
      0.35,
      {
        accuracy: 0.7666666666666667,
        precision: 0.5714285714285714,
        recall: 0.8888888888888888,
        f1: 0.6956521739130435,
      },
    ],
  ])('matches scikit-learn on %s at threshold %s', (_name, data, threshold, expected) => {
    const metrics: Metrics = binaryClassificationMetrics(data.labels, data.scores, { threshold });
    for (const [name, value] of Object.entries(expected)) expect(metrics[name]).toBeCloseTo(value, 12);
  });

  it('reports positive rates and row count, with the default threshold 0.5 inclusive', () => {
    const metrics = binaryClassificationMetrics(ties.labels, ties.scores);
    expect(metrics.row_count).toBe(10);
    expect(metrics.positive_rate).toBe(0.5);
    // 0.8, 0.9, 0.7 are >= 0.5.
    expect(metrics.predicted_positive_rate).toBe(0.3);
    expect(metrics.roc_auc).toBeCloseTo(0.68, 12);
    expect(binaryClassificationMetrics([1, 0], [0.5, 0.49])).toMatchObject({
      accuracy: 1,
      precision: 1,
      recall: 1,
    });
  });

  it('scores precision, recall and F1 as 0 when nothing is predicted or labelled positive', () => {
    expect(binaryClassificationMetrics([0, 1], [0.1, 0.2])).toMatchObject({ precision: 0, recall: 0, f1: 0 });
    expect(binaryClassificationMetrics([0, 0], [0.1, 0.9])).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('counts the confusion matrix', () => {
    expect(confusionMatrix(ties.labels, ties.scores, 0.35)).toEqual({ tp: 5, fp: 3, tn: 2, fn: 0 });
  });

  it('computes a million rows quickly', () => {
    const n = 1_000_000;
    const labels = new Uint8Array(n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 7 === 0 ? 1 : 0;
      scores[i] = ((i * 7919) % 1000) / 1000;
    }
    const started = performance.now();
    const metrics = binaryClassificationMetrics(labels, scores);
    expect(metrics.row_count).toBe(n);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it.each([
    [[0, 2], [0.1, 0.2], 'label at row 1 is 2'],
    [[0, 1], [0.1, 1.2], 'probability at row 1 is 1.2'],
    [[0, 1], [0.1, Number.NaN], 'probability at row 1 is NaN'],
    [[0, 1], [0.1], '2 labels but 1 probabilities'],
    [[], [], 'no rows'],
  ])('refuses bad input %#', (labels, scores, message) => {
    expect(() => binaryClassificationMetrics(labels, scores)).toThrow(ShepherdError);
    expect(() => binaryClassificationMetrics(labels, scores)).toThrow(message);
  });
});

describe('regressionMetrics', () => {
  it('matches scikit-learn', () => {
    const metrics = regressionMetrics([3.0, -0.5, 2.0, 7.0, 4.25], [2.5, 0.0, 2.0, 8.0, 3.0]);
    expect(metrics.rmse).toBeCloseTo(0.7826237921249264, 12);
    expect(metrics.mae).toBeCloseTo(0.65, 12);
    // sklearn.metrics.r2_score([3.0, -0.5, 2.0, 7.0, 4.25], [2.5, 0.0, 2.0, 8.0, 3.0])
    expect(metrics.r2).toBeCloseTo(0.9002442996742671, 12);
    expect(metrics.target_mean).toBeCloseTo(3.15, 12);
    expect(metrics.row_count).toBe(5);
  });

  it('omits r2 when every target is the same', () => {
    const metrics = regressionMetrics([2, 2, 2], [1, 2, 3]);
    expect(metrics).not.toHaveProperty('r2');
    expect(metrics.rmse).toBeCloseTo(Math.sqrt(2 / 3), 12);
  });

  it('refuses non-finite values', () => {
    expect(() => regressionMetrics([1, 2], [1, Number.POSITIVE_INFINITY])).toThrow('row 1');
  });
});
