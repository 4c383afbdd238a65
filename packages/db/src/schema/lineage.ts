import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { lineageNodeKinds } from '@shepherd/contracts/registry';
import { projects } from './projects.ts';

/**
 * Kept as text in the database so a new kind of node needs no enum migration; the union
 * keeps writers honest at compile time.
 */
export { lineageNodeKinds };

export type LineageNodeKind = (typeof lineageNodeKinds)[number];

export const lineageEdges = pgTable(
  'lineage_edges',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    fromKind: text('from_kind').$type<LineageNodeKind>().notNull(),
    // Text, not uuid: a topic/offset range or an MLflow run has no uuid.
    fromId: text('from_id').notNull(),
    toKind: text('to_kind').$type<LineageNodeKind>().notNull(),
    toId: text('to_id').notNull(),
    relation: text('relation').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // Also the index for "what depends on this" (downstream walk): its leading columns are
    // (project_id, from_kind, from_id).
    unique('lineage_edges_edge_unique').on(t.projectId, t.fromKind, t.fromId, t.toKind, t.toId, t.relation),
    // "Where did this come from" (upstream walk).
    index('lineage_edges_to_idx').on(t.projectId, t.toKind, t.toId),
    check('lineage_edges_no_self_loop', sql`not (${t.fromKind} = ${t.toKind} and ${t.fromId} = ${t.toId})`),
  ],
);

export type LineageEdge = typeof lineageEdges.$inferSelect;
export type NewLineageEdge = typeof lineageEdges.$inferInsert;
