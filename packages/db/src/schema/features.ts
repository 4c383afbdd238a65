import {
  bigint,
  boolean,
  doublePrecision,
  foreignKey,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { projects } from './projects.ts';

export type FeatureValueJson = number | boolean | string | null;

/**
 * A registered feature view: the definition as declared in code (contracts `FeatureView`), frozen
 * under (name, version). `definition_hash` is a sha256 of its canonical JSON, so registering the
 * same definition again is recognised without comparing documents.
 */
export const featureViews = pgTable(
  'feature_views',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    sourceTopic: text('source_topic').notNull(),
    definition: jsonb('definition').$type<Record<string, unknown>>().notNull(),
    definitionHash: text('definition_hash').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('feature_views_project_name_version_unique').on(t.projectId, t.name, t.version),
    // Composite foreign keys from the stores carry project_id, so a row can't cross projects.
    unique('feature_views_project_id_unique').on(t.projectId, t.id),
  ],
);

/**
 * The offline store: every valid event, append-only. The primary key is the event's place in Kafka
 * (per view, since two versions of a view read the same topic), so replaying a topic inserts nothing
 * twice. A view reads exactly one topic (its definition names it), so (view, partition, offset)
 * is that place; `topic` is kept for readers, not for uniqueness. `aggregates` are the view's window
 * aggregates as of the event's own time.
 *
 * (project_id, view_id) must name a feature view, as with the other stores, but the check is not a
 * foreign key: a foreign key checks (and locks the view) once per row, a third of the cost of
 * ingesting one. Migration 0010 checks each statement's rows at once instead (triggers
 * `feature_offline_rows_view_check_*`, same row lock on the view) and refuses to delete or re-key a
 * view that has offline rows.
 */
export const featureOfflineRows = pgTable(
  'feature_offline_rows',
  {
    projectId: uuid('project_id').notNull(),
    viewId: uuid('view_id').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    kafkaOffset: bigint('kafka_offset', { mode: 'bigint' }).notNull(),
    entityId: text('entity_id').notNull(),
    eventTime: timestamp('event_time', { withTimezone: true, mode: 'date' }).notNull(),
    // json, not jsonb: PostgreSQL keeps the text ingestion wrote and only checks it, where jsonb
    // converts every row (about 3 of the ~10 µs a row costs to COPY). Readers take whole documents.
    values: json('values').$type<Record<string, FeatureValueJson>>().notNull(),
    aggregates: json('aggregates').$type<Record<string, number | null>>().notNull(),
    ingestedAt: timestamp('ingested_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({
      name: 'feature_offline_rows_pk',
      columns: [t.viewId, t.partition, t.kafkaOffset],
    }),
    // Window aggregates at ingestion and point-in-time lookups read one entity's rows by time.
    index('feature_offline_rows_entity_time_idx').on(t.viewId, t.entityId, t.eventTime),
  ],
);

/**
 * The online store: the latest event per (view, entity) by event time, with the window aggregates
 * as of that time. The source position says which event the values came from.
 */
export const featureOnlineRows = pgTable(
  'feature_online_rows',
  {
    projectId: uuid('project_id').notNull(),
    viewId: uuid('view_id').notNull(),
    entityId: text('entity_id').notNull(),
    eventTime: timestamp('event_time', { withTimezone: true, mode: 'date' }).notNull(),
    values: jsonb('values').$type<Record<string, FeatureValueJson>>().notNull(),
    aggregates: jsonb('aggregates').$type<Record<string, number | null>>().notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    kafkaOffset: bigint('kafka_offset', { mode: 'bigint' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'feature_online_rows_pk', columns: [t.viewId, t.entityId] }),
    foreignKey({
      name: 'feature_online_rows_view_fk',
      columns: [t.projectId, t.viewId],
      foreignColumns: [featureViews.projectId, featureViews.id],
    }),
  ],
);

/**
 * Ingestion progress per (view, topic, partition), written in the same transaction as the rows, so
 * the counts agree with the stores even when Kafka offsets were not committed before a crash.
 */
