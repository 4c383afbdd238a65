import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type {
  AnalysisResult,
  AnalysisThresholds,
  EndpointMode,
  RolloutState,
  RolloutStep,
  SloObjectives,
} from '@shepherd/contracts/serving';
import { models } from './registry.ts';
import { projects } from './projects.ts';

/**
 * An endpoint serves one model: the champion takes what the candidate does not. Gateways poll
 * `revision` (bumped on every change, by a trigger so no writer can forget) to pick up changes.
 */
export const endpoints = pgTable(
  'endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    modelId: uuid('model_id').notNull(),
    championVersionId: uuid('champion_version_id'),
    candidateVersionId: uuid('candidate_version_id'),
    candidateWeight: integer('candidate_weight').notNull().default(0),
    mode: text('mode').$type<EndpointMode>().notNull().default('canary'),
    featureViewName: text('feature_view_name'),
    featureViewVersion: integer('feature_view_version'),
    slo: jsonb('slo').$type<SloObjectives>().notNull(),
    revision: bigint('revision', { mode: 'number' }).notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('endpoints_project_name_unique').on(t.projectId, t.name),
    unique('endpoints_project_id_unique').on(t.projectId, t.id),
    foreignKey({
      name: 'endpoints_model_fk',
      columns: [t.projectId, t.modelId],
      foreignColumns: [models.projectId, models.id],
    }),
    check('endpoints_weight_range', sql`${t.candidateWeight} between 0 and 100`),
    check('endpoints_mode_known', sql`${t.mode} in ('canary', 'shadow')`),
    index('endpoints_updated_idx').on(t.updatedAt),
  ],
);

export type Endpoint = typeof endpoints.$inferSelect;

/** One canary (or shadow) rollout of a candidate on an endpoint, as its workflow records it. */
export const rollouts = pgTable(
  'rollouts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    candidateVersionId: uuid('candidate_version_id').notNull(),
    championVersionId: uuid('champion_version_id'),
    mode: text('mode').$type<EndpointMode>().notNull(),
    state: text('state').$type<RolloutState>().notNull().default('running'),
    step: integer('step').notNull().default(0),
    weight: integer('weight').notNull().default(0),
    steps: jsonb('steps').$type<RolloutStep[]>().notNull(),
    thresholds: jsonb('thresholds').$type<AnalysisThresholds>().notNull(),
    analysisIntervalSeconds: doublePrecision('analysis_interval_seconds').notNull(),
    analyses: jsonb('analyses').$type<AnalysisResult[]>().notNull().default([]),
    reasons: jsonb('reasons').$type<string[]>().notNull().default([]),
    workflowId: text('workflow_id').notNull(),
    requestId: text('request_id').notNull(),
    startedBy: text('started_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    foreignKey({
      name: 'rollouts_endpoint_fk',
      columns: [t.projectId, t.endpointId],
      foreignColumns: [endpoints.projectId, endpoints.id],
    }),
    unique('rollouts_project_request_unique').on(t.projectId, t.requestId),
    // One rollout at a time per endpoint: two would fight over the traffic split.
    uniqueIndex('rollouts_one_active_per_endpoint')
      .on(t.endpointId)
      .where(sql`${t.state} in ('running', 'awaiting_approval', 'paused')`),
    index('rollouts_project_created_idx').on(t.projectId, t.createdAt),
  ],
);

export type Rollout = typeof rollouts.$inferSelect;

/**
 * What each gateway saw per endpoint, version and second: request and error counts, a latency
 * histogram (contracts `latencyBucketBoundsMs`) and a prediction histogram. Gateways insert a
 * second once it is over, so rows are never updated; canary analysis and SLOs sum them.
 */
export const servingStats = pgTable(
  'serving_stats',
  {
    projectId: uuid('project_id').notNull(),
    endpointId: uuid('endpoint_id').notNull(),
    versionId: uuid('version_id').notNull(),
    role: text('role').$type<'champion' | 'candidate' | 'shadow'>().notNull(),
    gatewayId: text('gateway_id').notNull(),
    second: timestamp('second', { withTimezone: true, mode: 'date' }).notNull(),
    requests: integer('requests').notNull(),
    errors: integer('errors').notNull(),
    latencyCounts: jsonb('latency_counts').$type<number[]>().notNull(),
    latencySumMs: doublePrecision('latency_sum_ms').notNull(),
    predictionCounts: jsonb('prediction_counts').$type<number[]>().notNull(),
    predictionSum: doublePrecision('prediction_sum').notNull(),
    predictionSquares: doublePrecision('prediction_squares').notNull(),
  },
  (t) => [
    primaryKey({
      name: 'serving_stats_pk',
      columns: [t.endpointId, t.versionId, t.role, t.gatewayId, t.second],
    }),
    index('serving_stats_endpoint_second_idx').on(t.projectId, t.endpointId, t.second),
  ],
);

export type ServingStatsRow = typeof servingStats.$inferSelect;
