import { z } from 'zod';
import { evaluationReport } from './training.ts';

export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lowercase letters, digits and -' });
export const modelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, { message: 'must be lowercase letters, digits, . _ -' });

export const versionStates = [
  'registered',
  'validating',
  'validated',
  'rejected',
  'canary',
  'production',
  'archived',
  'rolled_back',
  'failed',
] as const;

export const createModelBody = z.object({
  name: modelName,
  task: z.enum(['binary_classification', 'regression']).default('binary_classification'),
  description: z.string().max(2000).optional(),
});

export const modelView = z.object({
  id: z.string(),
  name: z.string(),
  task: z.string(),
  description: z.string().nullable(),
  aliases: z.record(z.string(), z.number()),
  createdAt: z.string(),
});

export const versionView = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  state: z.enum(versionStates),
  aliases: z.array(z.string()),
  artifactUri: z.string(),
  artifactSha256: z.string(),
  format: z.string(),
  mlflowRunId: z.string().nullable(),
  trainingSetId: z.string().nullable(),
  metrics: z.record(z.string(), z.number()),
  evaluation: evaluationReport.nullable(),
  failureReason: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  description: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const trainingRunView = z.object({
  id: z.string(),
  model: z.string(),
  requestId: z.string(),
  workflowId: z.string(),
  state: z.enum(['running', 'succeeded', 'rejected', 'failed']),
  step: z.string(),
  trainingSetId: z.string().nullable(),
  mlflowRunId: z.string().nullable(),
  version: z.number().nullable(),
  versionId: z.string().nullable(),
  failureReason: z.string().nullable(),
  /** With the canary policy: the rollout of the new version (the run reads `succeeded` only once it exists). */
  rolloutId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const setAliasBody = z.object({ version: z.number().int().positive() });

/** Tags merge into the version's tags; a tag set to null is removed. Keys under `shepherd.` and `mlflow.` are Shepherd's own. */
export const updateVersionBody = z
  .object({
    description: z.string().max(2000).nullable().optional(),
    tags: z
      .record(
        z.string().regex(/^(?!shepherd\.|mlflow\.)[A-Za-z0-9_.:/-]{1,128}$/, {
          message: 'tag keys are 1-128 of A-Z a-z 0-9 _ . : / - and must not start with shepherd. or mlflow.',
        }),
        z.string().max(1000).nullable(),
      )
      .optional(),
  })
  .refine((body) => body.description !== undefined || body.tags !== undefined, {
    message: 'give description or tags',
  });
export const rejectBody = z.object({ reason: z.string().min(1).max(2000) });

export const metricComparison = z.object({
  metric: z.string(),
  base: z.number().nullable(),
  candidate: z.number().nullable(),
  absoluteChange: z.number().nullable(),
  relativeChange: z.number().nullable(),
});

export const compareView = z.object({
  model: z.string(),
  base: z.number(),
  candidate: z.number(),
  metrics: z.array(metricComparison),
});

export const lineageNodeKinds = [
  'topic_range',
  'feature_view',
  'training_set',
  'run',
  'model_version',
  'deployment',
  'alert',
] as const;

export const lineageNodeKind = z.enum(lineageNodeKinds);

export const lineageView = z.object({
  root: z.object({ kind: lineageNodeKind, id: z.string() }),
  direction: z.enum(['upstream', 'downstream']),
  nodes: z.array(z.object({ kind: lineageNodeKind, id: z.string() })),
  edges: z.array(
    z.object({
      from: z.object({ kind: lineageNodeKind, id: z.string() }),
      to: z.object({ kind: lineageNodeKind, id: z.string() }),
      relation: z.string(),
    }),
  ),
});

export type ModelView = z.infer<typeof modelView>;
export type VersionView = z.infer<typeof versionView>;
export type TrainingRunView = z.infer<typeof trainingRunView>;
export type LineageView = z.infer<typeof lineageView>;