export const featureIngestionProgress = pgTable(
  'feature_ingestion_progress',
  {
    projectId: uuid('project_id').notNull(),
    viewId: uuid('view_id').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    /** The last offset of the last ingested batch. */
    lastOffset: bigint('last_offset', { mode: 'bigint' }).notNull(),
    eventsIngested: bigint('events_ingested', { mode: 'number' }).notNull().default(0),
    dlqCount: bigint('dlq_count', { mode: 'number' }).notNull().default(0),
    lastEventTime: timestamp('last_event_time', { withTimezone: true, mode: 'date' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'feature_ingestion_progress_pk', columns: [t.viewId, t.topic, t.partition] }),
    foreignKey({
      name: 'feature_ingestion_progress_view_fk',
      columns: [t.projectId, t.viewId],
      foreignColumns: [featureViews.projectId, featureViews.id],
    }),
  ],
);

/**
 * Parity checks: a sample of a view's entities, online values against the offline store as of the
 * check's time. Kept as history, so gates and alerts read the latest and trends stay visible.
 */
export const featureParityReports = pgTable(
  'feature_parity_reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    viewId: uuid('view_id').notNull(),
    viewName: text('view_name').notNull(),
    viewVersion: integer('view_version').notNull(),
    sampled: integer('sampled').notNull(),
    mismatchedEntities: integer('mismatched_entities').notNull(),
    mismatchRate: doublePrecision('mismatch_rate').notNull(),
    /** Mismatches per field name. */
    byField: jsonb('by_field').$type<Record<string, number>>().notNull(),
    /** The mismatching fields, up to a limit: { entity, field, online, offline }. */
    mismatches: jsonb('mismatches')
      .$type<{ entity: string; field: string; online: FeatureValueJson; offline: FeatureValueJson }[]>()
      .notNull(),
    truncated: boolean('truncated').notNull(),
    checkedAt: timestamp('checked_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    foreignKey({
      name: 'feature_parity_reports_view_fk',
      columns: [t.projectId, t.viewId],
      foreignColumns: [featureViews.projectId, featureViews.id],
    }),
    index('feature_parity_reports_view_checked_idx').on(t.projectId, t.viewId, t.checkedAt),
  ],
);

export type FeatureViewRow = typeof featureViews.$inferSelect;
export type NewFeatureViewRow = typeof featureViews.$inferInsert;
export type FeatureOfflineRow = typeof featureOfflineRows.$inferSelect;
export type NewFeatureOfflineRow = typeof featureOfflineRows.$inferInsert;
export type FeatureOnlineRow = typeof featureOnlineRows.$inferSelect;
export type NewFeatureOnlineRow = typeof featureOnlineRows.$inferInsert;
export type FeatureIngestionProgress = typeof featureIngestionProgress.$inferSelect;
export type FeatureParityReportRow = typeof featureParityReports.$inferSelect;

/** What a parity monitor runs each time (contracts `ParityMonitorConfig`). */
export interface ParityMonitorConfigJson {
  everySeconds: number;
  sampleSize: number;
  maxMismatchRate: number;
  /** Pinned view version; absent: the highest registered at each check. */
  version?: number | undefined;
}

/**
 * A feature view's recurring parity check: at most one per view name and project. The row is what
 * decides whether it runs: its workflow checks it before every check, so a stop holds even if the
 * cancel did not reach Temporal.
 */
export const featureParityMonitors = pgTable(
  'feature_parity_monitors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    viewName: text('view_name').notNull(),
    state: text('state').$type<'running' | 'stopped'>().notNull().default('running'),
    config: jsonb('config').$type<ParityMonitorConfigJson>().notNull(),
    workflowId: text('workflow_id').notNull(),
    startedBy: text('started_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
    stoppedAt: timestamp('stopped_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [unique('feature_parity_monitors_view_unique').on(t.projectId, t.viewName)],
);

export type FeatureParityMonitor = typeof featureParityMonitors.$inferSelect;
