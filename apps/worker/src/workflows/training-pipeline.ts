import {
  ActivityFailure,
  ApplicationFailure,
  defineQuery,
  proxyActivities,
  setHandler,
  CancellationScope,
  ParentClosePolicy,
  startChild,
} from '@temporalio/workflow';
import { canaryRollout } from './canary-rollout.ts';
import type { TrainingOutcome, TrainingPipelineInput } from '@shepherd/contracts/training';
import type { Activities } from '../activities/index.ts';

// Short I/O steps: database, artifact store, MLflow.
const io = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: ['ShepherdError'] },
});

// Training runs an external command: it heartbeats every 2 s, so a dead worker is noticed within
// the heartbeat timeout (five missed beats) and the attempt restarts on another worker.
const training = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: ['ShepherdError'] },
});

const evaluation = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['ShepherdError'] },
});

export interface TrainingStatus {
  step: string;
  versionId?: string;
  mlflowRunId?: string;
}

export const trainingStatusQuery = defineQuery<TrainingStatus>('trainingStatus');

/**
 * build training set → train (or import an MLflow run's model) → register → evaluate against the champion → gates → promote or
 * reject. Every activity is idempotent on the workflow id, so retries and worker restarts
 * register one version and one MLflow run.
 */
export async function trainingPipeline(input: TrainingPipelineInput): Promise<TrainingOutcome> {
  const status: TrainingStatus = { step: 'queued' };
  setHandler(trainingStatusQuery, () => status);
  const scope = { projectId: input.projectId, actor: input.actor, workflowId: input.workflowId };
  const ownsMlflowRun = input.source.kind === 'trainer';
  const step = async (name: string) => {
    status.step = name;
    await io.recordTrainingStep({ ...scope, step: name });
  };

  try {
    await step('building_training_set');
    const trainingSet = await io.prepareTrainingSet({
      ...scope,
      data: input.data,
      modelName: input.modelName,
    });

    let mlflowRunId: string | null;
    let artifact;
    if (input.source.kind === 'trainer') {
      await step('starting_mlflow_run');
      mlflowRunId = await io.startMlflowRun({
        ...scope,
        modelName: input.modelName,
        trainingSetId: trainingSet.id,
      });
      if (mlflowRunId) status.mlflowRunId = mlflowRunId;
      await step('training');
      artifact = await training.trainModel({
        ...scope,
        modelName: input.modelName,
        modelTask: input.modelTask,
        trainer: input.source.trainer,
        trainingSetId: trainingSet.id,
        mlflowRunId,
      });
    } else {
      // Bring your own run: the model already exists in MLflow; it is evaluated like any other.
      mlflowRunId = input.source.runId;
      status.mlflowRunId = mlflowRunId;
      await step('importing');
      artifact = await io.importMlflowModel({
        ...scope,
        modelName: input.modelName,
        modelTask: input.modelTask,
        runId: input.source.runId,
        artifactPath: input.source.artifactPath,
        featureNames: trainingSet.featureNames,
      });
    }

    await step('registering');
    const version = await io.registerCandidate({
      ...scope,
      modelId: input.modelId,
      trainingSetId: trainingSet.id,
      mlflowRunId,
      artifact,
      description: input.description,
    });
    status.versionId = version.id;
    // The drift monitor's reference: the train split's features and the model's holdout outputs.
    await evaluation.buildReferenceProfile({
      ...scope,
      versionId: version.id,
      trainingSetId: trainingSet.id,
      modelTask: input.modelTask,
    });

    await step('evaluating');
    const report = await evaluation.evaluateCandidate({
      ...scope,
      modelId: input.modelId,
      modelTask: input.modelTask,
      versionId: version.id,
      trainingSetId: trainingSet.id,
      goldenSetUri: input.goldenSetUri,
      gates: input.gates,
    });

    await step('deciding');
    const outcome = await io.decideVersion({
      ...scope,
      modelId: input.modelId,
      modelName: input.modelName,
      versionId: version.id,
      report,
      policy: input.policy,
      mlflowRunId,
      ownsMlflowRun,
    });
    if (
      input.policy.mode === 'canary' &&
      input.policy.canary &&
      outcome.state === 'succeeded' &&
      !outcome.aliases.includes('champion')
    ) {
      await step('starting_rollout');
      const rollout = await io.planCanary({
        ...scope,
        versionId: version.id,
        endpoint: input.policy.canary.endpoint,
        steps: input.policy.canary.steps,
        analysisIntervalSeconds: input.policy.canary.analysisIntervalSeconds,
        thresholds: input.policy.canary.thresholds,
      });
      // The rollout outlives the pipeline: it bakes for as long as its steps say.
      await startChild(canaryRollout, {
        workflowId: rollout.workflowId,
        args: [rollout],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      outcome.rolloutId = rollout.rolloutId;
    }
    await step('done');
    return outcome;
  } catch (err) {
    // Record the failure even when the workflow itself is being cancelled.
    const reason = failureMessage(err);
    await CancellationScope.nonCancellable(() =>
      io.failTraining({
        ...scope,
        versionId: status.versionId,
        mlflowRunId: status.mlflowRunId,
        ownsMlflowRun,
        reason,
      }),
    );
    throw ApplicationFailure.nonRetryable(reason, 'TrainingFailed');
  }
}

function failureMessage(err: unknown): string {
  // An activity's failure arrives wrapped in an ActivityFailure; the activity's own message is the useful one.
  let current: unknown = err;
  while (current instanceof ActivityFailure && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
