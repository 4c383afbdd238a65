import { z } from 'zod';
import { alertSeverities } from './alerts.ts';
import { analysisThresholds, predictionsTopic, rolloutStep } from './serving.ts';
import { kafkaTopicName } from './kafka.ts';

/**
 * Drift monitoring of an endpoint: what the `driftMonitor` workflow watches, how it decides, what it
 * does about it (policy), what it reports per window, and where alerts are sent (webhooks).
 */

export const driftSignals = ['skew', 'drift', 'prediction', 'performance'] as const;
/**
 * - skew: serving features against the champion's training reference profile;
 * - drift: this window's serving features against the previous windows of production;
 * - prediction: the champion's predictions against its predictions on the training holdout;
 * - performance: delayed labels (`labels.<model>`) joined with predictions, against holdout metrics.
 */
export type DriftSignal = (typeof driftSignals)[number];

export const driftPolicyActions = ['notify', 'auto_rollback', 'auto_retrain'] as const;
export type DriftPolicyAction = (typeof driftPolicyActions)[number];

/** The statistics packages/drift implements; defined here so the API's schema is the same list. */
export const driftMethods = [
  'ks',
  'wasserstein',
  'jensenshannon',
  'psi',
  'chisquare',
  'chi2_contingency',
  'z',
] as const;
const driftMethod = z.enum(driftMethods);

/** The statistics' options (packages/drift `DriftOptions`), as the API accepts them. */
export const driftDetectionOptions = z.strictObject({
  method: driftMethod.optional(),
  numericMethod: driftMethod.optional(),
  categoricalMethod: driftMethod.optional(),
  threshold: z.number().nonnegative().max(1e6).optional(),
  numericThreshold: z.number().nonnegative().max(1e6).optional(),
  categoricalThreshold: z.number().nonnegative().max(1e6).optional(),
  columns: z
    .record(
      z.string().min(1).max(200),
      z.strictObject({
        method: driftMethod.optional(),
        threshold: z.number().nonnegative().max(1e6).optional(),
        minEffect: z.number().min(0).max(1e6).optional(),
      }),
    )
    .optional(),
  minEffect: z
    .union([
      z.literal('recommended'),
      z.strictObject({
        ks: z.number().min(0).max(1e6).optional(),
        chisquare: z.number().min(0).max(1e6).optional(),
        chi2_contingency: z.number().min(0).max(1e6).optional(),
        z: z.number().min(0).max(1e6).optional(),
      }),
    ])
    .optional(),
  multipleTesting: z.enum(['none', 'benjamini-hochberg']).optional(),
  driftShare: z.number().min(0).max(1).optional(),
  smallReferenceRows: z.number().int().nonnegative().max(1e9).optional(),
});
export type DriftDetectionOptions = z.infer<typeof driftDetectionOptions>;

/** What to do when a critical drift alert fires (a new alert; a repeat of an open one does nothing more). */
export const driftPolicy = z.strictObject({
  action: z.enum(driftPolicyActions).default('notify'),
  /** Signals whose critical alerts trigger the action; `notify` only notifies whatever the signal. */
  on: z.array(z.enum(driftSignals)).min(1).max(4).default(['skew', 'drift', 'prediction', 'performance']),
  /** auto_retrain: the new version's rollout on this endpoint (the pipeline's canary policy). */
  rollout: z
    .strictObject({
      steps: z.array(rolloutStep).min(1).max(20).optional(),
      analysisIntervalSeconds: z.number().min(1).max(3600).default(60),
      thresholds: analysisThresholds.partial().optional(),
    })
    .optional(),
  /**
   * auto_retrain: the labelled rows to train on. Default: the data the champion was trained on
   * (the champion's own training run, with a new request id). Point it at a data set that an
   * upstream job refreshes "up to now" to retrain on recent data.
   */
  retrainDataUri: z
    .string()
    .regex(/^(s3:\/\/[^/]+\/.+|file:\/\/\/.+)$/, {
      message: 'must be an s3://bucket/key or file:///path URI',
    })
    .optional(),
});
export type DriftPolicy = z.infer<typeof driftPolicy>;

