import { ShepherdError } from '@shepherd/core/errors';
import type {
  AnalysisResult,
  AnalysisThresholds,
  CanaryRolloutInput,
  EndpointMode,
  RolloutLabels,
  RolloutState,
  RolloutStep,
} from '@shepherd/contracts/serving';
import { getAliases, promote, resolveAlias } from '@shepherd/registry/aliases';
import { raiseAlert } from '@shepherd/registry/alerts';
import { analyzeCanary, failureReasons } from '@shepherd/registry/canary-analysis';
import { getEndpoint, getEndpointById, setTraffic } from '@shepherd/registry/endpoints';
import { addEdges } from '@shepherd/registry/lineage';
import { getModelById } from '@shepherd/registry/models';
import { listRollouts, planRollout, recordRolloutProgress } from '@shepherd/registry/rollouts';
import { canaryRequestId } from '@shepherd/contracts/training';
import { summarizeStats } from '@shepherd/registry/serving-stats';
import { canaryAccuracy, matchLabels, type CanaryAccuracy } from '@shepherd/registry/label-join';
import { labelTopic } from '@shepherd/contracts/features';
import { getLatestParityReport } from '@shepherd/features/parity';
import { getVersionById, transitionVersion } from '@shepherd/registry/versions';
import { mirrorAliases } from '@shepherd/registry/mlflow-mirror';
import type { RegistryContext } from '@shepherd/registry/context';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { updateTrainingRun } from '@shepherd/registry/training';
import { guarded } from './failures.ts';
import { labelsOf, offsetsAt, predictionsOf, readSince } from './kafka-read.ts';

export interface RolloutRef extends Scope {
  rolloutId: string;
  endpointId: string;
  candidateVersionId: string;
}

/** A parity report older than this says nothing about the features a canary is served now. */
const parityFreshMs = 3_600_000;

