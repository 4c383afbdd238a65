import { and, asc, desc, eq, gte, inArray, lt, lte, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ShepherdError } from '@shepherd/core/errors';
import type { AlertSeverity } from '@shepherd/contracts/alerts';
import {
  driftMonitorConfig,
  type DriftMonitorConfig,
  type DriftMonitorView,
  type DriftReportView,
  type DriftSignal,
  type FeatureDrift,
  type SignalVerdict,
} from '@shepherd/contracts/drift';
import type { ModelTask } from '@shepherd/contracts/trainer';
import {
  trainingPipelineInput,
  trainingWorkflowId,
  type TrainingPipelineInput,
} from '@shepherd/contracts/training';
import type { Database } from '@shepherd/db/client';
import {
  alerts,
  driftMonitors,
  driftObservations,
  driftReports,
  endpoints,
  models,
  modelVersions,
  projects,
  rollouts,
  trainingRuns,
  type Alert,
  type DriftMonitor,
  type DriftReport,
  type Endpoint,
} from '@shepherd/db/schema';
import { compareToProfile, detectDrift, type ColumnDrift, type DatasetDrift } from '@shepherd/drift/detect';
import type { ColumnsInput } from '@shepherd/drift/columns';
import { ReferenceProfileSchema } from '@shepherd/drift/profile';
import { recordAudit } from './audit.ts';
import type { RegistryContext } from './context.ts';
import { accuracyOf, maeOf, matchLabels, type ArrivedLabel, type LabelledPrediction } from './label-join.ts';
import { createTrainingRun } from './training.ts';

export type { ArrivedLabel, LabelledPrediction } from './label-join.ts';

// ---------------------------------------------------------------------------------------------
// Reference profile stored on a model version (`model_versions.reference_profile`).

export const versionReferenceProfile = z.object({
  schemaVersion: z.literal(1),
  /** The training set's train split, one column per feature. */
  features: ReferenceProfileSchema,
  /** The model's outputs on the holdout, as one column named `prediction`. */
  prediction: ReferenceProfileSchema.nullable(),
  trainingSetId: z.string(),
  /** Features that could not be profiled (e.g. an identifier with too many categories), and why. */
  skipped: z.record(z.string(), z.string()).default({}),
  builtAt: z.string(),
});
export type VersionReferenceProfile = z.infer<typeof versionReferenceProfile>;

export const predictionColumn = 'prediction';

/** A stored profile, or null when the version has none or it does not parse (older shapes). */
export function readVersionProfile(stored: unknown): VersionReferenceProfile | null {
  if (stored === null || stored === undefined) return null;
  const parsed = versionReferenceProfile.safeParse(stored);
  return parsed.success ? parsed.data : null;
}

// ---------------------------------------------------------------------------------------------
// One window's judgement: pure, so the offline false-alarm measurement runs exactly this code.

export interface ObservedPrediction {
  predictionId: string;
  versionId: string;
  role: 'champion' | 'candidate' | 'shadow';
  entityId: string | null;
  features: Record<string, number | boolean | null>;
  prediction: number;
  at: Date;
}

export interface VersionReference {
  versionId: string;
  task: ModelTask;
  profile: VersionReferenceProfile | null;
  /** Holdout metrics of the version (accuracy, roc_auc / mae, rmse). */
  metrics: Record<string, number>;
}

export interface WindowInput {
  config: Pick<
    DriftMonitorConfig,
    'minRows' | 'minLabels' | 'maxAccuracyDrop' | 'maxMaeIncrease' | 'detection'
  >;
  /** The champion's reference; null when the endpoint has no champion. */
  reference: VersionReference | null;
  /** The window's predictions, shadow copies excluded. */
  current: readonly ObservedPrediction[];
  /** The previous windows' predictions, shadow copies excluded. */
  baseline: readonly ObservedPrediction[];
  /** Labels that arrived in the window, joined with the champion's predictions. */
  labelled: readonly LabelledPrediction[];
}

/** Booleans are 0/1 (training CSVs hold them so); anything else that is not a finite number is missing. */
function numericValue(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  return typeof value === 'number' && Number.isFinite(value) ? value : Number.NaN;
}