export const driftMonitorConfig = z.strictObject({
  /** How often a window is judged, in seconds (tests use 1–3). */
  windowSeconds: z.number().min(0.5).max(86_400).default(60),
  /** Drift compares a window with this many previous windows of production. */
  baselineWindows: z.number().int().min(1).max(100).default(5),
  /** A window with fewer predictions is recorded but not judged (no verdict, no alert change). */
  minRows: z.number().int().min(5).max(1_000_000).default(100),
  /** A signal fires its alert after this many drifted windows in a row (1 = at once). */
  fireAfterWindows: z.number().int().min(1).max(100).default(2),
  /** An open alert resolves itself after this many judged windows in a row without its signal. */
  resolveAfterWindows: z.number().int().min(1).max(1000).default(3),
  /** Performance: fewer joined labels than this in a window give no verdict. */
  minLabels: z.number().int().min(1).max(1_000_000).default(50),
  /** Performance: drop of accuracy (classifiers) below the holdout's that fires. */
  maxAccuracyDrop: z.number().min(0).max(1).default(0.05),
  /** Performance (regression): relative increase of MAE over the holdout's that fires. */
  maxMaeIncrease: z.number().min(0).max(100).default(0.25),
  /** A label joins the prediction of its entity nearest in time within this many seconds. */
  labelJoinSeconds: z
    .number()
    .min(0)
    .max(30 * 86_400)
    .default(3600),
  /** Predictions are kept this long for delayed labels to join (and at least the baseline windows). */
  keepPredictionsSeconds: z
    .number()
    .min(0)
    .max(30 * 86_400)
    .default(86_400),
  /** After a remedy (rollback, retrain) the policy waits this many windows before it acts again. */
  remedyCooldownWindows: z.number().int().min(1).max(10_000).default(20),
  /** Continue-as-new after this many windows, so the workflow's history stays bounded. */
  windowsPerRun: z.number().int().min(1).max(10_000).default(100),
  /** Where predictions are read (the gateways' log); tests use a topic of their own. */
  predictionsTopic: kafkaTopicName.default(predictionsTopic),
  /** Where delayed labels are read; default `labels.<model>`. */
  labelsTopic: kafkaTopicName.optional(),
  /**
   * Default: p-value tests whatever the reference size (KS for numbers, the two-sample chi² for
   * categories), Benjamini-Hochberg across features and a minimum effect. Evidently's choice for
   * large references (Wasserstein ≥ 0.1) reads sampling noise of windows of a few hundred rows as
   * drift (docs/drift.md has the measurement); pass `{}` to get Evidently's defaults back.
   */
  detection: driftDetectionOptions.default({
    numericMethod: 'ks',
    categoricalMethod: 'chi2_contingency',
    multipleTesting: 'benjamini-hochberg',
    minEffect: 'recommended',
  }),
  policy: driftPolicy.default({ action: 'notify', on: ['skew', 'drift', 'prediction', 'performance'] }),
});
export type DriftMonitorConfig = z.infer<typeof driftMonitorConfig>;

export const startMonitorBody = driftMonitorConfig.partial();
export type StartMonitorBody = z.infer<typeof startMonitorBody>;

export const monitorStates = ['running', 'stopped'] as const;
export type MonitorState = (typeof monitorStates)[number];

export const driftMonitorView = z.object({
  id: z.string(),
  endpoint: z.string(),
  state: z.enum(monitorStates),
  config: driftMonitorConfig,
  workflowId: z.string(),
  windowsJudged: z.number().int(),
  lastWindowAt: z.string().nullable(),
  startedBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  stoppedAt: z.string().nullable(),
});
export type DriftMonitorView = z.infer<typeof driftMonitorView>;

/** One column's verdict in one window, as stored (packages/drift `ColumnDrift`, trimmed). */
export const featureDrift = z.object({
  feature: z.string(),
  method: z.string(),
  statistic: z.number().nullable(),
  pValue: z.number().nullable(),
  score: z.number().nullable(),
  threshold: z.number(),
  drifted: z.boolean(),
  effect: z.number().nullable(),
  currentCount: z.number().int(),
  referenceCount: z.number().int(),
});
export type FeatureDrift = z.infer<typeof featureDrift>;

export const signalVerdict = z.object({
  signal: z.enum(driftSignals),
  /** `skipped`: not enough data, or no reference to compare with; says why in `detail`. */
  outcome: z.enum(['drifted', 'stable', 'skipped']),
  detail: z.string(),
  /** Share of drifted features; the dataset drifts at the detection's `driftShare`. */
  shareDrifted: z.number().nullable(),
  features: z.array(featureDrift),
  /** Performance only: measured value, the reference value and the metric name. */
  metric: z
    .object({
      name: z.string(),
      value: z.number(),
      reference: z.number().nullable(),
      labels: z.number().int(),
    })
    .nullable(),
});
export type SignalVerdict = z.infer<typeof signalVerdict>;

export const driftReportView = z.object({
  id: z.string(),
  endpoint: z.string(),
  monitorId: z.string(),
  sequence: z.number().int(),
  versionId: z.string().nullable(),
  version: z.number().int().nullable(),
  windowStart: z.string(),
  windowEnd: z.string(),
  /** Predictions read in the window (every role), and those judged (champion and candidate, not shadow). */
  predictions: z.number().int(),
  judged: z.number().int(),
  labels: z.number().int(),
  /** True when any signal drifted in this window. */
  drifted: z.boolean(),
  signals: z.array(signalVerdict),
  createdAt: z.string(),
});
export type DriftReportView = z.infer<typeof driftReportView>;

const histogramCounts = z.object({
  counts: z.array(z.number().int()),
  below: z.number().int(),
  above: z.number().int(),
  missing: z.number().int(),
  total: z.number().int(),
});