export function rolloutActivities(deps: ActivityDeps) {
  /** The latest parity report of the endpoint's feature view, when it is recent. */
  async function recentParity(ctx: RegistryContext, endpointId: string, now: Date) {
    const endpoint = await getEndpointById(ctx, endpointId);
    if (!endpoint.featureViewName) return undefined;
    const report = await getLatestParityReport(deps.db, ctx.projectId, endpoint.featureViewName, {
      ...(endpoint.featureViewVersion ? { version: endpoint.featureViewVersion } : {}),
    }).catch(() => null);
    if (!report || now.getTime() - Date.parse(report.checkedAt) > parityFreshMs) return undefined;
    return { mismatchRate: report.mismatchRate, checkedAt: report.checkedAt };
  }

  /**
   * Each side's accuracy on the labels that arrived in the window, joined with the endpoint's
   * logged predictions from up to `joinSeconds` before it (labels come late, predictions first).
   * Without Kafka or a labels setting the check is skipped rather than failing the rollout.
   */
  async function windowAccuracy(
    ctx: RegistryContext,
    input: RolloutRef & { championVersionId: string | null; since: string; until: string },
    labels: RolloutLabels | undefined,
    minLabels: number,
  ): Promise<CanaryAccuracy | undefined> {
    if (!labels || !deps.kafka) return undefined;
    const endpoint = await getEndpointById(ctx, input.endpointId);
    const model = await getModelById(ctx, endpoint.modelId);
    const since = new Date(input.since);
    const until = Date.parse(input.until);
    const labelsTopic = labels.topic ?? labelTopic(model.name);
    const labelsRead = await readSince(
      deps.kafka,
      labelsTopic,
      await offsetsAt(deps.kafka, labelsTopic, since),
    );
    // Bounded by the window's end, so a retried analysis judges the same labels.
    const arrived = labelsOf(labelsRead.values.filter((message) => message.timestamp <= until));
    if (arrived.length === 0) return { labelled: { canary: 0, champion: 0 } };
    const predictionsFrom = new Date(since.getTime() - labels.joinSeconds * 1000);
    const predictionsRead = await readSince(
      deps.kafka,
      labels.predictionsTopic,
      await offsetsAt(deps.kafka, labels.predictionsTopic, predictionsFrom),
    );
    const predictions = predictionsOf(
      predictionsRead.values.filter((message) => message.timestamp <= until),
      { projectId: ctx.projectId, endpoint: endpoint.name },
    )
      .filter((event) => event.role !== 'shadow')
      .map((event) => ({ ...event, at: new Date(event.at) }));
    const joined = matchLabels(arrived, predictions, labels.joinSeconds);
    return canaryAccuracy(
      joined,
      { canary: input.candidateVersionId, champion: input.championVersionId },
      minLabels,
    );
  }

  /** MLflow shows the same champion as Shepherd; a model never mirrored (MLflow off) is skipped. */
  async function mirrorChampion(ctx: RegistryContext, modelId: string) {
    if (!deps.mlflow) return;
    const model = await getModelById(ctx, modelId);
    const champion = await resolveAlias(ctx, modelId, 'champion');
    const mlflowVersion = champion?.tags['mlflow.version'];
    if (mlflowVersion) await mirrorAliases(deps.mlflow, model.name, { champion: mlflowVersion });
  }

  return {
    /**
     * The training pipeline's canary policy: records a rollout of the new version on the policy's
     * endpoint (once per pipeline) and returns the input of its workflow.
     */
    planCanary: (
      input: Scope & {
        versionId: string;
        endpoint: string;
        steps?: RolloutStep[] | undefined;
        analysisIntervalSeconds: number;
        thresholds?: Partial<AnalysisThresholds> | undefined;
      },
    ) =>
      guarded(async (): Promise<CanaryRolloutInput> => {
        const ctx = registryContext(deps, input);
        const requestId = canaryRequestId(input.workflowId);
        const { input: rollout } = await planRollout(ctx, {
          endpoint: await getEndpoint(ctx, input.endpoint),
          candidateVersionId: input.versionId,
          requestId,
          workflowId: `rollout-${requestId}`,
          steps: input.steps,
          analysisIntervalSeconds: input.analysisIntervalSeconds,
          thresholds: input.thresholds,
        });
        await updateTrainingRun(ctx, input.workflowId, { state: 'succeeded', failureReason: null });
        return rollout;
      }),

    /** The candidate becomes `canary` and joins the endpoint with no traffic yet. */
    beginRollout: (input: RolloutRef & { mode: EndpointMode }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const version = await getVersionById(ctx, input.candidateVersionId);
        if (version.state !== 'canary') await transitionVersion(ctx, version.id, 'canary');
        await setTraffic(ctx, input.endpointId, {
          candidateVersionId: version.id,
          candidateWeight: 0,
          mode: input.mode,
          reason: `rollout ${input.rolloutId} started`,
        });
        await addEdges(deps.db, input.projectId, [
          {
            from: { kind: 'model_version', id: version.id },
            to: { kind: 'deployment', id: input.endpointId },
            relation: 'deployed_to',
            metadata: { rolloutId: input.rolloutId },
          },
        ]);
      }),

    /** Moves the split to a step's weight and records where the rollout is. */
    shiftTraffic: (input: RolloutRef & { step: number; weight: number }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        await setTraffic(ctx, input.endpointId, {
          candidateWeight: input.weight,
          reason: `rollout ${input.rolloutId} step ${input.step + 1}: ${input.weight} %`,
        });
        await recordRolloutProgress(ctx, input.rolloutId, {
          state: 'running',
          step: input.step,
          weight: input.weight,
        });
      }),

    recordRolloutState: (input: Scope & { rolloutId: string; state: RolloutState; reasons?: string[] }) =>
      guarded(async () => {
        const progress = { state: input.state, ...(input.reasons ? { reasons: input.reasons } : {}) };
        await recordRolloutProgress(registryContext(deps, input), input.rolloutId, progress);
      }),

    /**
     * Canary against champion over one window of the gateways' statistics. The window is passed
     * in by the workflow, so a retried analysis judges the same seconds.
     */
    analyzeRollout: (
      input: RolloutRef & {
        championVersionId: string | null;
        mode: EndpointMode;
        step: number;
        weight: number;
        since: string;
        until: string;
        thresholds: AnalysisThresholds;
        labels?: RolloutLabels | undefined;
      },
    ) =>
      guarded(async (): Promise<{ analysis: AnalysisResult; reasons: string[] }> => {
        const ctx = registryContext(deps, input);
        const window = { since: new Date(input.since), until: new Date(input.until) };
        const canary = await summarizeStats(deps.db, input.projectId, input.endpointId, {
          ...window,
          versionId: input.candidateVersionId,
          role: input.mode === 'shadow' ? 'shadow' : 'candidate',
        });
        const champion = input.championVersionId
          ? await summarizeStats(deps.db, input.projectId, input.endpointId, {
              ...window,
              versionId: input.championVersionId,
              role: 'champion',
            })
          : { requests: 0, errors: 0, latencyCounts: [], predictionCounts: [] };
        const analysis = analyzeCanary(
          {
            step: input.step,
            weight: input.weight,
            at: input.until,
            windowSeconds: (window.until.getTime() - window.since.getTime()) / 1000,
          },
          canary,
          champion,
          input.thresholds,
          {
            parity: await recentParity(ctx, input.endpointId, window.until),
            ...(await windowAccuracy(ctx, input, input.labels, input.thresholds.minLabels)),
          },
        );
        await recordRolloutProgress(ctx, input.rolloutId, { analysis });
        return { analysis, reasons: failureReasons(analysis) };
      }),

    /**
     * 100 % back to the champion at once, then the bookkeeping: the candidate `rolled_back` (or
     * back to `validated` when a person aborted), the rollout's reasons, an alert.
     */
    rollBackRollout: (
      input: RolloutRef & { outcome: 'rolled_back' | 'aborted' | 'failed'; reasons: string[] },
    ) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        await setTraffic(ctx, input.endpointId, {
          candidateVersionId: null,
          candidateWeight: 0,
          reason: `rollout ${input.rolloutId} ${input.outcome}: ${input.reasons.join('; ')}`,
        });
        const version = await getVersionById(ctx, input.candidateVersionId);
        // An aborted or failed rollout says nothing against the candidate; a failed analysis does.
        const target = input.outcome === 'rolled_back' ? 'rolled_back' : 'validated';
        if (version.state === 'canary') {
          await transitionVersion(ctx, version.id, target, { failureReason: input.reasons.join('; ') });
        }
        if (input.outcome !== 'aborted') {
          const endpoint = await getEndpointById(ctx, input.endpointId);
          const { alert } = await raiseAlert(ctx, {
            source: 'rollout',
            kind: 'rollout_failed',
            severity: 'critical',
            dedupKey: `rollout:${input.rolloutId}`,
            subject: { kind: 'rollout', id: input.rolloutId },
            summary: `${endpoint.name}: rollout of version ${version.version} ${input.outcome === 'failed' ? 'failed' : 'rolled back'} (${input.reasons.join('; ')})`,
            details: { endpoint: endpoint.name, version: version.version, reasons: input.reasons },
          });
          await addEdges(deps.db, input.projectId, [
            {
              from: { kind: 'deployment', id: input.endpointId },
              to: { kind: 'alert', id: alert.id },
              relation: 'alerted',
            },
          ]);
        }
        // Last, so whoever sees the final state also finds the alert and the version's new state.
        await recordRolloutProgress(ctx, input.rolloutId, { state: input.outcome, reasons: input.reasons });
      }),

    /** The candidate becomes champion of the model and of the endpoint; the old one stays as rollback target. */
    promoteRollout: (input: RolloutRef) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const endpoint = await getEndpointById(ctx, input.endpointId);
        await promote(ctx, endpoint.modelId, input.candidateVersionId);
        await setTraffic(ctx, input.endpointId, {
          championVersionId: input.candidateVersionId,
          candidateVersionId: null,
          candidateWeight: 0,
          reason: `rollout ${input.rolloutId} succeeded`,
        });
        await recordRolloutProgress(ctx, input.rolloutId, { state: 'succeeded', weight: 100 });
        await mirrorChampion(ctx, endpoint.modelId);
      }),

    /**
     * Manual rollback of a promoted version: the champion before it (the last successful rollout's
     * previous champion) takes 100 % again; the current one becomes `rolled_back`.
     */
    rollBackEndpoint: (input: Scope & { endpointId: string; reason: string }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const endpoint = await getEndpointById(ctx, input.endpointId);
        const current = endpoint.championVersionId;
        const previous = (await listRollouts(ctx, { endpointId: endpoint.id })).find(
          (rollout) =>
            rollout.state === 'succeeded' &&
            rollout.candidateVersionId === current &&
            rollout.championVersionId !== null,
        )?.championVersionId;
        if (!current || !previous) {
          throw new ShepherdError(
            'conflict',
            `endpoint ${endpoint.name} has no earlier champion to roll back to`,
          );
        }
        const from = await getVersionById(ctx, current);
        const to = await getVersionById(ctx, previous);
        if (from.state === 'production') {
          await transitionVersion(ctx, from.id, 'rolled_back', { failureReason: input.reason });
        }
        await promote(ctx, endpoint.modelId, to.id);
        await setTraffic(ctx, endpoint.id, {
          championVersionId: to.id,
          candidateVersionId: null,
          candidateWeight: 0,
          reason: `rollback: ${input.reason}`,
        });
        const { alert } = await raiseAlert(ctx, {
          source: 'rollout',
          kind: 'rollback',
          severity: 'warning',
          dedupKey: `rollback:${endpoint.id}:${from.id}`,
          subject: { kind: 'deployment', id: endpoint.id },
          summary: `${endpoint.name}: rolled back from version ${from.version} to ${to.version} (${input.reason})`,
          details: { endpoint: endpoint.name, from: from.version, to: to.version, reason: input.reason },
        });
        await addEdges(deps.db, input.projectId, [
          {
            from: { kind: 'deployment', id: endpoint.id },
            to: { kind: 'alert', id: alert.id },
            relation: 'alerted',
          },
        ]);
        await mirrorChampion(ctx, endpoint.modelId);
        const aliases = await getAliases(ctx, endpoint.modelId);
        return { from: from.version, to: to.version, champion: aliases['champion'] ?? null };
      }),
  };
}
