import type { MlflowClient } from '@shepherd/mlflow/client';
import { runArtifactSource } from '@shepherd/mlflow/client';

export const experimentName = (modelName: string) => `shepherd/${modelName}`;

/**
 * One MLflow run per pipeline, found again by its workflow-id tag, so a retried activity or a
 * restarted worker logs into the run it created the first time.
 */
export async function findOrCreateRun(
  mlflow: MlflowClient,
  input: { modelName: string; workflowId: string; projectId: string; trainingSetId: string },
): Promise<string> {
  const experiment = await mlflow.getOrCreateExperiment(experimentName(input.modelName));
  const { runs } = await mlflow.searchRuns([experiment.experiment_id], {
    filter: `tags.\`shepherd.workflow_id\` = '${input.workflowId}'`,
    maxResults: 1,
  });
  const existing = runs[0];
  if (existing) return existing.info.run_id;
  const run = await mlflow.createRun(experiment.experiment_id, {
    runName: input.workflowId,
    tags: {
      'shepherd.workflow_id': input.workflowId,
      'shepherd.project_id': input.projectId,
      'shepherd.training_set_id': input.trainingSetId,
    },
  });
  return run.info.run_id;
}

/** Mirrors a Shepherd version into MLflow's registry (once per run) and returns MLflow's version number. */
export async function mirrorVersion(
  mlflow: MlflowClient,
  input: { modelName: string; runId: string; shepherdVersionId: string; description?: string | undefined },
): Promise<string> {
  await mlflow.ensureRegisteredModel(input.modelName);
  const { modelVersions } = await mlflow.searchModelVersions({
    filter: `name = '${input.modelName}' and run_id = '${input.runId}'`,
    maxResults: 10,
  });
  const existing = modelVersions[0];
  if (existing) return existing.version;
  const created = await mlflow.createModelVersion({
    name: input.modelName,
    source: runArtifactSource(input.runId, 'model'),
    runId: input.runId,
    tags: { 'shepherd.version_id': input.shepherdVersionId },
    ...(input.description ? { description: input.description } : {}),
  });
  return created.version;
}

/** Makes MLflow's aliases match Shepherd's for this model: Shepherd is the source of truth. */
export async function mirrorAliases(
  mlflow: MlflowClient,
  modelName: string,
  aliases: Record<string, string | undefined>,
): Promise<void> {
  for (const [alias, mlflowVersion] of Object.entries(aliases)) {
    if (mlflowVersion === undefined) await mlflow.deleteAlias(modelName, alias);
    else await mlflow.setAlias(modelName, alias, mlflowVersion);
  }
}
