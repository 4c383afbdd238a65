import type { ModelTask } from '@shepherd/contracts/trainer';
import { ShepherdError } from '@shepherd/core/errors';
import { loadModel } from '@shepherd/evaluation/model';
import { updateTrainingRun } from '@shepherd/registry/training';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';
import type { TrainedArtifact } from './train.ts';

export function importActivities(deps: ActivityDeps) {
  return {
    /** Copies an ONNX model out of an MLflow run into the artifact store, checking it is a usable model. */
    importMlflowModel: (
      input: Scope & {
        modelName: string;
        modelTask: ModelTask;
        runId: string;
        artifactPath: string;
        featureNames: string[];
      },
    ) =>
      guarded(async (): Promise<TrainedArtifact> => {
        if (!deps.mlflow)
          throw new ShepherdError(
            'unprocessable',
            'MLflow is not configured on this worker (MLFLOW_TRACKING_URI)',
          );
        const run = await deps.mlflow.getRun(input.runId);
        const bytes = await deps.mlflow
          .downloadRunArtifact(input.runId, input.artifactPath)
          .catch((err: unknown) => {
            throw new ShepherdError(
              'unprocessable',
              `MLflow run ${input.runId} has no artifact '${input.artifactPath}' (${err instanceof Error ? err.message : String(err)})`,
            );
          });
        const model = await loadModel(bytes, { task: input.modelTask });
        try {
          if (model.nFeatures !== undefined && model.nFeatures !== input.featureNames.length) {
            throw new ShepherdError(
              'unprocessable',
              `the run's model expects ${model.nFeatures} features; the evaluation data has ${input.featureNames.length}`,
            );
          }
        } finally {
          await model.close();
        }
        await updateTrainingRun(registryContext(deps, input), input.workflowId, { mlflowRunId: input.runId });
        const stored = await deps.artifacts.put(
          `models/${input.modelName}/${input.workflowId}/model.onnx`,
          bytes,
        );
        const trainingMetrics = Object.fromEntries(
          run.data.metrics.map((metric) => [metric.key, metric.value]),
        );
        return { uri: stored.uri, sha256: stored.sha256, featureNames: input.featureNames, trainingMetrics };
      }),
  };
}
