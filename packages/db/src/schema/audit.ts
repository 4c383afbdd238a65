import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects.ts';

/**
 * Append-only: a trigger (migration `audit_events_append_only`) rejects UPDATE, DELETE and
 * TRUNCATE, so history cannot be rewritten even by a buggy caller.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subjectKind: text('subject_kind').notNull(),
    subjectId: text('subject_id').notNull(),
    before: jsonb('before').$type<unknown>(),
    after: jsonb('after').$type<unknown>(),
    requestId: text('request_id'),
    /** Hash chain per project: each entry's hash covers its content and the previous entry's hash. */
    prevHash: text('prev_hash'),
    hash: text('hash'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('audit_events_project_created_idx').on(t.projectId, t.createdAt),
    index('audit_events_subject_idx').on(t.projectId, t.subjectKind, t.subjectId),
  ],
);

export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;
