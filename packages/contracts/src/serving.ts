import { z } from 'zod';
import { kafkaTopicName } from './kafka.ts';

/**
 * Serving: endpoints and their traffic split (control plane), predictions (data plane), the
 * statistics gateways report per version, and the canary rollouts that move traffic.
 */

// Same shape as a project slug; not imported from registry.ts, which imports training.ts, which imports this.
export const endpointName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lowercase letters, digits and -' });
export const endpointModes = ['canary', 'shadow'] as const;
export type EndpointMode = (typeof endpointModes)[number];

/** Service-level objectives of an endpoint; burn rates are measured against them. */
export const sloObjectives = z.strictObject({
  /** 99th percentile latency objective in milliseconds. */
  latencyP99Ms: z.number().positive().max(60_000).default(50),
  /** Share of requests that may fail (5xx or model error), e.g. 0.001. */
  errorRate: z.number().min(0).max(1).default(0.001),
  /** Share of requests that must succeed, e.g. 0.999. */
  availability: z.number().min(0).max(1).default(0.999),
});
export type SloObjectives = z.infer<typeof sloObjectives>;

const nullableNumber = z.number().nullable();
const objectivesView = z.object({
  latencyP99Ms: z.number(),
  errorRate: z.number(),
  availability: z.number(),
});
const burnRatesView = z.object({
  errors: nullableNumber,
  availability: nullableNumber,
  latency: nullableNumber,
});

/** Latency, errors and throughput of some stretch of serving (a window, a bucket), as the API reports them. */
const servingFigures = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: nullableNumber,
  availability: nullableNumber,
  p50Ms: nullableNumber,
  p95Ms: nullableNumber,
  p99Ms: nullableNumber,
  meanLatencyMs: nullableNumber,
  throughputPerSecond: z.number(),
});

export const statsSummaryView = servingFigures.extend({
  predictionMean: nullableNumber,
  predictionStdDev: nullableNumber,
});

/** `GET …/endpoints/{name}/slo`: objectives, sliding windows with burn rates, the last minutes per version. */
export const sloView = z.object({
  endpoint: z.string(),
  at: z.string(),
  objectives: objectivesView,
  fastBurn: z.boolean(),
  windows: z.array(
    statsSummaryView.extend({
      name: z.string(),
      seconds: z.number(),
      since: z.string(),
      until: z.string(),
      burnRates: burnRatesView,
      met: z.object({ errors: z.boolean(), availability: z.boolean(), latencyP99: z.boolean() }),
    }),
  ),
  /** The last five minutes per serving version, so a canary can be told from its champion. */
  versions: z.array(
    statsSummaryView.extend({ versionId: z.string(), version: z.number().int(), role: z.string() }),
  ),
});
export type SloView = z.infer<typeof sloView>;

const sloSeriesPoint = servingFigures.extend({
  at: z.string(),
  seconds: z.number(),
  burnRates: burnRatesView,
});
export type SloSeriesPoint = z.infer<typeof sloSeriesPoint>;

/** `GET …/endpoints/{name}/slo/series`: per time bucket, for the endpoint and per version. */
export const sloSeriesView = z.object({
  endpoint: z.string(),
  since: z.string(),
  until: z.string(),
  stepSeconds: z.number().int(),
  objectives: objectivesView,
  points: z.array(sloSeriesPoint),
  versions: z.array(
    z.object({
      versionId: z.string(),
      version: z.number().int().nullable(),
      role: z.enum(['champion', 'candidate', 'shadow']),
      points: z.array(sloSeriesPoint),
    }),
  ),
});
export type SloSeriesView = z.infer<typeof sloSeriesView>;

