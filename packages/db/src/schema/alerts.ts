import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { AlertSeverity, AlertSource, AlertState } from '@shepherd/contracts/alerts';
import { projects } from './projects.ts';

/**
 * Alerts: at most one open (firing or acknowledged) alert per dedup key, so a signal that keeps
 * firing raises `occurrences` instead of paging again.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    source: text('source').$type<AlertSource>().notNull(),
    kind: text('kind').notNull(),
    severity: text('severity').$type<AlertSeverity>().notNull(),
    state: text('state').$type<AlertState>().notNull().default('firing'),
    dedupKey: text('dedup_key').notNull(),
    subjectKind: text('subject_kind').notNull(),
    subjectId: text('subject_id').notNull(),
    summary: text('summary').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    runbook: text('runbook').notNull(),
    occurrences: integer('occurrences').notNull().default(1),
    firedAt: timestamp('fired_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastFiredAt: timestamp('last_fired_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true, mode: 'date' }),
    acknowledgedBy: text('acknowledged_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true, mode: 'date' }),
    resolvedBy: text('resolved_by'),
  },
  (t) => [
    uniqueIndex('alerts_one_open_per_dedup_key')
      .on(t.projectId, t.dedupKey)
      .where(sql`${t.state} <> 'resolved'`),
    index('alerts_project_fired_idx').on(t.projectId, t.firedAt),
  ],
);

export type Alert = typeof alerts.$inferSelect;