function categoricalValue(value: unknown): string | null {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value : null;
}

function columnsOf(
  rows: readonly ObservedPrediction[],
  names: readonly string[],
  kinds: Readonly<Record<string, 'numeric' | 'categorical'>>,
): ColumnsInput {
  const columns: Record<string, Float64Array | (string | null)[]> = {};
  for (const name of names) {
    if (kinds[name] === 'categorical') {
      columns[name] = rows.map((row) => categoricalValue(row.features[name]));
    } else {
      const values = new Float64Array(rows.length);
      rows.forEach((row, i) => (values[i] = numericValue(row.features[name])));
      columns[name] = values;
    }
  }
  return columns;
}

/** Features with at least one usable value in every given row set: the drift package refuses empty columns. */
function presentFeatures(names: Iterable<string>, ...sets: (readonly ObservedPrediction[])[]): string[] {
  return [...names].filter((name) =>
    sets.every((rows) => rows.some((row) => categoricalValue(row.features[name]) !== null)),
  );
}

const finiteOrNull = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) ? value : null;

function featureVerdicts(result: DatasetDrift): FeatureDrift[] {
  return result.columns.map((column: ColumnDrift) => ({
    feature: column.column,
    method: column.method,
    statistic: finiteOrNull(column.statistic),
    pValue: finiteOrNull(column.pValueAdjusted ?? column.pValue),
    score: finiteOrNull(column.score),
    threshold: column.threshold,
    drifted: column.drifted,
    effect: finiteOrNull(column.effect),
    currentCount: column.currentCount,
    referenceCount: column.referenceCount,
  }));
}

const skipped = (signal: DriftSignal, detail: string): SignalVerdict => ({
  signal,
  outcome: 'skipped',
  detail,
  shareDrifted: null,
  features: [],
  metric: null,
});

function datasetVerdict(signal: DriftSignal, result: DatasetDrift, against: string): SignalVerdict {
  const drifted = result.columns.filter((column) => column.drifted).map((column) => column.column);
  return {
    signal,
    outcome: result.datasetDrift ? 'drifted' : 'stable',
    detail:
      drifted.length === 0
        ? `no feature moved against ${against}`
        : `${drifted.length} of ${result.numberOfColumns} features moved against ${against}: ${drifted.join(', ')}`,
    shareDrifted: result.shareOfDriftedColumns,
    features: featureVerdicts(result),
    metric: null,
  };
}

/** A drift package refusal (a column it cannot test) is a skipped signal, not a failed window. */
function guardedVerdict(signal: DriftSignal, judge: () => SignalVerdict): SignalVerdict {
  try {
    return judge();
  } catch (err) {
    if (err instanceof ShepherdError && err.code === 'validation_failed') return skipped(signal, err.message);
    throw err;
  }
}

/**
 * Skew (window vs the champion's training profile), drift (window vs the previous windows),
 * prediction drift (the champion's outputs vs its outputs on the holdout) and performance (labels
 * that arrived vs holdout metrics). Too little data gives `skipped`, never a verdict.
 */
