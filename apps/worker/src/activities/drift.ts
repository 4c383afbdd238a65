import { ShepherdError } from '@shepherd/core/errors';
import { labelTopic } from '@shepherd/contracts/features';
import type {
  DriftMonitorConfig,
  DriftPolicy,
  DriftSignal,
  NotificationEvent,
} from '@shepherd/contracts/drift';
import { featureColumns, type ModelTask } from '@shepherd/contracts/trainer';
import type { TrainingPipelineInput } from '@shepherd/contracts/training';
import { buildReferenceProfile, type ReferenceProfile } from '@shepherd/drift/profile';
import { parseLabelledCsv } from '@shepherd/evaluation/csv';
import { loadModel } from '@shepherd/evaluation/model';
import { annotateAlert, getAlert, raiseAlert, resolveByDedupKey } from '@shepherd/registry/alerts';
import {
  clearedDriftAlerts,
  getMonitorById,
  joinLabels,
  judgeWindow,
  observationsOf,
  planAlerts,
  planRetrain,
  predictionColumn,
  pruneObservations,
  readVersionProfile,
  saveObservations,
  saveReport,
  type ObservedPrediction,
  type VersionReference,
  type VersionReferenceProfile,
} from '@shepherd/registry/drift';
import { getEndpointById } from '@shepherd/registry/endpoints';
import { addEdges } from '@shepherd/registry/lineage';
import { getModelById } from '@shepherd/registry/models';
import {
  getWebhookById,
  markDeliveryFailed,
  postNotification,
  recipientsOf,
} from '@shepherd/registry/notify';
import { listRollouts } from '@shepherd/registry/rollouts';
import { getTrainingSet } from '@shepherd/registry/training';
import { annotateVersion, getVersionById } from '@shepherd/registry/versions';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';
import { highWatermarks, labelsOf, predictionsOf, readSince, type Offsets } from './kafka-read.ts';

/** Training CSV columns as the drift package takes them: numbers when every value is one, else categories. */
export function csvColumns(text: string): Record<string, Float64Array | (string | null)[]> {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((column) => column.trim());
  const names = featureColumns(header);
  const raw = names.map(() => [] as string[]);
  const indexes = names.map((name) => header.indexOf(name));
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]!.split(',');
    indexes.forEach((index, column) => raw[column]!.push((fields[index] ?? '').trim()));
  }
  const columns: Record<string, Float64Array | (string | null)[]> = {};
  names.forEach((name, column) => {
    const values = raw[column]!;
    const numeric = values.every((value) => value === '' || Number.isFinite(Number(value)));
    columns[name] = numeric
      ? Float64Array.from(values, (value) => (value === '' ? Number.NaN : Number(value)))
      : values.map((value) => (value === '' ? null : value));
  });
  return columns;
}

export interface WindowRequest extends Scope {
  monitorId: string;
  endpointId: string;
  sequence: number;
  windowStart: string;
  windowEnd: string;
  predictionOffsets: Offsets;
  labelOffsets: Offsets;
  streaks: Record<string, number>;
  config: DriftMonitorConfig;
  /** False during the cooldown after a remedy: alerts fire and notify, the policy does not act. */
  remediesAllowed: boolean;
}

export interface Remedy {
  alertId: string;
  signal: DriftSignal;
  action: Exclude<DriftPolicy['action'], 'notify'>;
  reason: string;
  activeRolloutWorkflowId: string | null;
}

export interface WindowOutcome {
  stopped: boolean;
  predictionOffsets: Offsets;
  labelOffsets: Offsets;
  streaks: Record<string, number>;
  drifted: boolean;
  predictions: number;
  notifications: { alertId: string; event: NotificationEvent }[];
  remedies: Remedy[];
}

