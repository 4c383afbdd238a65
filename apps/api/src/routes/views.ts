import type { ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import { evaluationReport } from '@shepherd/contracts/training';
import type { Model, ModelVersion, TrainingRun } from '@shepherd/db/schema';

export function modelView(model: Model, aliases: Record<string, number>): ModelView {
  return {
    id: model.id,
    name: model.name,
    task: model.task,
    description: model.description,
    aliases,
    createdAt: model.createdAt.toISOString(),
  };
}

export function versionView(model: Model, version: ModelVersion, aliases: string[]): VersionView {
  const evaluation = evaluationReport.safeParse(version.evaluation);
  return {
    id: version.id,
    model: model.name,
    version: version.version,
    state: version.state,
    aliases,
    artifactUri: version.artifactUri,
    artifactSha256: version.artifactSha256,
    format: version.format,
    mlflowRunId: version.mlflowRunId,
    trainingSetId: version.trainingSetId,
    metrics: version.metrics,
    evaluation: evaluation.success ? evaluation.data : null,
    failureReason: version.failureReason,
    tags: version.tags,
    description: version.description,
    createdAt: version.createdAt.toISOString(),
    updatedAt: version.updatedAt.toISOString(),
  };
}

export function trainingRunView(
  model: Model,
  run: TrainingRun,
  version: ModelVersion | undefined,
  rolloutId: string | null,
): TrainingRunView {
  return {
    id: run.id,
    model: model.name,
    requestId: run.requestId,
    workflowId: run.workflowId,
    state: run.state,
    step: run.step,
    trainingSetId: run.trainingSetId,
    mlflowRunId: run.mlflowRunId,
    version: version?.version ?? null,
    versionId: run.versionId,
    failureReason: run.failureReason,
    rolloutId,
    createdAt: run.createdAt.toISOString(),
    updatedAt: run.updatedAt.toISOString(),
  };
}