export function judgeWindow(input: WindowInput): SignalVerdict[] {
  const { config, reference, current, baseline, labelled } = input;
  const options = config.detection;
  const profile = reference?.profile ?? null;
  const kinds: Record<string, 'numeric' | 'categorical'> = {};
  for (const [name, column] of Object.entries(profile?.features.columns ?? {})) kinds[name] = column.kind;
  const enough = current.length >= config.minRows;
  const tooFew = `${current.length} predictions in the window, fewer than minRows ${config.minRows}`;

  const skew = !enough
    ? skipped('skew', tooFew)
    : !profile
      ? skipped('skew', 'the champion has no reference profile')
      : guardedVerdict('skew', () => {
          const names = presentFeatures(Object.keys(profile.features.columns), current);
          if (names.length === 0) return skipped('skew', 'no profiled feature appears in the predictions');
          const result = compareToProfile(profile.features, columnsOf(current, names, kinds), {
            ...options,
            only: names,
          });
          return datasetVerdict('skew', result, 'the training data');
        });

  const featureNames = profile
    ? Object.keys(profile.features.columns)
    : [...new Set(current.flatMap((row) => Object.keys(row.features)))].sort();
  const drift = !enough
    ? skipped('drift', tooFew)
    : baseline.length < config.minRows
      ? skipped('drift', `${baseline.length} predictions in the previous windows, fewer than minRows`)
      : guardedVerdict('drift', () => {
          const names = presentFeatures(featureNames, current, baseline);
          if (names.length === 0) return skipped('drift', 'no feature appears in both window and baseline');
          const result = detectDrift(columnsOf(baseline, names, kinds), columnsOf(current, names, kinds), {
            ...options,
            only: names,
            kinds: Object.fromEntries(names.map((n) => [n, kinds[n] ?? 'numeric'])),
          });
          return datasetVerdict('drift', result, 'the previous windows');
        });

  const championRows = reference ? current.filter((row) => row.versionId === reference.versionId) : [];
  const prediction =
    championRows.length < config.minRows
      ? skipped(
          'prediction',
          `${championRows.length} champion predictions, fewer than minRows ${config.minRows}`,
        )
      : !profile?.prediction
        ? skipped('prediction', 'the champion has no prediction profile')
        : guardedVerdict('prediction', () => {
            const values = Float64Array.from(championRows, (row) => row.prediction);
            const result = compareToProfile(
              profile.prediction!,
              { [predictionColumn]: values },
              {
                ...options,
                only: [predictionColumn],
                // One column: a share threshold below 1 would read a single column as a dataset.
                driftShare: 1,
              },
            );
            const verdict = datasetVerdict('prediction', result, 'the holdout predictions');
            verdict.detail = result.datasetDrift
              ? `predictions moved against the holdout predictions (${verdict.features[0]?.method} ${verdict.features[0]?.score?.toPrecision(3)})`
              : 'predictions are distributed as on the holdout';
            return verdict;
          });

  let performance: SignalVerdict;
  if (!reference) performance = skipped('performance', 'no champion');
  else if (labelled.length < config.minLabels) {
    performance = skipped(
      'performance',
      `${labelled.length} labelled predictions in the window, fewer than minLabels ${config.minLabels}`,
    );
  } else if (reference.task === 'regression') {
    const mae = maeOf(labelled);
    const ref = reference.metrics['mae'] ?? null;
    const worse = ref !== null && mae > ref * (1 + config.maxMaeIncrease);
    performance = {
      signal: 'performance',
      outcome: ref === null ? 'skipped' : worse ? 'drifted' : 'stable',
      detail:
        ref === null
          ? 'the champion has no holdout MAE to compare with'
          : `MAE ${mae.toFixed(4)} on ${labelled.length} labels against ${ref.toFixed(4)} on the holdout`,
      shareDrifted: null,
      features: [],
      metric: { name: 'mae', value: mae, reference: ref, labels: labelled.length },
    };
  } else {
    const accuracy = accuracyOf(labelled);
    const ref = reference.metrics['accuracy'] ?? null;
    const worse = ref !== null && ref - accuracy > config.maxAccuracyDrop;
    performance = {
      signal: 'performance',
      outcome: ref === null ? 'skipped' : worse ? 'drifted' : 'stable',
      detail:
        ref === null
          ? 'the champion has no holdout accuracy to compare with'
          : `accuracy ${accuracy.toFixed(3)} on ${labelled.length} labels against ${ref.toFixed(3)} on the holdout (drop allowed ${config.maxAccuracyDrop})`,
      shareDrifted: null,
      features: [],
      metric: { name: 'accuracy', value: accuracy, reference: ref, labels: labelled.length },
    };
  }
  return [skew, drift, prediction, performance];
}

// ---------------------------------------------------------------------------------------------
// From verdicts to alerts: streaks of drifted windows fire, streaks of clear windows resolve.

export const driftDedupPrefix = (endpointId: string) => `drift:${endpointId}:`;
export const signalDedupKey = (endpointId: string, signal: DriftSignal, feature?: string) =>
  `drift:${endpointId}:${signal}${feature === undefined ? '' : `:${feature}`}`;

export interface PlannedAlert {
  dedupKey: string;
  signal: DriftSignal;
  feature: string | null;
  severity: AlertSeverity;
  summary: string;
  details: Record<string, unknown>;
}

