import { z } from 'zod';
import { analysisThresholds, endpointName, rolloutStep } from './serving.ts';
import { modelTask } from './trainer.ts';
import { kafkaTopicName } from './kafka.ts';

const artifactUri = z
  .string()
  .regex(/^(s3:\/\/[^/]+\/.+|file:\/\/\/.+)$/, { message: 'must be an s3://bucket/key or file:///path URI' });

/**
 * One metric's gate, after MLflow's MetricThreshold:
 * - threshold: the candidate's value must be >= it (greaterIsBetter) or <= it;
 * - minAbsoluteChange: the candidate must beat the champion by at least this much
 *   (0 means "no worse than the champion"; a negative value tolerates a regression of at most |c|);
 * - minRelativeChange: the same as a share of the champion's magnitude.
 * The change gates need a champion; without one they are skipped, and the result says so.
 */
export const metricGate = z
  .strictObject({
    threshold: z.number().finite().optional(),
    minAbsoluteChange: z.number().finite().optional(),
    minRelativeChange: z.number().finite().min(-1).optional(),
    greaterIsBetter: z.boolean(),
  })
  .refine(
    (gate) =>
      gate.threshold !== undefined ||
      gate.minAbsoluteChange !== undefined ||
      gate.minRelativeChange !== undefined,
    { message: 'a gate needs at least one of threshold, minAbsoluteChange, minRelativeChange' },
  );

/** Gates by metric name, e.g. `{ roc_auc: { threshold: 0.85, minAbsoluteChange: 0, greaterIsBetter: true } }`. */
export const gateSpec = z.record(z.string().min(1), metricGate);

export type MetricGate = z.infer<typeof metricGate>;
export type GateSpec = z.infer<typeof gateSpec>;

export const promotionPolicy = z
  .object({
    /**
     * manual: a version that passes its gates becomes `challenger` and waits for approval;
     * auto: it is promoted to champion at once;
     * canary: it becomes `challenger` and a canary rollout on `canary.endpoint` decides.
     */
    mode: z.enum(['manual', 'auto', 'canary']).default('manual'),
    /** The first version of a model has no champion to beat: promote it when it passes its gates. */
    promoteFirstVersion: z.boolean().default(true),
    /** With mode `canary`: where and how to roll the new version out. */
    canary: z
      .object({
        endpoint: endpointName,
        steps: z.array(rolloutStep).min(1).max(20).optional(),
        analysisIntervalSeconds: z.number().min(1).max(3600).default(60),
        thresholds: analysisThresholds.partial().optional(),
      })
      .optional(),
  })
  .refine((policy) => policy.mode !== 'canary' || policy.canary !== undefined, {
    message: 'mode canary needs canary.endpoint',
    path: ['canary'],
  });

export type PromotionPolicy = z.infer<typeof promotionPolicy>;

export const trainingDataSpec = z
  .object({
    /** Labelled rows (CSV with transaction_id, event_time, features…, label). */
    uri: artifactUri.optional(),
    /**
     * Or a point-in-time training set: each label on `labelTopic` (default `labels.<model>`) joined
     * with these feature views as of the label's time; the Kafka offsets used go into the manifest.
     */
    views: z
      .array(
        z.strictObject({
          name: z.string().min(1).max(63),
          version: z.number().int().positive().optional(),
          /** Features and aggregates to take, in this order; default all numeric ones. */
          features: z.array(z.string().min(1).max(63)).min(1).max(500).optional(),
        }),
      )
      .min(1)
      .max(5)
      .optional(),
    labelTopic: kafkaTopicName.optional(),
    holdoutFraction: z.number().gt(0).lte(0.5).default(0.2),
    splitSeed: z.number().int().nonnegative().default(42),
  })
  .refine((data) => (data.uri === undefined) !== (data.views === undefined), {
    message:
      'name either uri (a CSV of labelled rows) or views (a point-in-time set from feature views and labels)',
  });

