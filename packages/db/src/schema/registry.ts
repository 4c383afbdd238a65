import { relations, sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { versionStates } from '@shepherd/contracts/registry';
import { projects } from './projects.ts';

// The lifecycle is part of the API contract; the table stores it.
export const modelVersionStates = versionStates;

export type ModelVersionState = (typeof modelVersionStates)[number];

export const modelVersionState = pgEnum('model_version_state', modelVersionStates);

export const models = pgTable(
  'models',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    description: text('description'),
    task: text('task').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('models_project_name_unique').on(t.projectId, t.name),
    // Target of the composite foreign keys below, so a child row can never point at a model
    // that belongs to another project.
    unique('models_project_id_unique').on(t.projectId, t.id),
  ],
);

export const modelVersions = pgTable(
  'model_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    modelId: uuid('model_id').notNull(),
    version: integer('version').notNull(),
    state: modelVersionState('state').notNull().default('registered'),
    artifactUri: text('artifact_uri').notNull(),
    artifactSha256: text('artifact_sha256').notNull(),
    format: text('format').notNull().default('onnx'),
    mlflowRunId: text('mlflow_run_id'),
    // No foreign key yet: training_sets arrives with packages/features.
    trainingSetId: uuid('training_set_id'),
    metrics: jsonb('metrics').$type<Record<string, number>>().notNull().default({}),
    // Shapes are owned by packages/contracts (evaluation report) and packages/drift (profile).
    evaluation: jsonb('evaluation').$type<unknown>(),
    referenceProfile: jsonb('reference_profile').$type<unknown>(),
    failureReason: text('failure_reason'),
    // Idempotency key of the registering request or workflow. NULLs never collide, so callers
    // that do not send one are not deduplicated.
    requestId: text('request_id'),
    tags: jsonb('tags').$type<Record<string, string>>().notNull().default({}),
    description: text('description'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    foreignKey({
      name: 'model_versions_model_fk',
      columns: [t.projectId, t.modelId],
      foreignColumns: [models.projectId, models.id],
    }),
    unique('model_versions_model_version_unique').on(t.modelId, t.version),
    unique('model_versions_project_request_unique').on(t.projectId, t.requestId),
    unique('model_versions_project_model_id_unique').on(t.projectId, t.modelId, t.id),
    index('model_versions_project_state_idx').on(t.projectId, t.state),
    check('model_versions_version_positive', sql`${t.version} > 0`),
    check('model_versions_sha256_hex', sql`${t.artifactSha256} ~ '^[0-9a-f]{64}$'`),
  ],
);

/** Movable pointers such as `champion` and `challenger`; mirrored to MLflow by the worker. */
export const modelAliases = pgTable(
  'model_aliases',
  {
    projectId: uuid('project_id').notNull(),
    modelId: uuid('model_id').notNull(),
    alias: text('alias').notNull(),
    versionId: uuid('version_id').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    primaryKey({ name: 'model_aliases_pk', columns: [t.modelId, t.alias] }),
    // One key covers both rules: the version is in the same project and of the same model.
    foreignKey({
      name: 'model_aliases_version_fk',
      columns: [t.projectId, t.modelId, t.versionId],
      foreignColumns: [modelVersions.projectId, modelVersions.modelId, modelVersions.id],
    }),
    index('model_aliases_version_idx').on(t.versionId),
  ],
);

export const modelsRelations = relations(models, ({ one, many }) => ({
  project: one(projects, { fields: [models.projectId], references: [projects.id] }),
  versions: many(modelVersions),
  aliases: many(modelAliases),
}));

export const modelVersionsRelations = relations(modelVersions, ({ one, many }) => ({
  model: one(models, { fields: [modelVersions.modelId], references: [models.id] }),
  aliases: many(modelAliases),
}));

export const modelAliasesRelations = relations(modelAliases, ({ one }) => ({
  model: one(models, { fields: [modelAliases.modelId], references: [models.id] }),
  version: one(modelVersions, { fields: [modelAliases.versionId], references: [modelVersions.id] }),
}));

export type Model = typeof models.$inferSelect;
export type NewModel = typeof models.$inferInsert;
export type ModelVersion = typeof modelVersions.$inferSelect;
export type NewModelVersion = typeof modelVersions.$inferInsert;
export type ModelAlias = typeof modelAliases.$inferSelect;
export type NewModelAlias = typeof modelAliases.$inferInsert;
