import {
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { models } from './registry.ts';
import { projects } from './projects.ts';

/**
 * A point-in-time snapshot of labelled rows, split into train and holdout and written to the
 * artifact store. Candidates and the champion are evaluated on the same holdout.
 */
export const trainingSets = pgTable(
  'training_sets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    sourceUri: text('source_uri').notNull(),
    trainUri: text('train_uri').notNull(),
    trainSha256: text('train_sha256').notNull(),
    holdoutUri: text('holdout_uri').notNull(),
    holdoutSha256: text('holdout_sha256').notNull(),
    trainRows: integer('train_rows').notNull(),
    holdoutRows: integer('holdout_rows').notNull(),
    featureNames: jsonb('feature_names').$type<string[]>().notNull(),
    /** Where the rows came from: source hash, split seed and fraction, later feature views and offsets. */
    manifest: jsonb('manifest').$type<Record<string, unknown>>().notNull(),
    /** The pipeline that built it, so a retried activity finds its earlier result. */
    requestId: text('request_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [unique('training_sets_project_request_unique').on(t.projectId, t.requestId)],
);

export const trainingRunStates = ['running', 'succeeded', 'rejected', 'failed'] as const;
export type TrainingRunState = (typeof trainingRunStates)[number];
export const trainingRunState = pgEnum('training_run_state', trainingRunStates);

/** One trainingPipeline execution as users see it: what was asked, where it got to, how it ended. */
export const trainingRuns = pgTable(
  'training_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    modelId: uuid('model_id').notNull(),
    requestId: text('request_id').notNull(),
    workflowId: text('workflow_id').notNull(),
    state: trainingRunState('state').notNull().default('running'),
    step: text('step').notNull().default('queued'),
    spec: jsonb('spec').$type<Record<string, unknown>>().notNull(),
    trainingSetId: uuid('training_set_id'),
    mlflowRunId: text('mlflow_run_id'),
    versionId: uuid('version_id'),
    failureReason: text('failure_reason'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    foreignKey({
      name: 'training_runs_model_fk',
      columns: [t.projectId, t.modelId],
      foreignColumns: [models.projectId, models.id],
    }),
    unique('training_runs_project_request_unique').on(t.projectId, t.requestId),
    unique('training_runs_workflow_unique').on(t.workflowId),
    index('training_runs_project_model_idx').on(t.projectId, t.modelId, t.createdAt),
  ],
);

export type TrainingSet = typeof trainingSets.$inferSelect;
export type NewTrainingSet = typeof trainingSets.$inferInsert;
export type TrainingRun = typeof trainingRuns.$inferSelect;
export type NewTrainingRun = typeof trainingRuns.$inferInsert;