const signalNames: Record<DriftSignal, string> = {
  skew: 'training-serving skew',
  drift: 'feature drift',
  prediction: 'prediction drift',
  performance: 'performance drop',
};

/**
 * Updates the streaks (positive: drifted windows in a row, negative: clear ones) and says which
 * alerts fire. A whole signal (dataset-level) fires `critical`; a single feature that moved while the
 * dataset did not fires `warning` under its own key. A skipped signal leaves its streaks alone.
 */
export function planAlerts(input: {
  endpoint: { id: string; name: string };
  version: number | null;
  signals: readonly SignalVerdict[];
  streaks: Readonly<Record<string, number>>;
  fireAfterWindows: number;
}): { streaks: Record<string, number>; fire: PlannedAlert[] } {
  const streaks = { ...input.streaks };
  const bump = (key: string, drifted: boolean) => {
    const now = streaks[key] ?? 0;
    streaks[key] = drifted ? Math.max(now, 0) + 1 : Math.min(now, 0) - 1;
    return streaks[key];
  };
  const fire: PlannedAlert[] = [];
  const versionText = input.version === null ? '' : ` (version ${input.version})`;
  for (const verdict of input.signals) {
    if (verdict.outcome === 'skipped') continue;
    const key = signalDedupKey(input.endpoint.id, verdict.signal);
    const datasetStreak = bump(key, verdict.outcome === 'drifted');
    const datasetFires = datasetStreak >= input.fireAfterWindows;
    const movedFeatures = verdict.features.filter((feature) => feature.drifted);
    if (datasetFires) {
      fire.push({
        dedupKey: key,
        signal: verdict.signal,
        feature: null,
        severity: 'critical',
        summary: `${input.endpoint.name}: ${signalNames[verdict.signal]}${versionText}: ${verdict.detail}`,
        details: {
          endpoint: input.endpoint.name,
          signal: verdict.signal,
          windows: datasetStreak,
          shareDrifted: verdict.shareDrifted,
          features: movedFeatures,
          metric: verdict.metric,
        },
      });
    }
    if (verdict.signal !== 'skew' && verdict.signal !== 'drift') continue;
    for (const feature of verdict.features) {
      const featureKey = signalDedupKey(input.endpoint.id, verdict.signal, feature.feature);
      const streak = bump(featureKey, feature.drifted);
      if (streak >= input.fireAfterWindows && !datasetFires) {
        fire.push({
          dedupKey: featureKey,
          signal: verdict.signal,
          feature: feature.feature,
          severity: 'warning',
          summary: `${input.endpoint.name}: ${signalNames[verdict.signal]} in feature ${feature.feature}${versionText} (${feature.method} ${feature.score?.toPrecision(3) ?? '∞'}, threshold ${feature.threshold})`,
          details: { endpoint: input.endpoint.name, signal: verdict.signal, windows: streak, feature },
        });
      }
    }
  }
  return { streaks, fire };
}

/** Open drift alerts of an endpoint whose signal has been clear for `resolveAfterWindows` windows. */
export async function clearedDriftAlerts(
  ctx: RegistryContext,
  endpointId: string,
  streaks: Readonly<Record<string, number>>,
  resolveAfterWindows: number,
): Promise<{ id: string; dedupKey: string }[]> {
  const open = await ctx.db
    .select({ id: alerts.id, dedupKey: alerts.dedupKey })
    .from(alerts)
    .where(
      and(
        eq(alerts.projectId, ctx.projectId),
        ne(alerts.state, 'resolved'),
        sql`starts_with(${alerts.dedupKey}, ${driftDedupPrefix(endpointId)})`,
      ),
    );
  return open.filter((alert) => (streaks[alert.dedupKey] ?? 0) <= -resolveAfterWindows);
}

// ---------------------------------------------------------------------------------------------
// Monitors.

export async function getMonitor(
  ctx: RegistryContext,
  endpointId: string,
): Promise<DriftMonitor | undefined> {
  const [row] = await ctx.db
    .select()
    .from(driftMonitors)
    .where(and(eq(driftMonitors.projectId, ctx.projectId), eq(driftMonitors.endpointId, endpointId)));
  return row;
}