export const trainerSpec = z.object({
  /** A trainer registered with the worker (e.g. reference-sklearn); the API never runs arbitrary commands. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { message: 'must be a registered trainer name' }),
  params: z.record(z.string(), z.unknown()).default({}),
  seed: z.number().int().nonnegative().default(7),
});

const evaluationFields = {
  /** Idempotency key: the same request id never trains or imports twice. */
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, { message: 'must be 1-128 letters, digits, . _ : -' }),
  /** The labelled rows the holdout (and, for training, the training rows) come from. */
  data: trainingDataSpec,
  /** A fixed labelled set every candidate and the champion are also scored on. */
  goldenSetUri: artifactUri.optional(),
  gates: gateSpec.default({}),
  policy: promotionPolicy.default({ mode: 'manual', promoteFirstVersion: true }),
  description: z.string().max(2000).optional(),
};

/** POST …/models/{model}/trainings: train with a registered trainer, evaluate, gate, register. */
export const startTrainingBody = z.object({ ...evaluationFields, trainer: trainerSpec });

/** POST …/models/{model}/imports: "bring your own run": an MLflow run that holds an ONNX model. */
export const importRunBody = z.object({
  ...evaluationFields,
  mlflowRunId: z.string().regex(/^[A-Za-z0-9]{1,64}$/, { message: 'must be an MLflow run id' }),
  artifactPath: z
    .string()
    .regex(/^[A-Za-z0-9._/-]+\.onnx$/, { message: 'must be a relative path to an .onnx file' })
    .refine((path) => !path.split('/').includes('..'), { message: 'must not contain ..' })
    .default('model/model.onnx'),
});

export type StartTrainingBody = z.infer<typeof startTrainingBody>;
export type ImportRunBody = z.infer<typeof importRunBody>;

export const modelSource = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('trainer'), trainer: trainerSpec }),
  z.object({ kind: z.literal('mlflow_run'), runId: z.string(), artifactPath: z.string() }),
]);

export type ModelSource = z.infer<typeof modelSource>;

/** What the trainingPipeline workflow receives; ids are resolved by the API before it starts. */
export const trainingPipelineInput = z.object({
  projectId: z.string().uuid(),
  modelId: z.string().uuid(),
  modelName: z.string(),
  modelTask: modelTask,
  workflowId: z.string(),
  actor: z.string(),
  source: modelSource,
  requestId: z.string(),
  data: trainingDataSpec,
  goldenSetUri: z.string().optional(),
  gates: gateSpec,
  policy: promotionPolicy,
  description: z.string().optional(),
});

export type TrainingPipelineInput = z.infer<typeof trainingPipelineInput>;

export const gateResult = z.object({
  metric: z.string(),
  dataset: z.enum(['holdout', 'golden']),
  kind: z.enum(['threshold', 'absolute_change', 'relative_change']),
  required: z.number().nullable(),
  actual: z.number().nullable(),
  champion: z.number().nullable(),
  passed: z.boolean(),
  skipped: z.boolean(),
  message: z.string(),
});

export type GateResult = z.infer<typeof gateResult>;

export const metricSet = z.record(z.string(), z.number());

export const evaluationReport = z.object({
  candidate: z.object({ holdout: metricSet, golden: metricSet.optional() }),
  champion: z
    .object({ versionId: z.string(), version: z.number(), holdout: metricSet, golden: metricSet.optional() })
    .optional(),
  gates: z.array(gateResult),
  passed: z.boolean(),
});

export type EvaluationReport = z.infer<typeof evaluationReport>;

export const trainingOutcome = z.object({
  state: z.enum(['succeeded', 'rejected', 'failed']),
  versionId: z.string().optional(),
  version: z.number().optional(),
  aliases: z.array(z.string()).default([]),
  failedGates: z.array(z.string()).default([]),
  reason: z.string().optional(),
  /** With the canary policy: the rollout that now decides whether the version becomes champion. */
  rolloutId: z.string().optional(),
});

export type TrainingOutcome = z.infer<typeof trainingOutcome>;

/** Task queues, one per workload, so training never starves short control-plane workflows. */
export const taskQueues = { main: 'shepherd-main', training: 'shepherd-training' } as const;

export const trainingWorkflowId = (projectSlug: string, requestId: string) =>
  `training-${projectSlug}-${requestId}`;

/** The request id of the rollout a training run's canary policy starts: one per run. */
export const canaryRequestId = (trainingWorkflowId: string) => `${trainingWorkflowId}:canary`;
