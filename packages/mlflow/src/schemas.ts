import { z } from 'zod';

/*
 * Response shapes of MLflow's REST API, kept in its snake_case wire format so they read like the
 * MLflow docs. Unknown fields are stripped rather than rejected: the server adds fields between
 * releases, and a new field must not break a deployed Shepherd. Lists default to [] because the
 * server omits empty repeated fields entirely.
 */

/** MLflow sends int64 as JSON numbers, but protobuf JSON also allows decimal strings. */
const int64 = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^-?\d+$/)
    .transform(Number),
]);

/** NaN and ±Infinity cannot be JSON numbers, so MLflow sends them as strings. */
const double = z.union([
  z.number(),
  z.enum(['NaN', 'Infinity', '-Infinity']).transform((value) => Number(value)),
]);

/** Model versions are strings on the wire ("1"); a numeric one is normalised rather than refused. */
const versionString = z.union([z.string(), z.number().int()]).transform(String);

/** An empty token means "last page" as much as a missing one does. */
const pageToken = z
  .string()
  .optional()
  .transform((token) => (token === '' ? undefined : token));

export const lifecycleStageSchema = z.enum(['active', 'deleted']);
export type LifecycleStage = z.output<typeof lifecycleStageSchema>;

export const tagSchema = z.object({ key: z.string(), value: z.string() });
export type Tag = z.output<typeof tagSchema>;

export const paramSchema = z.object({ key: z.string(), value: z.string() });
export type Param = z.output<typeof paramSchema>;

export const metricSchema = z.object({
  key: z.string(),
  value: double,
  timestamp: int64,
  step: int64.default(0),
});
export type Metric = z.output<typeof metricSchema>;

export const experimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().optional(),
  lifecycle_stage: lifecycleStageSchema,
  creation_time: int64.optional(),
  last_update_time: int64.optional(),
  tags: z.array(tagSchema).default([]),
});
export type Experiment = z.output<typeof experimentSchema>;

export const runStatusSchema = z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);
export type RunStatus = z.output<typeof runStatusSchema>;

export const runInfoSchema = z.object({
  run_id: z.string(),
  run_name: z.string().optional(),
  experiment_id: z.string(),
  user_id: z.string().optional(),
  status: runStatusSchema,
  start_time: int64.optional(),
  end_time: int64.optional(),
  /** Where the run's artifacts live; model version sources point inside it. */
  artifact_uri: z.string(),
  lifecycle_stage: lifecycleStageSchema,
});
export type RunInfo = z.output<typeof runInfoSchema>;

export const runDataSchema = z.object({
  metrics: z.array(metricSchema).default([]),
  params: z.array(paramSchema).default([]),
  tags: z.array(tagSchema).default([]),
});
export type RunData = z.output<typeof runDataSchema>;

export const runSchema = z.object({
  info: runInfoSchema,
  // A run with nothing logged comes back without `data` at all.
  data: runDataSchema.prefault({}),
  // Dataset and logged-model links; Shepherd keeps its own lineage, so these stay untyped.
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
});
export type Run = z.output<typeof runSchema>;

export const modelVersionStatusSchema = z.enum(['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY']);
export type ModelVersionStatus = z.output<typeof modelVersionStatusSchema>;

export const modelVersionSchema = z.object({
  name: z.string(),
  version: versionString,
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  user_id: z.string().optional(),
  /** Deprecated stages; always "None" once aliases are used, kept only because the server sends it. */
  current_stage: z.string().optional(),
  description: z.string().optional(),
  source: z.string(),
  run_id: z.string().optional(),
  run_link: z.string().optional(),
  status: modelVersionStatusSchema.optional(),
  status_message: z.string().optional(),
  model_id: z.string().optional(),
  tags: z.array(tagSchema).default([]),
  /** Filled by get and get-by-alias; search results leave it out even when aliases exist. */
  aliases: z.array(z.string()).default([]),
});
export type ModelVersion = z.output<typeof modelVersionSchema>;

export const registeredModelAliasSchema = z.object({ alias: z.string(), version: versionString });
export type RegisteredModelAlias = z.output<typeof registeredModelAliasSchema>;

export const registeredModelSchema = z.object({
  name: z.string(),
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  user_id: z.string().optional(),
  description: z.string().optional(),
  latest_versions: z.array(modelVersionSchema).default([]),
  tags: z.array(tagSchema).default([]),
  aliases: z.array(registeredModelAliasSchema).default([]),
});
export type RegisteredModel = z.output<typeof registeredModelSchema>;

// Response envelopes, one per endpoint shape.

export const emptyResponse = z.object({});
export const createExperimentResponse = z.object({ experiment_id: z.string() });
export const experimentResponse = z.object({ experiment: experimentSchema });
export const searchExperimentsResponse = z.object({
  experiments: z.array(experimentSchema).default([]),
  next_page_token: pageToken,
});
export const runResponse = z.object({ run: runSchema });
export const updateRunResponse = z.object({ run_info: runInfoSchema });
export const searchRunsResponse = z.object({
  runs: z.array(runSchema).default([]),
  next_page_token: pageToken,
});
export const registeredModelResponse = z.object({ registered_model: registeredModelSchema });
export const searchRegisteredModelsResponse = z.object({
  registered_models: z.array(registeredModelSchema).default([]),
  next_page_token: pageToken,
});
export const modelVersionResponse = z.object({ model_version: modelVersionSchema });
export const searchModelVersionsResponse = z.object({
  model_versions: z.array(modelVersionSchema).default([]),
  next_page_token: pageToken,
});
