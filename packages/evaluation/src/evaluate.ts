import type { LabelledDataset } from './csv.ts';
import { binaryClassificationMetrics, type BinaryClassificationMetrics } from './metrics.ts';
import type { ClassifierModel } from './model.ts';

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
