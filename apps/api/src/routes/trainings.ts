import { z } from 'zod';
import { modelName, slug, trainingRunView as trainingRunViewSchema } from '@shepherd/contracts/registry';
import {
  canaryRequestId,
  importRunBody,
  startTrainingBody,
  trainingWorkflowId,
  type ModelSource,
  type TrainingPipelineInput,
} from '@shepherd/contracts/training';
import type { Model } from '@shepherd/db/schema';
import type { RegistryContext } from '@shepherd/registry/context';
import { getModel, getModelById } from '@shepherd/registry/models';
import { findRolloutByRequest } from '@shepherd/registry/rollouts';
import { createTrainingRun, getTrainingRun, listTrainingRuns } from '@shepherd/registry/training';
import { getVersionById } from '@shepherd/registry/versions';
import type { TrainingRun } from '@shepherd/db/schema';
import { route, type RouteSpec } from '../route.ts';
import { projectContext, startOnce, type RouteDeps } from './context.ts';
import { trainingRunView } from './views.ts';

const projectParams = z.object({ project: slug });
const modelParams = projectParams.extend({ model: modelName });

type EvaluationFields = Omit<
  TrainingPipelineInput,
  'projectId' | 'modelId' | 'modelName' | 'modelTask' | 'workflowId' | 'actor' | 'source'
>;

export function trainingRoutes(deps: RouteDeps): RouteSpec[] {
  const view = async (ctx: RegistryContext, model: Model, run: TrainingRun) =>
    trainingRunView(
      model,
      run,
      run.versionId ? await getVersionById(ctx, run.versionId) : undefined,
      (await findRolloutByRequest(ctx, canaryRequestId(run.workflowId)))?.id ?? null,
    );

  /**
   * Records the run, then starts its workflow under an id derived from the request id: a retried
   * request finds the same run and the same workflow, and nothing trains twice.
   */
  async function start(
    ctx: RegistryContext,
    projectSlug: string,
    model: Model,
    source: ModelSource,
    fields: EvaluationFields,
  ) {
    const workflowId = trainingWorkflowId(projectSlug, fields.requestId);
    const input: TrainingPipelineInput = {
      projectId: ctx.projectId,
      modelId: model.id,
      modelName: model.name,
      modelTask: model.task === 'regression' ? 'regression' : 'binary_classification',
      workflowId,
      actor: ctx.actor,
      source,
      ...fields,
    };
    const { run } = await createTrainingRun(ctx, {
      modelId: model.id,
      requestId: fields.requestId,
      workflowId,
      spec: { source, ...fields },
    });
    // A pipeline that already ended is not started again: its run row tells how it ended.
    await startOnce(deps.temporal, 'trainingPipeline', {
      taskQueue: deps.trainingTaskQueue,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return view(ctx, model, await getTrainingRun(ctx, run.id));
  }

  return [
    route({
      method: 'POST',
      url: '/v1/projects/:project/models/:model/trainings',
      operationId: 'startTraining',
      permission: 'write',
      summary: 'Train a new version with a registered trainer, evaluate it against the champion and gate it',
      tag: 'training',
      params: modelParams,
      body: startTrainingBody,
      response: trainingRunViewSchema,
      status: 202,
      errors: ['conflict'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const { trainer, ...fields } = body;
        return start(ctx, params.project, model, { kind: 'trainer', trainer }, fields);
      },
    }),
    route({
      method: 'POST',
      url: '/v1/projects/:project/models/:model/imports',
      operationId: 'importRun',
      permission: 'write',
      summary:
        'Bring your own run: register the ONNX model of an MLflow run, evaluated and gated like any other',
      tag: 'training',
      params: modelParams,
      body: importRunBody,
      response: trainingRunViewSchema,
      status: 202,
      errors: ['conflict'],
      handler: async ({ params, body, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const { mlflowRunId, artifactPath, ...fields } = body;
        return start(
          ctx,
          params.project,
          model,
          { kind: 'mlflow_run', runId: mlflowRunId, artifactPath },
          fields,
        );
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/models/:model/trainings',
      operationId: 'listTrainings',
      permission: 'read',
      summary: 'Training and import runs of a model, newest first',
      tag: 'training',
      params: modelParams,
      response: z.object({ trainings: z.array(trainingRunViewSchema) }),
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const model = await getModel(ctx, params.model);
        const runs = await listTrainingRuns(ctx, model.id);
        return { trainings: await Promise.all(runs.map((run) => view(ctx, model, run))) };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/projects/:project/trainings/:training',
      operationId: 'getTraining',
      permission: 'read',
      summary: 'One training run: step, outcome, version, failure reason',
      tag: 'training',
      params: projectParams.extend({ training: z.uuid() }),
      response: trainingRunViewSchema,
      handler: async ({ params, principal, request }) => {
        const { ctx } = projectContext(deps, principal, request);
        const run = await getTrainingRun(ctx, params.training);
        return view(ctx, await getModelById(ctx, run.modelId), run);
      },
    }),
  ];
}