export const createEndpointBody = z.strictObject({
  name: endpointName,
  model: z.string().min(1).max(100),
  /** The version serving 100 % at first; default: the model's `champion` alias. */
  version: z.number().int().positive().optional(),
  /** Where features come from when a request sends an entity id and no features. */
  featureView: z
    .strictObject({ name: z.string().min(1).max(63), version: z.number().int().positive().optional() })
    .optional(),
  slo: sloObjectives.optional(),
});
export type CreateEndpointBody = z.infer<typeof createEndpointBody>;

/**
 * What a gateway needs to route a request: the champion, the candidate and its share, the mode.
 * `revision` grows with every change, so a gateway can tell a new configuration from an old one.
 */
export const endpointConfig = z.object({
  id: z.string(),
  projectId: z.string(),
  name: z.string(),
  modelId: z.string(),
  modelName: z.string(),
  task: z.string(),
  revision: z.number().int(),
  mode: z.enum(endpointModes),
  champion: z.object({ versionId: z.string(), version: z.number().int() }).nullable(),
  candidate: z.object({ versionId: z.string(), version: z.number().int() }).nullable(),
  /** Percent of traffic for the candidate in canary mode (0–100); in shadow mode it gets a copy of all. */
  candidateWeight: z.number().int().min(0).max(100),
  featureView: z.object({ name: z.string(), version: z.number().int().nullable() }).nullable(),
  slo: sloObjectives,
  updatedAt: z.string(),
});
export type EndpointConfig = z.infer<typeof endpointConfig>;

const featureValue = z.union([z.number(), z.boolean(), z.null()]);

export const predictRow = z
  .strictObject({
    /** Routes sticky: the same entity always gets the same version at a given split. */
    entityId: z.string().min(1).max(200).optional(),
    /** Features by name; when absent they come from the endpoint's feature view by entity id. */
    features: z.record(z.string(), featureValue).optional(),
  })
  .refine((row) => row.entityId !== undefined || row.features !== undefined, {
    message: 'each row needs an entityId, features, or both',
  });
export type PredictRow = z.infer<typeof predictRow>;

export const maxPredictRows = 1000;

export const predictBody = z.union([
  predictRow,
  z.strictObject({ rows: z.array(predictRow).min(1).max(maxPredictRows) }),
]);
export type PredictBody = z.infer<typeof predictBody>;

export const predictionResult = z.object({
  predictionId: z.string(),
  entityId: z.string().nullable(),
  /** Probability of the positive class (classification) or the predicted value (regression). */
  prediction: z.number(),
  /** For classification: the predicted class at threshold 0.5. */
  label: z.number().int().nullable(),
  model: z.string(),
  version: z.number().int(),
  role: z.enum(['champion', 'candidate']),
});
export type PredictionResult = z.infer<typeof predictionResult>;

export const predictResponse = z.object({
  endpoint: z.string(),
  predictions: z.array(predictionResult),
});

export const predictionsTopic = 'predictions';

/** One line of the prediction log on Kafka `predictions`, keyed by endpoint. */
export const predictionEvent = z.object({
  schemaVersion: z.literal(1),
  predictionId: z.string(),
  projectId: z.string(),
  endpoint: z.string(),
  model: z.string(),
  versionId: z.string(),
  version: z.number().int(),
  /** `shadow` outputs are logged, never returned. */
  role: z.enum(['champion', 'candidate', 'shadow']),
  entityId: z.string().nullable(),
  features: z.record(z.string(), featureValue),
  prediction: z.number(),
  latencyMs: z.number(),
  at: z.string(),
});
export type PredictionEvent = z.infer<typeof predictionEvent>;

/**
 * Latency histogram bounds in milliseconds, shared by the gateways that count and the analysis
 * that reads: each bound is ~19 % above the previous (2^(1/4)), from 50 µs to ~60 s, so a p99
 * read from buckets is within a fifth of the truth. Bucket i counts latencies <= bound i; the
 * last bucket counts the rest.
 */
export const latencyBucketBoundsMs: readonly number[] = Array.from(
  { length: 81 },
  (_, i) => 0.05 * 2 ** (i / 4),
);

