import { z } from 'zod';

/**
 * The contract between Shepherd's worker and external training code. The worker runs the
 * trainer's command as a cancellable, heartbeating activity with these environment variables:
 *
 *   SHEPHERD_TRAIN_DATA     path to the training rows (CSV, header row; see datasetColumns)
 *   SHEPHERD_OUTPUT_DIR     an empty directory the trainer writes its outputs into
 *   SHEPHERD_PARAMS         JSON object of hyperparameters (may be "{}")
 *   SHEPHERD_SEED           integer seed; the same data, params and seed must give the same model
 *   MLFLOW_TRACKING_URI     MLflow server (unset when MLflow is off)
 *   MLFLOW_RUN_ID           the run to log params and metrics into (created by the worker; unset when off)
 *
 * The trainer writes:
 *   $SHEPHERD_OUTPUT_DIR/model.onnx     ONNX model; input "features" float32 [N, F] in featureNames order;
 *                                       the output named by modelOutputs for the model's task:
 *                                         binary_classification  "probabilities" float32 [N, 2], column 1
 *                                                                being P(label = 1)
 *                                         regression             "predictions" float32 [N, 1] (or [N]),
 *                                                                one predicted target per row
 *                                       other outputs (e.g. a classifier's "label") are ignored
 *   $SHEPHERD_OUTPUT_DIR/result.json    trainerResult below
 * and may print progress lines to stdout, one JSON object per line: {"progress": 0.4, "message": "..."}.
 * Exit code 0 means success; anything else is a failed training with stderr's tail as the reason.
 */
/** What a model predicts; it decides the ONNX output Shepherd reads and the metrics it computes. */
export const modelTasks = ['binary_classification', 'regression'] as const;
export const modelTask = z.enum(modelTasks);
export type ModelTask = (typeof modelTasks)[number];

/** The model's input name, the same for every task. */
export const modelInput = 'features';

/** The ONNX output Shepherd reads, by task (shapes in the comment above). */
export const modelOutputs = {
  binary_classification: 'probabilities',
  regression: 'predictions',
} as const satisfies Record<ModelTask, string>;

export const trainerResult = z.object({
  featureNames: z.array(z.string().min(1)).min(1),
  /** Metrics the trainer measured on its own data (e.g. train AUC); evaluation is done by Shepherd. */
  trainingMetrics: z.record(z.string(), z.number()),
  framework: z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

export type TrainerResult = z.infer<typeof trainerResult>;

export const trainerProgress = z.object({
  progress: z.number().min(0).max(1),
  message: z.string().optional(),
});

/**
 * Columns of a labelled dataset CSV: a row id, the entity, an event time, the features, and
 * `label` (0 or 1 for binary classification; any finite number for regression). Every column that is not one of these four is a feature, in header order;
 * the reference trainer applies the same rule.
 */
export const datasetColumns = {
  id: 'transaction_id',
  entity: 'card_id',
  time: 'event_time',
  label: 'label',
} as const;

export function featureColumns(header: readonly string[]): string[] {
  const reserved = new Set<string>(Object.values(datasetColumns));
  return header.filter((column) => !reserved.has(column));
}
