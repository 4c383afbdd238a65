import { ShepherdError } from '@shepherd/core/errors';
import { isMlflowError } from './errors.ts';
import { MlflowHttp, type MlflowHttpOptions } from './http.ts';
import {
  createExperimentResponse,
  emptyResponse,
  experimentResponse,
  modelVersionResponse,
  registeredModelResponse,
  runResponse,
  searchExperimentsResponse,
  searchModelVersionsResponse,
  searchRegisteredModelsResponse,
  searchRunsResponse,
  updateRunResponse,
  type Experiment,
  type ModelVersion,
  type RegisteredModel,
  type Run,
  type RunInfo,
  type RunStatus,
} from './schemas.ts';

export type MlflowClientOptions = MlflowHttpOptions;

/** Tags and params go in as records; MLflow's wire format is a list of {key, value}. */
export type Tags = Readonly<Record<string, string>>;

export type ViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface MetricInput {
  key: string;
  value: number;
  /** Epoch milliseconds; defaults to now because the server refuses a metric without one. */
  timestamp?: number;
  step?: number;
}

export interface Page {
  maxResults?: number;
  pageToken?: string;
}

// The server's own per-request caps on log-batch; a larger batch is split instead of refused.
const MAX_METRICS_PER_BATCH = 1000;
const MAX_PARAMS_PER_BATCH = 100;
const MAX_TAGS_PER_BATCH = 100;
const MAX_ENTITIES_PER_BATCH = 1000;

/**
 * experiments/search has no server-side default over REST: leaving max_results out is read as 0
 * and refused. 1000 is the server's own ceiling for that endpoint.
 */
const DEFAULT_EXPERIMENT_PAGE = 1000;

/** A model version source that MLflow resolves against the run's artifact root. */
export function runArtifactSource(runId: string, artifactPath: string): string {
  return `runs:/${runId}/${artifactPath.replace(/^\/+/, '')}`;
}

/** Typed access to an MLflow tracking server and model registry over its REST API. */
export class MlflowClient {
  private readonly http: MlflowHttp;

  constructor(options: MlflowClientOptions) {
    this.http = new MlflowHttp(options);
  }

  get trackingUri(): string {
    return this.http.trackingUri;
  }

  // ---- experiments