export function driftActivities(deps: ActivityDeps) {
  const kafka = () => {
    if (!deps.kafka) throw new ShepherdError('internal', 'the worker was started without Kafka');
    return deps.kafka;
  };

  /** The champion's reference: profile, holdout metrics, task. */
  async function referenceOf(scope: Scope, versionId: string | null): Promise<VersionReference | null> {
    if (!versionId) return null;
    const ctx = registryContext(deps, scope);
    const version = await getVersionById(ctx, versionId);
    const model = await getModelById(ctx, version.modelId);
    return {
      versionId,
      task: model.task === 'regression' ? 'regression' : 'binary_classification',
      profile: readVersionProfile(version.referenceProfile),
      metrics: version.metrics,
    };
  }

  return {
    /**
     * At training time: the profile of every feature of the train split and of the model's outputs
     * on the holdout, stored on the version so monitoring never rereads the training data.
     */
    buildReferenceProfile: (
      input: Scope & { versionId: string; trainingSetId: string; modelTask: ModelTask },
    ) =>
      guarded(async (): Promise<{ features: number; skipped: string[]; predictionProfile: boolean }> => {
        const ctx = registryContext(deps, input);
        const version = await getVersionById(ctx, input.versionId);
        const set = await getTrainingSet(ctx, input.trainingSetId);
        const train = (await deps.artifacts.getVerified(set.trainUri, set.trainSha256)).toString('utf8');
        const columns = csvColumns(train);
        // Profile column by column: one unprofilable column (an id with too many categories) is
        // skipped and named, not a failed training.
        const profiles: ReferenceProfile[] = [];
        const skipped: Record<string, string> = {};
        for (const [name, values] of Object.entries(columns)) {
          try {
            profiles.push(buildReferenceProfile({ [name]: values }));
          } catch (err) {
            if (!(err instanceof ShepherdError)) throw err;
            skipped[name] = err.message;
          }
        }
        if (profiles.length === 0) {
          throw new ShepherdError('unprocessable', `no feature of training set ${set.id} could be profiled`);
        }
        const features: ReferenceProfile = {
          version: profiles[0]!.version,
          rowCount: Math.max(...profiles.map((p) => p.rowCount)),
          sampleSize: profiles[0]!.sampleSize,
          columns: Object.assign({}, ...profiles.map((p) => p.columns)) as ReferenceProfile['columns'],
        };

        const holdout = (await deps.artifacts.getVerified(set.holdoutUri, set.holdoutSha256)).toString(
          'utf8',
        );
        const bytes = await deps.artifacts.getVerified(version.artifactUri, version.artifactSha256);
        let outputs: Float32Array;
        if (input.modelTask === 'regression') {
          const data = parseLabelledCsv(holdout, set.featureNames, {
            source: 'holdout',
            target: 'continuous',
          });
          const model = await loadModel(bytes, { task: 'regression' });
          try {
            outputs = await model.predict(data.features, data.nRows, set.featureNames.length);
          } finally {
            await model.close();
          }
        } else {
          const data = parseLabelledCsv(holdout, set.featureNames, { source: 'holdout' });
          const model = await loadModel(bytes, { task: 'binary_classification' });
          try {
            outputs = await model.predictProba(data.features, data.nRows, set.featureNames.length);
          } finally {
            await model.close();
          }
        }
        const prediction = buildReferenceProfile({ [predictionColumn]: Float64Array.from(outputs) });
        const stored: VersionReferenceProfile = {
          schemaVersion: 1,
          features,
          prediction,
          trainingSetId: set.id,
          skipped,
          builtAt: new Date().toISOString(),
        };
        await annotateVersion(ctx, version.id, { referenceProfile: stored });
        return {
          features: Object.keys(features.columns).length,
          skipped: Object.keys(skipped),
          predictionProfile: true,
        };
      }),

    /** Where the monitor starts reading: what arrives after it starts. */
    openDriftMonitor: (input: Scope & { config: DriftMonitorConfig; endpointId: string }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const endpoint = await getEndpointById(ctx, input.endpointId);
        const model = await getModelById(ctx, endpoint.modelId);
        return {
          predictionOffsets: await highWatermarks(kafka(), input.config.predictionsTopic),
          labelOffsets: await highWatermarks(kafka(), input.config.labelsTopic ?? labelTopic(model.name)),
        };
      }),

    /**
     * One window: read what the gateways logged since the last window (and the labels that arrived),
     * keep it, judge it, store the report, fire and resolve alerts. The window's bounds and offsets
     * come from the workflow, so a retried window judges the same data and writes the same report.
     */
    judgeDriftWindow: (input: WindowRequest) =>
      guarded(async (): Promise<WindowOutcome> => {
        const ctx = registryContext(deps, input);
        const monitor = await getMonitorById(ctx, input.monitorId);
        const untouched: WindowOutcome = {
          stopped: true,
          predictionOffsets: input.predictionOffsets,
          labelOffsets: input.labelOffsets,
          streaks: input.streaks,
          drifted: false,
          predictions: 0,
          notifications: [],
          remedies: [],
        };
        if (monitor.state !== 'running') return untouched;
        const { config } = input;
        const endpoint = await getEndpointById(ctx, input.endpointId);
        const model = await getModelById(ctx, endpoint.modelId);

        const read = await readSince(kafka(), config.predictionsTopic, input.predictionOffsets);
        const events = predictionsOf(read.values, { projectId: input.projectId, endpoint: endpoint.name });
        const predictions = events.length;
        const rows: ObservedPrediction[] = events
          .filter((event) => event.role !== 'shadow')
          .map((event) => ({
            predictionId: event.predictionId,
            versionId: event.versionId,
            role: event.role,
            entityId: event.entityId,
            features: event.features,
            prediction: event.prediction,
            at: new Date(event.at),
          }));
        await saveObservations(deps.db, input.projectId, monitor.id, input.sequence, rows);

        const labelsRead = await readSince(
          kafka(),
          config.labelsTopic ?? labelTopic(model.name),
          input.labelOffsets,
        );
        const labels = labelsOf(labelsRead.values);
        const championId = endpoint.championVersionId;
        const joined = (
          await joinLabels(deps.db, input.projectId, monitor.id, labels, config.labelJoinSeconds)
        ).filter((pair) => pair.versionId === championId);

        const baseline = await observationsOf(
          deps.db,
          input.projectId,
          monitor.id,
          input.sequence - config.baselineWindows,
          input.sequence,
        );
        const reference = await referenceOf(input, championId);
        const signals = judgeWindow({ config, reference, current: rows, baseline, labelled: joined });
        const windowEnd = new Date(input.windowEnd);
        await saveReport(ctx, monitor, {
          sequence: input.sequence,
          versionId: championId,
          windowStart: new Date(input.windowStart),
          windowEnd,
          predictions,
          judged: rows.length,
          labels: joined.length,
          signals,
        });
        await pruneObservations(
          deps.db,
          input.projectId,
          monitor.id,
          input.sequence - config.baselineWindows,
          new Date(windowEnd.getTime() - config.keepPredictionsSeconds * 1000),
        );

        const version = championId ? await getVersionById(ctx, championId) : null;
        const plan = planAlerts({
          endpoint: { id: endpoint.id, name: endpoint.name },
          version: version?.version ?? null,
          signals,
          streaks: input.streaks,
          fireAfterWindows: config.fireAfterWindows,
        });
        const notifications: WindowOutcome['notifications'] = [];
        const remedies: Remedy[] = [];
        const [activeRollout] = await listRollouts(ctx, {
          endpointId: endpoint.id,
          activeOnly: true,
          limit: 1,
        });
        for (const planned of plan.fire) {
          const { alert, created } = await raiseAlert(ctx, {
            source: 'drift',
            kind: 'drift',
            severity: planned.severity,
            dedupKey: planned.dedupKey,
            subject: { kind: 'deployment', id: endpoint.id },
            summary: planned.summary,
            details: { ...planned.details, reportSequence: input.sequence, monitorId: monitor.id },
          });
          if (!created) continue;
          notifications.push({ alertId: alert.id, event: 'trigger' });
          await addEdges(deps.db, input.projectId, [
            {
              from: { kind: 'deployment', id: endpoint.id },
              to: { kind: 'alert', id: alert.id },
              relation: 'alerted',
            },
          ]);
          const policy = config.policy;
          // One remedy per window: skew, drift and prediction often fire together, and one
          // rollback (or one retrain) answers them all.
          if (
            input.remediesAllowed &&
            remedies.length === 0 &&
            policy.action !== 'notify' &&
            planned.feature === null &&
            planned.severity === 'critical' &&
            policy.on.includes(planned.signal)
          ) {
            remedies.push({
              alertId: alert.id,
              signal: planned.signal,
              action: policy.action,
              reason: `drift monitor: ${planned.summary}`.slice(0, 2000),
              activeRolloutWorkflowId: activeRollout?.workflowId ?? null,
            });
          }
        }
        for (const cleared of await clearedDriftAlerts(
          ctx,
          endpoint.id,
          plan.streaks,
          config.resolveAfterWindows,
        )) {
          const resolved = await resolveByDedupKey(ctx, cleared.dedupKey);
          if (resolved) notifications.push({ alertId: resolved.id, event: 'resolve' });
        }
        return {
          stopped: false,
          predictionOffsets: read.next,
          labelOffsets: labelsRead.next,
          streaks: plan.streaks,
          drifted: signals.some((signal) => signal.outcome === 'drifted'),
          predictions,
          notifications,
          remedies,
        };
      }),

    /** Records what the monitor did about an alert, on the alert itself (on-call reads it there). */
    recordRemedy: (input: Scope & { alertId: string; action: string; workflowId: string; error?: string }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        await annotateAlert(ctx, input.alertId, {
          remedy: {
            action: input.action,
            workflowId: input.workflowId,
            ...(input.error ? { error: input.error } : {}),
          },
        });
      }),

    /** auto_retrain: a training run like the champion's, with the canary policy on this endpoint. */
    planDriftRetrain: (
      input: Scope & { endpointId: string; alertId: string; policy: DriftPolicy; reason: string },
    ) =>
      guarded(async (): Promise<TrainingPipelineInput> => {
        const ctx = registryContext(deps, input);
        return planRetrain(ctx, {
          endpointId: input.endpointId,
          requestId: `retrain-${input.alertId}`,
          rollout: input.policy.rollout,
          dataUri: input.policy.retrainDataUri,
          reason: input.reason,
        });
      }),

    /** The webhooks an alert goes to (by the severity each takes). */
    alertRecipients: (input: { projectId: string; alertId: string; webhookIds?: string[] | undefined }) =>
      guarded(async (): Promise<string[]> => {
        const ctx = registryContext(deps, { projectId: input.projectId, actor: 'notifier', workflowId: '' });
        const alert = await getAlert(ctx, input.alertId);
        const recipients = (await recipientsOf(ctx, alert)).map((webhook) => webhook.id);
        return input.webhookIds ? recipients.filter((id) => input.webhookIds!.includes(id)) : recipients;
      }),

    /** One delivery attempt; a retryable failure throws and Temporal's retry policy tries again. */
    deliverAlertNotification: (input: {
      projectId: string;
      alertId: string;
      webhookId: string;
      event: NotificationEvent;
    }) =>
      guarded(async () => {
        const ctx = registryContext(deps, { projectId: input.projectId, actor: 'notifier', workflowId: '' });
        const alert = await getAlert(ctx, input.alertId);
        const webhook = await getWebhookById(ctx, input.webhookId);
        const delivery = await postNotification(ctx, { webhook, alert, event: input.event });
        return { attempts: delivery.attempts, status: delivery.lastStatus };
      }),

    markNotificationFailed: (input: {
      projectId: string;
      alertId: string;
      webhookId: string;
      event: NotificationEvent;
      error: string;
    }) =>
      guarded(async () => {
        const ctx = registryContext(deps, { projectId: input.projectId, actor: 'notifier', workflowId: '' });
        await markDeliveryFailed(ctx, input, input.error);
      }),
  };
}
