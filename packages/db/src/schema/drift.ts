import { sql } from 'drizzle-orm';
import {
  boolean,
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
import type { AlertSeverity } from '@shepherd/contracts/alerts';
import type {
  DriftMonitorConfig,
  MonitorState,
  NotificationEvent,
  SignalVerdict,
  WebhookKind,
} from '@shepherd/contracts/drift';
import { alerts } from './alerts.ts';
import { projects } from './projects.ts';
import { endpoints } from './serving.ts';

/**
 * Drift monitoring (one monitor per endpoint, its reports as a time series, the predictions it
 * keeps for baselines and label joins) and alert notifications (webhooks, delivery attempts).
 */

/** The monitor of an endpoint and its policy; one row per endpoint, restarted in place. */
export const driftMonitors = pgTable(
  'drift_monitors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    endpointId: uuid('endpoint_id').notNull(),
    state: text('state').$type<MonitorState>().notNull().default('running'),
    config: jsonb('config').$type<DriftMonitorConfig>().notNull(),
    workflowId: text('workflow_id').notNull(),
    windowsJudged: integer('windows_judged').notNull().default(0),
    lastWindowAt: timestamp('last_window_at', { withTimezone: true, mode: 'date' }),
    startedBy: text('started_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
    stoppedAt: timestamp('stopped_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    foreignKey({
      name: 'drift_monitors_endpoint_fk',
      columns: [t.projectId, t.endpointId],
      foreignColumns: [endpoints.projectId, endpoints.id],
    }),
    unique('drift_monitors_endpoint_unique').on(t.projectId, t.endpointId),
  ],
);

export type DriftMonitor = typeof driftMonitors.$inferSelect;

/** One judged (or skipped) window of a monitor: a time series per endpoint. */
export const driftReports = pgTable(
  'drift_reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    monitorId: uuid('monitor_id')
      .notNull()
      .references(() => driftMonitors.id, { onDelete: 'cascade' }),
    endpointId: uuid('endpoint_id').notNull(),
    /** Window number since the monitor started; a retried window writes the same row. */
    sequence: integer('sequence').notNull(),
    versionId: uuid('version_id'),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'date' }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true, mode: 'date' }).notNull(),
    predictions: integer('predictions').notNull(),
    judged: integer('judged').notNull(),
    labels: integer('labels').notNull().default(0),
    drifted: boolean('drifted').notNull(),
    signals: jsonb('signals').$type<SignalVerdict[]>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('drift_reports_monitor_sequence_unique').on(t.monitorId, t.sequence),
    index('drift_reports_endpoint_window_idx').on(t.projectId, t.endpointId, t.windowEnd),
  ],
);

export type DriftReport = typeof driftReports.$inferSelect;

/**
 * Predictions a monitor read, kept for as long as they are needed: the previous windows are the
 * drift baseline, and delayed labels join the prediction they label. Pruned every window.
 */
export const driftObservations = pgTable(
  'drift_observations',
  {
    projectId: uuid('project_id').notNull(),
    monitorId: uuid('monitor_id')
      .notNull()
      .references(() => driftMonitors.id, { onDelete: 'cascade' }),
    predictionId: text('prediction_id').notNull(),
    sequence: integer('sequence').notNull(),
    versionId: text('version_id').notNull(),
    role: text('role').$type<'champion' | 'candidate' | 'shadow'>().notNull(),
    entityId: text('entity_id'),
    features: jsonb('features').$type<Record<string, number | boolean | null>>().notNull(),
    prediction: doublePrecision('prediction').notNull(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'drift_observations_pk', columns: [t.monitorId, t.predictionId] }),
    index('drift_observations_sequence_idx').on(t.monitorId, t.sequence),
    index('drift_observations_entity_idx').on(t.monitorId, t.entityId, t.at),
  ],
);

export type DriftObservation = typeof driftObservations.$inferSelect;

/** Where a project's alerts are sent. */
export const notificationWebhooks = pgTable(
  'notification_webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    kind: text('kind').$type<WebhookKind>().notNull(),
    url: text('url').notNull(),
    routingKey: text('routing_key'),
    minSeverity: text('min_severity').$type<AlertSeverity>().notNull().default('warning'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('notification_webhooks_live_name_unique')
      .on(t.projectId, t.name)
      .where(sql`${t.deletedAt} is null`),
  ],
);

export type NotificationWebhook = typeof notificationWebhooks.$inferSelect;

/** One alert event sent to one webhook: every attempt counted, so a lost page shows up. */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id').notNull(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => notificationWebhooks.id),
    alertId: uuid('alert_id')
      .notNull()
      .references(() => alerts.id),
    event: text('event').$type<NotificationEvent>().notNull(),
    state: text('state').$type<'pending' | 'delivered' | 'failed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' })
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    unique('notification_deliveries_once_unique').on(t.webhookId, t.alertId, t.event),
    index('notification_deliveries_alert_idx').on(t.projectId, t.alertId),
  ],
);

export type NotificationDelivery = typeof notificationDeliveries.$inferSelect;
