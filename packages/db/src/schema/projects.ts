import { boolean, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The tenant. The only table without a project_id: everything else hangs off this one. */
export const projects = pgTable('projects', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique('projects_slug_unique'),
  name: text('name').notNull(),
  // Four-eyes is on unless an admin turns it off for this project: a new tenant starts with the
  // safe setting, and turning it off is an audited decision rather than an omission.
  fourEyesPromotion: boolean('four_eyes_promotion').notNull().default(true),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export type Project = typeof projects.$inferSelect;
export type NewProject = typeof projects.$inferInsert;
