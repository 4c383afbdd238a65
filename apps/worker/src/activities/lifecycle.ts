import type { EvaluationReport, PromotionPolicy, TrainingOutcome } from '@shepherd/contracts/training';
import { getAliases, promote, resolveAlias, setAlias } from '@shepherd/registry/aliases';
import { addEdges } from '@shepherd/registry/lineage';
import { updateTrainingRun } from '@shepherd/registry/training';
import {
  annotateVersion,
  canTransition,
  getVersionById,
  registerVersion,
  transitionVersion,
} from '@shepherd/registry/versions';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';
import { findOrCreateRun, mirrorAliases, mirrorVersion } from '@shepherd/registry/mlflow-mirror';
import type { TrainedArtifact } from './train.ts';

export function lifecycleActivities(deps: ActivityDeps) {
  return {
    recordTrainingStep: (input: Scope & { step: string }) =>
      guarded(() => updateTrainingRun(registryContext(deps, input), input.workflowId, { step: input.step })),

    startMlflowRun: (input: Scope & { modelName: string; trainingSetId: string }) =>
      guarded(async (): Promise<string | null> => {
        if (!deps.mlflow) return null;
        const runId = await findOrCreateRun(deps.mlflow, input);
        await updateTrainingRun(registryContext(deps, input), input.workflowId, { mlflowRunId: runId });
        return runId;
      }),

    /** Registers the trained model as a `validating` version, with its lineage; once per workflow. */
    registerCandidate: (
      input: Scope & {
        modelId: string;
        trainingSetId: string;
        mlflowRunId: string | null;
        artifact: TrainedArtifact;
        description?: string | undefined;
      },
    ) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const version = await registerVersion(ctx, {
          modelId: input.modelId,
          artifactUri: input.artifact.uri,
          artifactSha256: input.artifact.sha256,
          state: 'validating',
          mlflowRunId: input.mlflowRunId,
          trainingSetId: input.trainingSetId,
          tags: { 'shepherd.workflow_id': input.workflowId },
          description: input.description ?? null,
          requestId: input.workflowId,
        });
        const set = { kind: 'training_set' as const, id: input.trainingSetId };
        const node = { kind: 'model_version' as const, id: version.id };
        await addEdges(
          deps.db,
          input.projectId,
          input.mlflowRunId
            ? [
                { from: set, to: { kind: 'run', id: input.mlflowRunId }, relation: 'trained_on' },
                { from: { kind: 'run', id: input.mlflowRunId }, to: node, relation: 'produced' },
              ]
            : [{ from: set, to: node, relation: 'trained_on' }],
        );
        await updateTrainingRun(ctx, input.workflowId, { versionId: version.id });
        return { id: version.id, version: version.version };
      }),

    /** Applies the verdict: rejected with the failed gates named, or validated and promoted/aliased. */
    decideVersion: (
      input: Scope & {
        modelId: string;
        modelName: string;
        versionId: string;
        report: EvaluationReport;
        policy: PromotionPolicy;
        mlflowRunId: string | null;
        /** False for imported runs: their status belongs to whoever created them. */
        ownsMlflowRun: boolean;
      },
    ) =>
      guarded(async (): Promise<TrainingOutcome> => {
        const ctx = registryContext(deps, input);
        const version = await getVersionById(ctx, input.versionId);
        const failedGates = input.report.gates.filter((gate) => !gate.passed);
        if (!input.report.passed) {
          const reason = failedGates.map((gate) => gate.message).join('; ');
          await transitionVersion(ctx, version.id, 'rejected', { failureReason: reason });
          await updateTrainingRun(ctx, input.workflowId, { state: 'rejected', failureReason: reason });
          if (deps.mlflow && input.mlflowRunId) {
            await deps.mlflow.setTag(input.mlflowRunId, 'shepherd.verdict', 'rejected');
            if (input.ownsMlflowRun) await deps.mlflow.terminateRun(input.mlflowRunId, 'FINISHED');
          }
          return {
            state: 'rejected',
            versionId: version.id,
            version: version.version,
            aliases: [],
            failedGates: failedGates.map((gate) => `${gate.dataset}:${gate.metric}:${gate.kind}`),
            reason,
          };
        }

        if (version.state === 'validating') await transitionVersion(ctx, version.id, 'validated');
        const champion = await resolveAlias(ctx, input.modelId, 'champion');
        // The canary policy needs a champion to compare with; a first version is promoted as usual.
        const promoteNow =
          champion?.id === version.id ||
          input.policy.mode === 'auto' ||
          (champion === undefined && input.policy.promoteFirstVersion);
        if (promoteNow) await promote(ctx, input.modelId, version.id);
        else await setAlias(ctx, input.modelId, 'challenger', version.id);

        const aliases = Object.entries(await getAliases(ctx, input.modelId))
          .filter(([, versionId]) => versionId === version.id)
          .map(([alias]) => alias);
        if (deps.mlflow && input.mlflowRunId) {
          const mlflowVersion = await mirrorVersion(deps.mlflow, {
            modelName: input.modelName,
            runId: input.mlflowRunId,
            shepherdVersionId: version.id,
            description: version.description ?? undefined,
          });
          await annotateVersion(ctx, version.id, {
            tags: { ...version.tags, 'mlflow.version': mlflowVersion },
          });
          await mirrorAliases(
            deps.mlflow,
            input.modelName,
            Object.fromEntries(aliases.map((alias) => [alias, mlflowVersion])),
          );
          await deps.mlflow.setTag(input.mlflowRunId, 'shepherd.verdict', 'validated');
          if (input.ownsMlflowRun) await deps.mlflow.terminateRun(input.mlflowRunId, 'FINISHED');
        }
        // With a rollout to follow, planCanary marks the run succeeded once the rollout is recorded,
        // so whoever reads `succeeded` also finds the rollout.
        const rolloutFollows = input.policy.mode === 'canary' && !aliases.includes('champion');
        if (!rolloutFollows) {
          await updateTrainingRun(ctx, input.workflowId, { state: 'succeeded', failureReason: null });
        }
        return {
          state: 'succeeded',
          versionId: version.id,
          version: version.version,
          aliases,
          failedGates: [],
        };
      }),

    /** Leaves nothing half-registered: the version (if any) is `failed`, the run says why. */
    failTraining: (
      input: Scope & {
        versionId?: string | undefined;
        mlflowRunId?: string | undefined;
        ownsMlflowRun: boolean;
        reason: string;
      },
    ) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        if (input.versionId) {
          const version = await getVersionById(ctx, input.versionId);
          if (canTransition(version.state, 'failed')) {
            await transitionVersion(ctx, version.id, 'failed', { failureReason: input.reason });
          }
        }
        await updateTrainingRun(ctx, input.workflowId, { state: 'failed', failureReason: input.reason });
        if (deps.mlflow && input.mlflowRunId) {
          await deps.mlflow.setTag(input.mlflowRunId, 'shepherd.failure', input.reason.slice(0, 4000));
          if (input.ownsMlflowRun) await deps.mlflow.terminateRun(input.mlflowRunId, 'FAILED');
        }
      }),
  };
}