/** Prediction histogram: 20 equal bins over [0, 1] for classifiers' probabilities. */
export const predictionBins = 20;

/** Percentile (0–1) from bucket counts over `latencyBucketBoundsMs`; null when there is no sample. */
export function percentileFromBuckets(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i] ?? 0;
    if (seen >= rank) {
      const bounds = latencyBucketBoundsMs;
      return bounds[Math.min(i, bounds.length - 1)] ?? null;
    }
  }
  return latencyBucketBoundsMs[latencyBucketBoundsMs.length - 1] ?? null;
}

export function latencyBucketIndex(ms: number): number {
  const bounds = latencyBucketBoundsMs;
  if (!(ms > bounds[0]!)) return 0;
  // The bounds are geometric, so the index is a logarithm; clamp for the overflow bucket.
  const index = Math.ceil(4 * Math.log2(ms / 0.05) - 1e-9);
  return Math.min(Math.max(index, 0), bounds.length);
}

/** A rollout step: the candidate's share, how long to bake, and whether a person must approve first. */
export const rolloutStep = z.strictObject({
  weight: z.number().int().min(1).max(100),
  bakeSeconds: z
    .number()
    .min(0)
    .max(7 * 86_400),
  manualApproval: z.boolean().default(false),
});
export type RolloutStep = z.infer<typeof rolloutStep>;

/** Thresholds of the canary analysis; a step fails when any check fails. */
export const analysisThresholds = z.strictObject({
  /** Canary p99 latency over champion p99 latency (p95 while a side has under 500 requests). */
  maxLatencyP99Ratio: z.number().positive().default(1.5),
  /** A latency difference below this many milliseconds never fails a step, whatever the ratio. */
  minLatencyIncreaseMs: z.number().min(0).default(5),
  /** Canary error rate minus champion error rate. */
  maxErrorRateIncrease: z.number().min(0).max(1).default(0.01),
  /** Population stability index between champion and canary predictions. */
  maxPredictionPsi: z.number().positive().default(0.25),
  /** Champion accuracy minus canary accuracy on delayed labels, when enough labels arrived. */
  maxAccuracyDrop: z.number().min(0).max(1).default(0.05),
  /** Share of mismatching values in the latest parity report of the endpoint's feature view. */
  maxParityMismatchRate: z.number().min(0).max(1).default(0.01),
  /** Fewer canary requests than this in a window: no verdict yet (inconclusive, not failed). */
  minRequests: z.number().int().min(1).default(50),
  /** Fewer labelled predictions than this on either side in a window: the accuracy check is skipped. */
  minLabels: z.number().int().min(1).default(30),
});
export type AnalysisThresholds = z.infer<typeof analysisThresholds>;

export const defaultRolloutSteps: RolloutStep[] = [
  { weight: 5, bakeSeconds: 300, manualApproval: false },
  { weight: 25, bakeSeconds: 300, manualApproval: false },
  { weight: 50, bakeSeconds: 300, manualApproval: false },
  { weight: 100, bakeSeconds: 0, manualApproval: false },
];

/**
 * Where the canary analysis finds delayed labels: labels that arrived in an analysis window are
 * joined with the endpoint's logged predictions (by prediction id, else the same entity's nearest
 * prediction within `joinSeconds`), and each side's accuracy is compared.
 */
export const rolloutLabels = z.strictObject({
  /** The gateways' prediction log. */
  predictionsTopic: kafkaTopicName.default(predictionsTopic),
  /** Default: the model's label topic, `labels.<model>`. */
  topic: kafkaTopicName.optional(),
  joinSeconds: z.number().int().min(1).max(86_400).default(300),
});
export type RolloutLabels = z.infer<typeof rolloutLabels>;