  /** Returns the new experiment's id. */
  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Tags } = {},
  ): Promise<string> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'experiments/create',
      body: { name, artifact_location: options.artifactLocation, tags: toKeyValues(options.tags) },
      response: createExperimentResponse,
    });
    return body.experiment_id;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'experiments/get',
      query: { experiment_id: experimentId },
      response: experimentResponse,
    });
    return body.experiment;
  }

  /** Deleted experiments are returned too (their name stays taken until permanently deleted). */
  async getExperimentByName(name: string): Promise<Experiment> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'experiments/get-by-name',
      query: { experiment_name: name },
      response: experimentResponse,
    });
    return body.experiment;
  }

  async findExperimentByName(name: string): Promise<Experiment | undefined> {
    return orUndefinedIfMissing(() => this.getExperimentByName(name));
  }

  async searchExperiments(
    options: Page & { filter?: string; orderBy?: string[]; viewType?: ViewType } = {},
  ): Promise<{ experiments: Experiment[]; nextPageToken: string | undefined }> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'experiments/search',
      body: {
        max_results: options.maxResults ?? DEFAULT_EXPERIMENT_PAGE,
        page_token: options.pageToken,
        filter: options.filter,
        order_by: options.orderBy,
        view_type: options.viewType,
      },
      response: searchExperimentsResponse,
    });
    return { experiments: body.experiments, nextPageToken: body.next_page_token };
  }

  /**
   * Safe to call from many workers at once: whoever loses the create race reads the winner's
   * experiment. A deleted experiment with the name is an error, not a silent restore, because
   * someone deleted it on purpose.
   */
  async getOrCreateExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: Tags } = {},
  ): Promise<Experiment> {
    const experiment = await getOrCreate(
      () => this.getExperimentByName(name),
      async () => this.getExperiment(await this.createExperiment(name, options)),
    );
    if (experiment.lifecycle_stage === 'deleted') {
      throw new ShepherdError(
        'conflict',
        `MLflow experiment "${name}" (id ${experiment.experiment_id}) is deleted; restore it or delete it permanently before reusing the name`,
      );
    }
    return experiment;
  }

  // ---- runs

  async createRun(
    experimentId: string,
    options: { runName?: string; startTime?: number; tags?: Tags; userId?: string } = {},
  ): Promise<Run> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'runs/create',
      body: {
        experiment_id: experimentId,
        run_name: options.runName,
        user_id: options.userId,
        start_time: options.startTime ?? Date.now(),
        tags: toKeyValues(options.tags),
      },
      response: runResponse,
    });
    return body.run;
  }

  async getRun(runId: string): Promise<Run> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'runs/get',
      query: { run_id: runId },
      response: runResponse,
    });
    return body.run;
  }

  async updateRun(
    runId: string,
    changes: { status?: RunStatus; endTime?: number; runName?: string },
  ): Promise<RunInfo> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'runs/update',
      body: { run_id: runId, status: changes.status, end_time: changes.endTime, run_name: changes.runName },
      response: updateRunResponse,
    });
    return body.run_info;
  }

  async terminateRun(
    runId: string,
    status: Extract<RunStatus, 'FINISHED' | 'FAILED' | 'KILLED'> = 'FINISHED',
    endTime: number = Date.now(),
  ): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime });
  }

  async searchRuns(
    experimentIds: readonly string[],
    options: Page & { filter?: string; orderBy?: string[]; runViewType?: ViewType } = {},
  ): Promise<{ runs: Run[]; nextPageToken: string | undefined }> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'runs/search',
      body: {
        experiment_ids: experimentIds,
        filter: options.filter,
        run_view_type: options.runViewType,
        max_results: options.maxResults,
        order_by: options.orderBy,
        page_token: options.pageToken,
      },
      response: searchRunsResponse,
    });
    return { runs: body.runs, nextPageToken: body.next_page_token };
  }

  /** Params are write-once: logging a different value for an existing key is INVALID_PARAMETER_VALUE. */
  async logParam(runId: string, key: string, value: string | number | boolean): Promise<void> {
    await this.http.call({
      method: 'POST',
      endpoint: 'runs/log-parameter',
      body: { run_id: runId, key, value: String(value) },
      response: emptyResponse,
    });
  }

  async logMetric(
    runId: string,
    key: string,
    value: number,
    options: { timestamp?: number; step?: number } = {},
  ): Promise<void> {
    await this.http.call({
      method: 'POST',
      endpoint: 'runs/log-metric',
      body: { run_id: runId, ...toMetric({ key, value, ...options }) },
      response: emptyResponse,
    });
  }

  /** Splits into several requests past the server's per-request caps, so it is not atomic then. */
  async logBatch(
    runId: string,
    batch: { metrics?: readonly MetricInput[]; params?: Tags; tags?: Tags },
  ): Promise<void> {
    const metrics = (batch.metrics ?? []).map(toMetric);
    const params = toKeyValues(batch.params) ?? [];
    const tags = toKeyValues(batch.tags) ?? [];
    const fitsOneRequest =
      metrics.length <= MAX_METRICS_PER_BATCH &&
      params.length <= MAX_PARAMS_PER_BATCH &&
      tags.length <= MAX_TAGS_PER_BATCH &&
      metrics.length + params.length + tags.length <= MAX_ENTITIES_PER_BATCH;
    const requests = fitsOneRequest
      ? [{ metrics, params, tags }]
      : [
          ...chunk(params, MAX_PARAMS_PER_BATCH).map((part) => ({ params: part })),
          ...chunk(tags, MAX_TAGS_PER_BATCH).map((part) => ({ tags: part })),
          ...chunk(metrics, MAX_METRICS_PER_BATCH).map((part) => ({ metrics: part })),
        ];
    for (const request of requests) {
      await this.http.call({
        method: 'POST',
        endpoint: 'runs/log-batch',
        body: { run_id: runId, ...request },
        response: emptyResponse,
      });
    }
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.http.call({
      method: 'POST',
      endpoint: 'runs/set-tag',
      body: { run_id: runId, key, value },
      response: emptyResponse,
    });
  }

  /** The run's artifact root (a local path, s3://…, or mlflow-artifacts:/… when the server proxies). */
  /** Downloads one artifact file of a run through the tracking server's artifact proxy. */
  async downloadRunArtifact(runId: string, path: string): Promise<Buffer> {
    return this.http.download('get-artifact', { path, run_uuid: runId });
  }

  async getArtifactUri(runId: string): Promise<string> {
    return (await this.getRun(runId)).info.artifact_uri;
  }

  // ---- registered models

  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: Tags } = {},
  ): Promise<RegisteredModel> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'registered-models/create',
      body: { name, description: options.description, tags: toKeyValues(options.tags) },
      response: registeredModelResponse,
    });
    return body.registered_model;
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'registered-models/get',
      query: { name },
      response: registeredModelResponse,
    });
    return body.registered_model;
  }

  async findRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    return orUndefinedIfMissing(() => this.getRegisteredModel(name));
  }

  /** Deletes every version and alias with it. */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.http.call({
      method: 'DELETE',
      endpoint: 'registered-models/delete',
      body: { name },
      response: emptyResponse,
    });
  }

  async searchRegisteredModels(
    options: Page & { filter?: string; orderBy?: string[] } = {},
  ): Promise<{ registeredModels: RegisteredModel[]; nextPageToken: string | undefined }> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'registered-models/search',
      query: {
        filter: options.filter,
        max_results: options.maxResults,
        order_by: options.orderBy,
        page_token: options.pageToken,
      },
      response: searchRegisteredModelsResponse,
    });
    return { registeredModels: body.registered_models, nextPageToken: body.next_page_token };
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.http.call({
      method: 'POST',
      endpoint: 'registered-models/set-tag',
      body: { name, key, value },
      response: emptyResponse,
    });
  }

  async updateRegisteredModelDescription(name: string, description: string): Promise<RegisteredModel> {
    const body = await this.http.call({
      method: 'PATCH',
      endpoint: 'registered-models/update',
      body: { name, description },
      response: registeredModelResponse,
    });
    return body.registered_model;
  }

  /**
   * Safe under concurrent callers. An existing model is returned as it is: description and tags
   * given here only apply when this call is the one that creates it.
   */
  async ensureRegisteredModel(
    name: string,
    options: { description?: string; tags?: Tags } = {},
  ): Promise<RegisteredModel> {
    return getOrCreate(
      () => this.getRegisteredModel(name),
      () => this.createRegisteredModel(name, options),
    );
  }

  // ---- model versions

  /**
   * `source` must be inside the run's artifact root (a `runs:/<runId>/…` URI, see runArtifactSource,
   * or a path under `artifact_uri`), otherwise the server refuses it with INVALID_PARAMETER_VALUE.
   */
  async createModelVersion(input: {
    name: string;
    source: string;
    runId?: string;
    description?: string;
    tags?: Tags;
    runLink?: string;
  }): Promise<ModelVersion> {
    const body = await this.http.call({
      method: 'POST',
      endpoint: 'model-versions/create',
      body: {
        name: input.name,
        source: input.source,
        run_id: input.runId,
        description: input.description,
        tags: toKeyValues(input.tags),
        run_link: input.runLink,
      },
      response: modelVersionResponse,
    });
    return body.model_version;
  }

  async getModelVersion(name: string, version: string | number): Promise<ModelVersion> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'model-versions/get',
      query: { name, version: String(version) },
      response: modelVersionResponse,
    });
    return body.model_version;
  }

  /** Results carry no `aliases`; read them from getRegisteredModel or getModelVersion. */
  async searchModelVersions(
    options: Page & { filter?: string; orderBy?: string[] } = {},
  ): Promise<{ modelVersions: ModelVersion[]; nextPageToken: string | undefined }> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'model-versions/search',
      query: {
        filter: options.filter,
        max_results: options.maxResults,
        order_by: options.orderBy,
        page_token: options.pageToken,
      },
      response: searchModelVersionsResponse,
    });
    return { modelVersions: body.model_versions, nextPageToken: body.next_page_token };
  }

  async updateModelVersionDescription(
    name: string,
    version: string | number,
    description: string,
  ): Promise<ModelVersion> {
    const body = await this.http.call({
      method: 'PATCH',
      endpoint: 'model-versions/update',
      body: { name, version: String(version), description },
      response: modelVersionResponse,
    });
    return body.model_version;
  }

  // ---- aliases

  /** Moves the alias if it already points elsewhere. `latest` and `v<digits>` are reserved names. */
  async setAlias(name: string, alias: string, version: string | number): Promise<void> {
    await this.http.call({
      method: 'POST',
      endpoint: 'registered-models/alias',
      // The server refuses a numeric version here ("Value was of type 'int'").
      body: { name, alias, version: String(version) },
      response: emptyResponse,
    });
  }

  /** Succeeds when the alias does not exist, so it is safe to repeat. */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.http.call({
      method: 'DELETE',
      endpoint: 'registered-models/alias',
      // DELETE reads its arguments from a JSON body; the same names in the query string are ignored.
      body: { name, alias },
      response: emptyResponse,
    });
  }

  /**
   * An unknown alias is INVALID_PARAMETER_VALUE (HTTP 400), not RESOURCE_DOES_NOT_EXIST; use
   * findModelVersionByAlias to treat it as absent.
   */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const body = await this.http.call({
      method: 'GET',
      endpoint: 'registered-models/alias',
      query: { name, alias },
      response: modelVersionResponse,
    });
    return body.model_version;
  }

  /** Undefined when the model exists but has no such alias; a missing model still throws. */
  async findModelVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      return await this.getModelVersionByAlias(name, alias);
    } catch (err) {
      if (!isMlflowError(err, 'INVALID_PARAMETER_VALUE')) throw err;
      // The server gives an unknown alias and a malformed request the same code; only the model's
      // alias list tells them apart without parsing its message text.
      const model = await this.getRegisteredModel(name);
      if (model.aliases.some((entry) => entry.alias === alias)) throw err;
      return undefined;
    }
  }
}

function toKeyValues(record: Tags | undefined): { key: string; value: string }[] | undefined {
  if (record === undefined) return undefined;
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

function toMetric(metric: MetricInput): { key: string; value: number; timestamp: number; step: number } {
  return {
    key: metric.key,
    value: metric.value,
    timestamp: metric.timestamp ?? Date.now(),
    step: metric.step ?? 0,
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) parts.push(items.slice(start, start + size));
  return parts;
}

async function orUndefinedIfMissing<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isMlflowError(err, 'RESOURCE_DOES_NOT_EXIST')) return undefined;
    throw err;
  }
}

/**
 * Read first so the common case (it exists) costs one request and leaves no error in MLflow's log;
 * a RESOURCE_ALREADY_EXISTS on create means another caller won the race, so read theirs.
 */
async function getOrCreate<T>(read: () => Promise<T>, create: () => Promise<T>): Promise<T> {
  const existing = await orUndefinedIfMissing(read);
  if (existing !== undefined) return existing;
  try {
    return await create();
  } catch (err) {
    if (isMlflowError(err, 'RESOURCE_ALREADY_EXISTS')) return read();
    throw err;
  }
}
