import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The tenant. The only table without a project_id: everything else hangs off this one. */
export const projects = pgTable('projects', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique('projects_slug_unique'),
  name: text('name').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export type Project = typeof projects.$inferSelect;
export type NewProject = typeof projects.$inferInsert;