/** `GET …/endpoints/{name}/drift/histogram`: one feature, training reference vs a window, same bins. */
export const featureHistogramView = z.object({
  endpoint: z.string(),
  feature: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  edges: z.array(z.number()).nullable(),
  categories: z.array(z.string()).nullable(),
  reference: histogramCounts,
  current: histogramCounts,
  window: z.object({
    reportId: z.string(),
    sequence: z.number().int(),
    windowStart: z.string(),
    windowEnd: z.string(),
    versionId: z.string(),
    version: z.number().int(),
    judged: z.number().int(),
  }),
  verdicts: z.array(featureDrift.extend({ signal: z.string() })),
});
export type FeatureHistogramView = z.infer<typeof featureHistogramView>;

export const webhookKinds = ['slack', 'pagerduty', 'generic'] as const;
export type WebhookKind = (typeof webhookKinds)[number];

/**
 * http(s) URLs that every WHATWG URL parser takes: a dotted-quad IPv4 address or DNS labels that
 * start with a letter (a numeric last label would be read as an IPv4 number), a port up to 65535,
 * then an unreserved-character path and query. Stated as a pattern, so the OpenAPI document says
 * exactly what is accepted.
 */
const octet = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const label = '[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const port = '(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})';
export const webhookUrl = z
  .string()
  .max(2000)
  .regex(
    new RegExp(
      `^https?://((${octet}\\.){3}${octet}|${label}(\\.${label})*)(:${port})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$`,
    ),
    { message: 'must be an http(s) URL' },
  );

const webhookFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lowercase letters, digits and -' }),
  url: webhookUrl,
  /** Alerts below this severity are not sent. */
  minSeverity: z.enum(alertSeverities).default('warning'),
};

export const createWebhookBody = z.discriminatedUnion('kind', [
  z.strictObject({ ...webhookFields, kind: z.literal('slack') }),
  z.strictObject({ ...webhookFields, kind: z.literal('generic') }),
  /** PagerDuty Events v2: the URL is the events endpoint (https://events.pagerduty.com/v2/enqueue). */
  z.strictObject({ ...webhookFields, kind: z.literal('pagerduty'), routingKey: z.string().min(1).max(200) }),
]);
export type CreateWebhookBody = z.infer<typeof createWebhookBody>;

export const webhookView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(webhookKinds),
  url: z.string(),
  /** Never returned in full: it lets anyone page the team. */
  routingKeySet: z.boolean(),
  minSeverity: z.enum(alertSeverities),
  createdBy: z.string(),
  createdAt: z.string(),
});
export type WebhookView = z.infer<typeof webhookView>;

export const notificationEvents = ['trigger', 'acknowledge', 'resolve'] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

export const deliveryView = z.object({
  id: z.string(),
  webhook: z.string(),
  alertId: z.string(),
  event: z.enum(notificationEvents),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type DeliveryView = z.infer<typeof deliveryView>;

/** Slack incoming-webhook body: `text` is the fallback, `blocks` the message. */
export interface SlackBody {
  text: string;
  blocks: Record<string, unknown>[];
}

/** PagerDuty Events API v2 body (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export interface PagerDutyBody {
  routing_key: string;
  event_action: NotificationEvent;
  dedup_key: string;
  payload?: {
    summary: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    source: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details?: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
}

/** What the monitor hands the notification workflow. */
export interface AlertNotificationInput {
  projectId: string;
  alertId: string;
  event: NotificationEvent;
  /** Only these webhooks (default: every webhook of the project that takes the alert's severity). */
  webhookIds?: string[];
}

export interface DriftMonitorInput {
  projectId: string;
  actor: string;
  workflowId: string;
  monitorId: string;
  endpointId: string;
  config: DriftMonitorConfig;
  /** Where auto-retrain's training pipeline runs (default the training queue). */
  trainingTaskQueue?: string;
  /** Carried over continue-as-new. */
  carry?: DriftMonitorCarry;
}

export interface DriftMonitorCarry {
  sequence: number;
  windowStart: string;
  predictionOffsets: Record<string, string>;
  labelOffsets: Record<string, string>;
  /** Consecutive drifted windows per alert dedup key (fires at `fireAfterWindows`). */
  streaks: Record<string, number>;
  /** The policy acts again from this window on (cooldown after a remedy). */
  remedyAllowedFrom?: number;
}

/** A new id per start, so a monitor restarted right after a stop never meets its previous run. */
export const driftMonitorWorkflowId = (endpointId: string, startedAtMs: number) =>
  `drift-monitor-${endpointId}-${startedAtMs.toString(36)}`;

/** GET …/endpoints/{e}/drift: reports over time, oldest first; `feature` keeps one feature's verdicts. */
export const driftReportsQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  feature: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The runbook of drift alerts, relative to the repository (contracts alerts `runbooks.drift`). */
export const driftRunbook = 'docs/runbooks/drift-alert.md';
