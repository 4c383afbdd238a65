import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient, runArtifactSource } from '../src/client.ts';
import { MlflowError, isMlflowError } from '../src/errors.ts';
import type { Experiment, ModelVersion, Run } from '../src/schemas.ts';

// Against a real MLflow server (infra/local starts one); nothing here is faked.
const trackingUri = process.env.MLFLOW_TRACKING_URI ?? 'http://127.0.0.1:5500';
// Names are unique per run so reruns against the same server never collide.
const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
const experimentName = `shepherd-int-${suffix}`;
const modelName = `shepherd-int-model-${suffix}`;

const client = new MlflowClient({ trackingUri, timeoutMs: 15_000 });

describe(`MLflow REST client against ${trackingUri}`, () => {
  let experiment: Experiment;
  let run: Run;
  let version: ModelVersion;

  beforeAll(async () => {
    // Concurrent callers must all land on the same experiment: this is the race the helper exists for.
    const experiments = await Promise.all([1, 2, 3].map(() => client.getOrCreateExperiment(experimentName)));
    experiment = experiments[0]!;
    expect(new Set(experiments.map((found) => found.experiment_id)).size).toBe(1);
  });

  afterAll(async () => {
    // Deleting the model removes its versions and aliases; the experiment stays (names are unique).
    await client.deleteRegisteredModel(modelName).catch((err: unknown) => {
      if (!isMlflowError(err, 'RESOURCE_DOES_NOT_EXIST')) throw err;
    });
  });

  it('finds the experiment by name, by id and by search', async () => {
    expect(experiment.name).toBe(experimentName);
    expect(experiment.lifecycle_stage).toBe('active');
    expect((await client.getOrCreateExperiment(experimentName)).experiment_id).toBe(experiment.experiment_id);
    expect((await client.getExperiment(experiment.experiment_id)).name).toBe(experimentName);
    expect((await client.getExperimentByName(experimentName)).experiment_id).toBe(experiment.experiment_id);
    const { experiments } = await client.searchExperiments({ filter: `name = '${experimentName}'` });
    expect(experiments.map((found) => found.experiment_id)).toEqual([experiment.experiment_id]);
    await expect(client.findExperimentByName(`${experimentName}-missing`)).resolves.toBeUndefined();
  });

  it('refuses a second experiment with the same name as RESOURCE_ALREADY_EXISTS', async () => {
    const err = await client.createExperiment(experimentName).catch((caught: unknown) => caught);
    expect(err).toBeInstanceOf(MlflowError);
    expect((err as MlflowError).errorCode).toBe('RESOURCE_ALREADY_EXISTS');
    expect((err as MlflowError).code).toBe('conflict');
  });

  it('creates a run and logs params, metrics, a batch and tags', async () => {
    run = await client.createRun(experiment.experiment_id, {
      runName: 'train',
      tags: { pipeline: 'shepherd' },
    });
    const runId = run.info.run_id;
    expect(run.info.status).toBe('RUNNING');
    expect(run.info.artifact_uri).toContain(runId);

    await client.logParam(runId, 'learning_rate', 0.01);
    await client.logMetric(runId, 'accuracy', 0.91, { step: 1 });
    await client.logMetric(runId, 'diverged', Number.NaN);
    await client.logBatch(runId, {
      params: { batch_size: '32' },
      metrics: [
        { key: 'loss', value: 0.4, step: 1 },
        { key: 'loss', value: 0.3, step: 2 },
      ],
      tags: { stage: 'training' },
    });
    await client.setTag(runId, 'shepherd.model_version', 'pending');

    const fetched = await client.getRun(runId);
    const params = Object.fromEntries(fetched.data.params.map((param) => [param.key, param.value]));
    expect(params).toEqual({ learning_rate: '0.01', batch_size: '32' });
    const metrics = Object.fromEntries(fetched.data.metrics.map((metric) => [metric.key, metric]));
    expect(metrics.accuracy).toMatchObject({ value: 0.91, step: 1 });
    expect(metrics.loss).toMatchObject({ value: 0.3, step: 2 }); // the run keeps the latest step
    expect(metrics.diverged?.value).toBeNaN();
    const tags = Object.fromEntries(fetched.data.tags.map((tag) => [tag.key, tag.value]));
    expect(tags).toMatchObject({
      pipeline: 'shepherd',
      stage: 'training',
      'shepherd.model_version': 'pending',
    });
    expect(await client.getArtifactUri(runId)).toBe(run.info.artifact_uri);
  });

  it('refuses to change a logged param as INVALID_PARAMETER_VALUE', async () => {
    const err = await client
      .logParam(run.info.run_id, 'learning_rate', 0.02)
      .catch((caught: unknown) => caught);
    expect(isMlflowError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
  });

  it('terminates the run and finds it by search', async () => {
    const info = await client.terminateRun(run.info.run_id);
    expect(info.status).toBe('FINISHED');
    expect(info.end_time).toBeGreaterThan(0);

    const { runs } = await client.searchRuns([experiment.experiment_id], {
      filter: "params.learning_rate = '0.01' and attributes.status = 'FINISHED'",
    });
    expect(runs.map((found) => found.info.run_id)).toEqual([run.info.run_id]);
  });

  it('registers a model idempotently, tags it and updates its description', async () => {
    const models = await Promise.all(
      [1, 2, 3].map(() => client.ensureRegisteredModel(modelName, { description: 'first' })),
    );
    expect(models.every((model) => model.name === modelName)).toBe(true);

    await client.setRegisteredModelTag(modelName, 'owner', 'shepherd');
    const updated = await client.updateRegisteredModelDescription(modelName, 'churn classifier');
    expect(updated.description).toBe('churn classifier');

    const fetched = await client.getRegisteredModel(modelName);
    expect(fetched.tags).toContainEqual({ key: 'owner', value: 'shepherd' });
    const { registeredModels } = await client.searchRegisteredModels({ filter: `name = '${modelName}'` });
    expect(registeredModels.map((model) => model.name)).toEqual([modelName]);
  });

  it('creates a model version from a run artifact and finds it', async () => {
    version = await client.createModelVersion({
      name: modelName,
      source: runArtifactSource(run.info.run_id, 'model'),
      runId: run.info.run_id,
      description: 'candidate',
      tags: { format: 'onnx' },
    });
    expect(version.version).toBe('1');
    expect(version.run_id).toBe(run.info.run_id);
    expect(version.status).toBe('READY');

    const fetched = await client.getModelVersion(modelName, version.version);
    expect(fetched.tags).toEqual([{ key: 'format', value: 'onnx' }]);
    const { modelVersions } = await client.searchModelVersions({ filter: `run_id = '${run.info.run_id}'` });
    expect(modelVersions.map((found) => [found.name, found.version])).toEqual([[modelName, '1']]);
    const described = await client.updateModelVersionDescription(modelName, 1, 'validated candidate');
    expect(described.description).toBe('validated candidate');
  });

  it('sets, resolves and deletes an alias', async () => {
    await client.setAlias(modelName, 'champion', version.version);

    const resolved = await client.getModelVersionByAlias(modelName, 'champion');
    expect(resolved.version).toBe(version.version);
    expect(resolved.aliases).toContain('champion');
    expect((await client.getRegisteredModel(modelName)).aliases).toEqual([
      { alias: 'champion', version: '1' },
    ]);

    await client.deleteAlias(modelName, 'champion');
    await client.deleteAlias(modelName, 'champion'); // deleting a missing alias is not an error

    await expect(client.findModelVersionByAlias(modelName, 'champion')).resolves.toBeUndefined();
    const err = await client.getModelVersionByAlias(modelName, 'champion').catch((caught: unknown) => caught);
    // MLflow reports a missing alias as a bad parameter, not as a missing resource.
    expect(isMlflowError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect((err as MlflowError).httpStatus).toBe(400);
  });

  it('reports missing resources as RESOURCE_DOES_NOT_EXIST', async () => {
    const err = await client.getModelVersion(modelName, 99).catch((caught: unknown) => caught);
    expect(isMlflowError(err, 'RESOURCE_DOES_NOT_EXIST')).toBe(true);
    expect((err as MlflowError).httpStatus).toBe(404);
    await expect(client.findRegisteredModel(`${modelName}-missing`)).resolves.toBeUndefined();
  });

  it('deletes the registered model', async () => {
    await client.deleteRegisteredModel(modelName);
    await expect(client.findRegisteredModel(modelName)).resolves.toBeUndefined();
  });
});
