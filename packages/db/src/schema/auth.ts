import { index, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { projects } from './projects.ts';

export const roles = ['viewer', 'ml-engineer', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];
export const role = pgEnum('role', roles);

/**
 * API tokens, scoped to one project. Only a sha256 of the token is stored: tokens are 32 random
 * bytes, so a fast hash is enough and the token itself is shown once, at creation.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => projects.id),
    name: text('name').notNull(),
    role: role('role').notNull(),
    tokenHash: text('token_hash').notNull().unique('api_tokens_hash_unique'),
    /** The first characters of the token, so people can tell their tokens apart. */
    tokenPrefix: text('token_prefix').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('api_tokens_project_idx').on(t.projectId)],
);

export type ApiToken = typeof apiTokens.$inferSelect;