export async function getMonitorById(ctx: RegistryContext, id: string): Promise<DriftMonitor> {
  const [row] = await ctx.db
    .select()
    .from(driftMonitors)
    .where(and(eq(driftMonitors.projectId, ctx.projectId), eq(driftMonitors.id, id)));
  if (!row) throw new ShepherdError('not_found', `drift monitor ${id} does not exist`);
  return row;
}

/**
 * Records a running monitor for the endpoint (a stopped one is restarted with the new config).
 * `created` is false when it was already running: the caller then starts nothing.
 */
export async function startMonitor(
  ctx: RegistryContext,
  endpoint: Endpoint,
  config: DriftMonitorConfig,
  workflowId: string,
): Promise<{ monitor: DriftMonitor; started: boolean }> {
  return ctx.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`shepherd:monitor:${endpoint.id}`}))`);
    const [existing] = await tx
      .select()
      .from(driftMonitors)
      .where(and(eq(driftMonitors.projectId, ctx.projectId), eq(driftMonitors.endpointId, endpoint.id)));
    if (existing?.state === 'running') return { monitor: existing, started: false };
    const values = { state: 'running' as const, config, workflowId, startedBy: ctx.actor, stoppedAt: null };
    const [monitor] = existing
      ? await tx.update(driftMonitors).set(values).where(eq(driftMonitors.id, existing.id)).returning()
      : await tx
          .insert(driftMonitors)
          .values({ projectId: ctx.projectId, endpointId: endpoint.id, ...values })
          .returning();
    await recordAudit(tx, ctx, {
      action: 'drift_monitor.started',
      subjectKind: 'deployment',
      subjectId: endpoint.id,
      after: { config },
    });
    return { monitor: monitor!, started: true };
  });
}

export async function stopMonitor(ctx: RegistryContext, endpoint: Endpoint): Promise<DriftMonitor> {
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(driftMonitors)
      .where(and(eq(driftMonitors.projectId, ctx.projectId), eq(driftMonitors.endpointId, endpoint.id)))
      .for('update');
    if (!current) throw new ShepherdError('not_found', `endpoint ${endpoint.name} has no drift monitor`);
    if (current.state === 'stopped') return current;
    const [stopped] = await tx
      .update(driftMonitors)
      .set({ state: 'stopped', stoppedAt: new Date() })
      .where(eq(driftMonitors.id, current.id))
      .returning();
    await recordAudit(tx, ctx, {
      action: 'drift_monitor.stopped',
      subjectKind: 'deployment',
      subjectId: endpoint.id,
      before: { state: 'running' },
      after: { state: 'stopped' },
    });
    return stopped!;
  });
}

export const monitorView = (row: DriftMonitor, endpointName: string): DriftMonitorView => ({
  id: row.id,
  endpoint: endpointName,
  state: row.state,
  config: driftMonitorConfig.parse(row.config),
  workflowId: row.workflowId,
  windowsJudged: row.windowsJudged,
  lastWindowAt: row.lastWindowAt?.toISOString() ?? null,
  startedBy: row.startedBy,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
  stoppedAt: row.stoppedAt?.toISOString() ?? null,
});

// ---------------------------------------------------------------------------------------------
// Observations: what the monitor read, kept for baselines and label joins.

export async function saveObservations(
  db: Database,
  projectId: string,
  monitorId: string,
  sequence: number,
  rows: readonly ObservedPrediction[],
): Promise<void> {
  // Bounded statements: PostgreSQL takes at most 65 535 parameters in one.
  for (let i = 0; i < rows.length; i += 2000) {
    const chunk = rows.slice(i, i + 2000);
    await db
      .insert(driftObservations)
      .values(
        chunk.map((row) => ({
          projectId,
          monitorId,
          sequence,
          predictionId: row.predictionId,
          versionId: row.versionId,
          role: row.role,
          entityId: row.entityId,
          features: row.features,
          prediction: row.prediction,
          at: row.at,
        })),
      )
      // A retried window (or a prediction logged twice) is kept once.
      .onConflictDoNothing();
  }
}

const toObserved = (row: typeof driftObservations.$inferSelect): ObservedPrediction => ({
  predictionId: row.predictionId,
  versionId: row.versionId,
  role: row.role,
  entityId: row.entityId,
  features: row.features,
  prediction: row.prediction,
  at: row.at,
});

/** The predictions of windows [fromSequence, toSequence), shadow copies excluded. */
export async function observationsOf(
  db: Database,
  projectId: string,
  monitorId: string,
  fromSequence: number,
  toSequence: number,
): Promise<ObservedPrediction[]> {
  const rows = await db
    .select()
    .from(driftObservations)
    .where(
      and(
        eq(driftObservations.projectId, projectId),
        eq(driftObservations.monitorId, monitorId),
        gte(driftObservations.sequence, fromSequence),
        lt(driftObservations.sequence, toSequence),
        ne(driftObservations.role, 'shadow'),
      ),
    );
  return rows.map(toObserved);
}

/** Drops what neither the baseline nor a label join can need any more. */
export async function pruneObservations(
  db: Database,
  projectId: string,
  monitorId: string,
  keepFromSequence: number,
  keepAfter: Date,
): Promise<void> {
  await db
    .delete(driftObservations)
    .where(
      and(
        eq(driftObservations.projectId, projectId),
        eq(driftObservations.monitorId, monitorId),
        lt(driftObservations.sequence, keepFromSequence),
        lt(driftObservations.at, keepAfter),
      ),
    );
}

/**
 * Joins labels with the predictions they label: by prediction id when the label carries one,
 * otherwise the prediction of the same entity nearest in time (within `withinSeconds`).
 */
export async function joinLabels(
  db: Database,
  projectId: string,
  monitorId: string,
  labels: readonly ArrivedLabel[],
  withinSeconds: number,
): Promise<(LabelledPrediction & { versionId: string })[]> {
  if (labels.length === 0) return [];
  const ids = [...new Set(labels.map((label) => label.id).filter((id): id is string => id !== null))];
  const entities = [...new Set(labels.map((label) => label.entityId))];
  const scope = and(
    eq(driftObservations.projectId, projectId),
    eq(driftObservations.monitorId, monitorId),
    ne(driftObservations.role, 'shadow'),
  );
  const found = new Map<string, ObservedPrediction>();
  const lookups = [
    { column: driftObservations.predictionId, keys: ids },
    { column: driftObservations.entityId, keys: entities },
  ];
  for (const { column, keys } of lookups) {
    for (let i = 0; i < keys.length; i += 5000) {
      const rows = await db
        .select()
        .from(driftObservations)
        .where(and(scope, inArray(column, keys.slice(i, i + 5000))));
      for (const row of rows) found.set(row.predictionId, toObserved(row));
    }
  }
  return matchLabels(labels, found.values(), withinSeconds);
}

// ---------------------------------------------------------------------------------------------
// Reports.

export async function saveReport(
  ctx: RegistryContext,
  monitor: DriftMonitor,
  report: {
    sequence: number;
    versionId: string | null;
    windowStart: Date;
    windowEnd: Date;
    predictions: number;
    judged: number;
    labels: number;
    signals: SignalVerdict[];
  },
): Promise<DriftReport> {
  const values = {
    projectId: ctx.projectId,
    monitorId: monitor.id,
    endpointId: monitor.endpointId,
    ...report,
    drifted: report.signals.some((signal) => signal.outcome === 'drifted'),
  };
  const [row] = await ctx.db
    .insert(driftReports)
    .values(values)
    .onConflictDoUpdate({
      target: [driftReports.monitorId, driftReports.sequence],
      set: {
        versionId: values.versionId,
        windowStart: values.windowStart,
        windowEnd: values.windowEnd,
        predictions: values.predictions,
        judged: values.judged,
        labels: values.labels,
        drifted: values.drifted,
        signals: values.signals,
      },
    })
    .returning();
  await ctx.db
    .update(driftMonitors)
    .set({
      windowsJudged: sql`greatest(${driftMonitors.windowsJudged}, ${report.sequence + 1})`,
      lastWindowAt: report.windowEnd,
    })
    .where(eq(driftMonitors.id, monitor.id));
  return row!;
}

export async function listReports(
  ctx: RegistryContext,
  endpointId: string,
  filter: { since?: Date | undefined; until?: Date | undefined; limit?: number } = {},
): Promise<DriftReport[]> {
  const conditions = [eq(driftReports.projectId, ctx.projectId), eq(driftReports.endpointId, endpointId)];
  if (filter.since) conditions.push(gte(driftReports.windowEnd, filter.since));
  if (filter.until) conditions.push(lte(driftReports.windowEnd, filter.until));
  // The newest `limit` windows, returned oldest first (a time series reads left to right).
  const rows = await ctx.db
    .select()
    .from(driftReports)
    .where(and(...conditions))
    .orderBy(desc(driftReports.windowEnd), desc(driftReports.sequence))
    .limit(filter.limit ?? 100);
  return rows.reverse();
}

export async function reportViews(
  ctx: RegistryContext,
  endpointName: string,
  rows: readonly DriftReport[],
  feature?: string,
): Promise<DriftReportView[]> {
  const versionIds = [...new Set(rows.map((row) => row.versionId).filter((id): id is string => id !== null))];
  const versions =
    versionIds.length === 0
      ? []
      : await ctx.db
          .select({ id: modelVersions.id, version: modelVersions.version })
          .from(modelVersions)
          .where(and(eq(modelVersions.projectId, ctx.projectId), inArray(modelVersions.id, versionIds)));
  const numbers = new Map(versions.map((v) => [v.id, v.version]));
  return rows.map((row) => ({
    id: row.id,
    endpoint: endpointName,
    monitorId: row.monitorId,
    sequence: row.sequence,
    versionId: row.versionId,
    version: row.versionId ? (numbers.get(row.versionId) ?? null) : null,
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    predictions: row.predictions,
    judged: row.judged,
    labels: row.labels,
    drifted: row.drifted,
    signals:
      feature === undefined
        ? row.signals
        : row.signals.map((signal) => ({
            ...signal,
            features: signal.features.filter((entry) => entry.feature === feature),
          })),
    createdAt: row.createdAt.toISOString(),
  }));
}

// ---------------------------------------------------------------------------------------------
// Retraining: a new training run like the champion's, rolled out on this endpoint.

/**
 * Records a training run that retrains the endpoint's champion the way it was trained (its own run's
 * spec, a new request id), with the canary policy on this endpoint, and returns the workflow input.
 * Idempotent on the request id.
 */
export async function planRetrain(
  ctx: RegistryContext,
  input: {
    endpointId: string;
    requestId: string;
    rollout?: { steps?: unknown; analysisIntervalSeconds?: number; thresholds?: unknown } | undefined;
    dataUri?: string | undefined;
    reason: string;
  },
): Promise<TrainingPipelineInput> {
  const [endpoint] = await ctx.db
    .select()
    .from(endpoints)
    .where(and(eq(endpoints.projectId, ctx.projectId), eq(endpoints.id, input.endpointId)));
  if (!endpoint) throw new ShepherdError('not_found', `endpoint ${input.endpointId} does not exist`);
  if (!endpoint.championVersionId) {
    throw new ShepherdError('conflict', `endpoint ${endpoint.name} has no champion to retrain`);
  }
  const [run] = await ctx.db
    .select()
    .from(trainingRuns)
    .where(
      and(eq(trainingRuns.projectId, ctx.projectId), eq(trainingRuns.versionId, endpoint.championVersionId)),
    )
    .orderBy(asc(trainingRuns.createdAt))
    .limit(1);
  if (!run) {
    throw new ShepherdError(
      'conflict',
      `the champion of ${endpoint.name} was not trained by Shepherd: there is no training run to repeat`,
    );
  }
  const [project] = await ctx.db.select().from(projects).where(eq(projects.id, ctx.projectId));
  const [model] = await ctx.db
    .select({ name: models.name, task: models.task })
    .from(models)
    .where(and(eq(models.projectId, ctx.projectId), eq(models.id, endpoint.modelId)));
  if (!project || !model) throw new ShepherdError('not_found', `model of endpoint ${endpoint.name} is gone`);
  const spec = run.spec as Record<string, unknown>;
  // A data URI given by the policy replaces the champion's source (a CSV or a point-in-time spec).
  const { views: _views, labelTopic: _labelTopic, ...rest } = spec['data'] as Record<string, unknown>;
  const data = input.dataUri ? { ...rest, uri: input.dataUri } : (spec['data'] as Record<string, unknown>);
  const workflowId = trainingWorkflowId(project.slug, input.requestId);
  const pipeline = trainingPipelineInput.parse({
    ...spec,
    data,
    projectId: ctx.projectId,
    modelId: endpoint.modelId,
    modelName: model.name,
    modelTask: model.task === 'regression' ? 'regression' : 'binary_classification',
    workflowId,
    actor: ctx.actor,
    requestId: input.requestId,
    policy: {
      mode: 'canary',
      promoteFirstVersion: true,
      canary: { endpoint: endpoint.name, ...(input.rollout ?? {}) },
    },
    description:
      `retrain of version ${await versionNumber(ctx, endpoint.championVersionId)}: ${input.reason}`.slice(
        0,
        2000,
      ),
  });
  const { source, requestId, data: pipelineData, goldenSetUri, gates, policy, description } = pipeline;
  await createTrainingRun(ctx, {
    modelId: endpoint.modelId,
    requestId: input.requestId,
    workflowId,
    spec: {
      source,
      requestId,
      data: pipelineData,
      goldenSetUri,
      gates,
      policy,
      description,
      retrainOf: run.id,
    },
  });
  return pipeline;
}

async function versionNumber(ctx: RegistryContext, versionId: string): Promise<number | string> {
  const [row] = await ctx.db
    .select({ version: modelVersions.version })
    .from(modelVersions)
    .where(and(eq(modelVersions.projectId, ctx.projectId), eq(modelVersions.id, versionId)));
  return row?.version ?? versionId;
}

// ---------------------------------------------------------------------------------------------
// Remedies on an alert (on-call's one action).

/** The endpoint an alert is about: its subject, a rollout's endpoint, or the endpoint its details name. */
export async function endpointOfAlert(ctx: RegistryContext, alert: Alert): Promise<Endpoint> {
  let endpointId: string | undefined;
  if (alert.subjectKind === 'deployment') endpointId = alert.subjectId;
  else if (alert.subjectKind === 'rollout') {
    const [rollout] = await ctx.db
      .select({ endpointId: rollouts.endpointId })
      .from(rollouts)
      .where(and(eq(rollouts.projectId, ctx.projectId), eq(rollouts.id, alert.subjectId)));
    endpointId = rollout?.endpointId;
  }
  const conditions = [eq(endpoints.projectId, ctx.projectId)];
  const named = alert.details['endpoint'];
  if (endpointId) conditions.push(eq(endpoints.id, endpointId));
  else if (typeof named === 'string') conditions.push(eq(endpoints.name, named));
  else throw new ShepherdError('conflict', `alert ${alert.id} is not about an endpoint`);
  const [endpoint] = await ctx.db
    .select()
    .from(endpoints)
    .where(and(...conditions));
  if (!endpoint) throw new ShepherdError('conflict', `the endpoint of alert ${alert.id} no longer exists`);
  return endpoint;
}

/**
 * What a rollback of the endpoint would do, checked before starting one: stop the rollout in
 * progress, or restore the champion before the current one. Nothing to roll back to is a conflict.
 */
export async function planEndpointRollback(
  ctx: RegistryContext,
  endpoint: Endpoint,
): Promise<{ activeRolloutWorkflowId: string | null }> {
  const list = await ctx.db
    .select()
    .from(rollouts)
    .where(and(eq(rollouts.projectId, ctx.projectId), eq(rollouts.endpointId, endpoint.id)))
    .orderBy(desc(rollouts.createdAt));
  const active = list.find((rollout) => ['running', 'awaiting_approval', 'paused'].includes(rollout.state));
  if (active) return { activeRolloutWorkflowId: active.workflowId };
  const previous = list.find(
    (rollout) =>
      rollout.state === 'succeeded' &&
      rollout.candidateVersionId === endpoint.championVersionId &&
      rollout.championVersionId !== null,
  );
  if (!endpoint.championVersionId || !previous) {
    throw new ShepherdError('conflict', `endpoint ${endpoint.name} has no earlier champion to roll back to`);
  }
  return { activeRolloutWorkflowId: null };
}