export const startRolloutBody = z.strictObject({
  /** Idempotency key: the same request id never starts two rollouts. */
  requestId: z.string().min(1).max(200),
  version: z.number().int().positive(),
  mode: z.enum(endpointModes).default('canary'),
  steps: z.array(rolloutStep).min(1).max(20).optional(),
  /** How often the analysis runs during a bake. */
  analysisIntervalSeconds: z.number().min(1).max(3600).default(60),
  thresholds: analysisThresholds.partial().optional(),
  labels: rolloutLabels.optional(),
});
export type StartRolloutBody = z.infer<typeof startRolloutBody>;

export const analysisCheckNames = ['latency', 'errors', 'prediction_shift', 'accuracy', 'parity'] as const;

export const analysisCheck = z.object({
  name: z.enum(analysisCheckNames),
  /** `skipped`: not enough data (or nothing to check), which does not fail a step. */
  outcome: z.enum(['passed', 'failed', 'skipped']),
  value: z.number().nullable(),
  threshold: z.number().nullable(),
  detail: z.string(),
});
export type AnalysisCheck = z.infer<typeof analysisCheck>;

export const analysisResult = z.object({
  step: z.number().int(),
  weight: z.number().int(),
  at: z.string(),
  windowSeconds: z.number(),
  verdict: z.enum(['passed', 'failed', 'inconclusive']),
  canary: z.object({ requests: z.number(), errorRate: z.number().nullable(), p99Ms: z.number().nullable() }),
  champion: z.object({
    requests: z.number(),
    errorRate: z.number().nullable(),
    p99Ms: z.number().nullable(),
  }),
  checks: z.array(analysisCheck),
});
export type AnalysisResult = z.infer<typeof analysisResult>;

export const rolloutStates = [
  'running',
  'awaiting_approval',
  'paused',
  'succeeded',
  'rolled_back',
  'aborted',
  'failed',
] as const;
export type RolloutState = (typeof rolloutStates)[number];
export const activeRolloutStates: readonly RolloutState[] = ['running', 'awaiting_approval', 'paused'];

export const rolloutView = z.object({
  id: z.string(),
  endpoint: z.string(),
  model: z.string(),
  candidate: z.object({ versionId: z.string(), version: z.number().int() }),
  champion: z.object({ versionId: z.string(), version: z.number().int() }).nullable(),
  mode: z.enum(endpointModes),
  state: z.enum(rolloutStates),
  step: z.number().int(),
  weight: z.number().int(),
  steps: z.array(rolloutStep),
  thresholds: analysisThresholds,
  analysisIntervalSeconds: z.number(),
  analyses: z.array(analysisResult),
  reasons: z.array(z.string()),
  workflowId: z.string(),
  startedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type RolloutView = z.infer<typeof rolloutView>;

export const rollbackBody = z.strictObject({
  requestId: z.string().min(1).max(200),
  reason: z.string().min(1).max(2000),
});

/** What the API hands the `canaryRollout` workflow; the rollout row exists before it starts. */
export interface CanaryRolloutInput {
  projectId: string;
  actor: string;
  workflowId: string;
  rolloutId: string;
  endpointId: string;
  candidateVersionId: string;
  championVersionId: string | null;
  mode: EndpointMode;
  steps: RolloutStep[];
  thresholds: AnalysisThresholds;
  analysisIntervalSeconds: number;
  /** Absent in rollouts started before labels were read: their analyses skip accuracy. */
  labels?: RolloutLabels;
}

export interface RolloutOutcome {
  state: Extract<RolloutState, 'succeeded' | 'rolled_back' | 'aborted' | 'failed'>;
  reasons: string[];
}

export interface RollbackInput {
  projectId: string;
  actor: string;
  workflowId: string;
  endpointId: string;
  reason: string;
}

export const rolloutWorkflowId = (projectSlug: string, requestId: string) =>
  `rollout-${projectSlug}-${requestId}`;
export const rollbackWorkflowId = (projectSlug: string, requestId: string) =>
  `rollback-${projectSlug}-${requestId}`;
