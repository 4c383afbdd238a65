import type { ContinuousLabelledDataset, LabelledDataset } from './csv.ts';
import {
  binaryClassificationMetrics,
  regressionMetrics,
  type BinaryClassificationMetrics,
  type RegressionMetrics,
} from './metrics.ts';
import type { ClassifierModel, RegressorModel } from './model.ts';

export interface ClassifierEvaluation {
  metrics: BinaryClassificationMetrics;
  /** Positive-class probability per row, for reports and drift reference profiles. */
  probabilities: Float32Array;
}

/** Scores a labelled dataset with a model: the step run for candidate and champion on the same holdout. */
export async function evaluateClassifier(
  model: ClassifierModel,
  dataset: LabelledDataset,
  options: { threshold?: number } = {},
): Promise<ClassifierEvaluation> {
  const probabilities = await model.predictProba(
    dataset.features,
    dataset.nRows,
    dataset.featureNames.length,
  );
  return { metrics: binaryClassificationMetrics(dataset.labels, probabilities, options), probabilities };
}

export interface RegressorEvaluation {
  metrics: RegressionMetrics;
  /** Prediction per row, for reports and drift reference profiles. */
  predictions: Float32Array;
}

/** The regression counterpart of evaluateClassifier, on a dataset read with `target: 'continuous'`. */
export async function evaluateRegressor(
  model: RegressorModel,
  dataset: ContinuousLabelledDataset,
): Promise<RegressorEvaluation> {
  const predictions = await model.predict(dataset.features, dataset.nRows, dataset.featureNames.length);
  return { metrics: regressionMetrics(dataset.labels, predictions), predictions };
}
