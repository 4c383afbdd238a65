import { ShepherdError } from '@shepherd/core/errors';

/** Metrics are plain name → number records, the shape the registry stores and MLflow logs. */
export type Metrics = Record<string, number>;

// Type literals (not interfaces) so they stay assignable to `Metrics`.
export type BinaryClassificationMetrics = {
  /** Omitted (not NaN) when the labels hold one class only: ROC AUC is undefined then. */
  roc_auc?: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  log_loss: number;
  /** Share of rows labelled 1. */
  positive_rate: number;
  /** Share of rows predicted 1 at the threshold. */
  predicted_positive_rate: number;
  row_count: number;
};

export type RegressionMetrics = {
  rmse: number;
  mae: number;
  /**
   * Coefficient of determination, 1 - SS_res / SS_tot, as scikit-learn's r2_score. Omitted (not
   * NaN) when every target is the same: it is undefined then.
   */
  r2?: number;
  /** Mean of the targets: the RMSE of always predicting it is their standard deviation. */
  target_mean: number;
  row_count: number;
};

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export const defaultThreshold = 0.5;
export const logLossEpsilon = 1e-15;

type Numbers = ArrayLike<number>;

export function binaryClassificationMetrics(
  labels: Numbers,
  probabilities: Numbers,
  options: { threshold?: number } = {},
): BinaryClassificationMetrics {
  const threshold = options.threshold ?? defaultThreshold;
  checkPairs(labels, probabilities, 'probabilities');
  checkLabels(labels);
  checkProbabilities(probabilities);
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new ShepherdError('bad_request', `threshold must be within [0, 1], got ${threshold}`);
  }
  const n = labels.length;
  const { tp, fp, tn, fn } = countConfusion(labels, probabilities, threshold);
  const auc = aucOf(labels, probabilities);
  return {
    ...(auc === undefined ? {} : { roc_auc: auc }),
    accuracy: (tp + tn) / n,
    precision: tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: tp + fn === 0 ? 0 : tp / (tp + fn),
    f1: 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn),
    log_loss: logLossOf(labels, probabilities, logLossEpsilon),
    positive_rate: (tp + fn) / n,
    predicted_positive_rate: (tp + fp) / n,
    row_count: n,
  };
}

/** Predicted positive means probability >= threshold. */
export function confusionMatrix(
  labels: Numbers,
  probabilities: Numbers,
  threshold = defaultThreshold,
): ConfusionMatrix {
  checkPairs(labels, probabilities, 'probabilities');
  checkLabels(labels);
  return countConfusion(labels, probabilities, threshold);
}

/**
 * Exact ROC AUC with ties counted as half (the Mann–Whitney U statistic, as scikit-learn's
 * roc_auc_score computes it), in O(n log n). `undefined` when only one class is present.
 */
export function rocAuc(labels: Numbers, scores: Numbers): number | undefined {
  checkPairs(labels, scores, 'scores');
  checkLabels(labels);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new ShepherdError('unprocessable', `score at row ${i} is NaN`);
  }
  return aucOf(labels, scores);
}

/** Mean binary cross-entropy with probabilities clipped to [eps, 1 - eps] so it stays finite. */
export function logLoss(labels: Numbers, probabilities: Numbers, eps = logLossEpsilon): number {
  checkPairs(labels, probabilities, 'probabilities');
  checkLabels(labels);
  checkProbabilities(probabilities);
  return logLossOf(labels, probabilities, eps);
}

export function regressionMetrics(targets: Numbers, predictions: Numbers): RegressionMetrics {
  checkPairs(targets, predictions, 'predictions');
  let squared = 0;
  let absolute = 0;
  let sum = 0;
  for (let i = 0; i < targets.length; i++) {
    const error = predictions[i]! - targets[i]!;
    if (!Number.isFinite(error)) {
      throw new ShepherdError('unprocessable', `target or prediction at row ${i} is not a finite number`);
    }
    squared += error * error;
    absolute += Math.abs(error);
    sum += targets[i]!;
  }
  const n = targets.length;
  const mean = sum / n;
  let total = 0;
  for (let i = 0; i < n; i++) total += (targets[i]! - mean) ** 2;
  return {
    rmse: Math.sqrt(squared / n),
    mae: absolute / n,
    ...(total > 0 ? { r2: 1 - squared / total } : {}),
    target_mean: mean,
    row_count: n,
  };
}

function checkPairs(labels: Numbers, values: Numbers, what: string): void {
  if (labels.length !== values.length) {
    throw new ShepherdError('bad_request', `${labels.length} labels but ${values.length} ${what}`);
  }
  if (labels.length === 0) throw new ShepherdError('unprocessable', 'no rows to evaluate');
}

function checkLabels(labels: Numbers): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) {
      throw new ShepherdError('unprocessable', `label at row ${i} is ${label}; binary labels are 0 or 1`);
    }
  }
}

function checkProbabilities(probabilities: Numbers): void {
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (!(p >= 0 && p <= 1)) {
      throw new ShepherdError('unprocessable', `probability at row ${i} is ${p}, outside [0, 1]`);
    }
  }
}

function countConfusion(labels: Numbers, probabilities: Numbers, threshold: number): ConfusionMatrix {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = probabilities[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

function aucOf(labels: Numbers, scores: Numbers): number | undefined {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i]!;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return undefined;

  // Sorting each class's scores with the native numeric sort beats sorting index pairs with a
  // comparator by an order of magnitude; a merge then counts, for every positive, the negatives
  // strictly below it plus half of those tied with it.
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[p++] = scores[i]!;
    else neg[q++] = scores[i]!;
  }
  pos.sort();
  neg.sort();
  let below = 0;
  let belowOrTied = 0;
  let sum = 0;
  for (let i = 0; i < positives; i++) {
    const score = pos[i]!;
    while (below < negatives && neg[below]! < score) below++;
    if (belowOrTied < below) belowOrTied = below;
    while (belowOrTied < negatives && neg[belowOrTied]! <= score) belowOrTied++;
    sum += below + (belowOrTied - below) / 2;
  }
  return sum / positives / negatives;
}

function logLossOf(labels: Numbers, probabilities: Numbers, eps: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i]!, eps), 1 - eps);
    total -= labels[i] === 1 ? Math.log(p) : Math.log1p(-p);
  }
  return total / labels.length;
}
