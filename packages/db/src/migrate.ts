import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { is } from 'drizzle-orm';
import type { MigrationConfig } from 'drizzle-orm/migrator';
import { drizzle as drizzleNodePg, NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { Database } from './client.ts';

/** The committed migrations, resolved next to this file so it works from any working directory. */
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));

const migrationConfig: MigrationConfig = { migrationsFolder };

// Serialises concurrent migrators (several API replicas starting at once) on one PostgreSQL
// database. Advisory locks are per database, so this never blocks another database.
const migrationLockKey = 'shepherd:migrate';

/**
 * Applies the committed migrations that the database has not seen yet. Pass the `db` of a handle
 * from `createDb`, not a transaction: drizzle's migrator opens its own.
 */
export async function migrate(db: Database): Promise<void> {
  if (is(db, PgliteDatabase)) {
    // One in-process connection: nothing to serialise against.
    await migratePglite(db, migrationConfig);
    return;
  }
  if (is(db, NodePgDatabase)) {
    await migratePostgres(db);
    return;
  }
  throw new TypeError(
    'migrate(db) needs the db of a createDb() handle (node-postgres or PGlite), not a transaction',
  );
}

async function migratePostgres(db: NodePgDatabase<Record<string, unknown>>): Promise<void> {
  const client: unknown = (db as { $client?: unknown }).$client;
  if (client instanceof pg.Pool) {
    // The lock and the migrations share one connection: a pool of size 1 cannot deadlock, and
    // the lock dies with the connection if this process does.
    const connection = await client.connect();
    try {
      await connection.query('select pg_advisory_lock(hashtextextended($1, 0))', [migrationLockKey]);
      try {
        await migrateNodePg(drizzleNodePg({ client: connection }), migrationConfig);
      } finally {
        await connection.query('select pg_advisory_unlock(hashtextextended($1, 0))', [migrationLockKey]);
      }
    } finally {
      connection.release();
    }
    return;
  }
  await migrateNodePg(db, migrationConfig);
}

/**
 * A fingerprint of the migration set (SQL files and journal). Changes whenever a migration is
 * added or edited; used to decide when a template database is stale.
 */
export function migrationSetHash(folder: string = migrationsFolder): string {
  const hash = createHash('sha256');
  const files = [
    ...readdirSync(folder)
      .filter((name) => name.endsWith('.sql'))
      .sort(),
    join('meta', '_journal.json'),
  ];
  for (const file of files) {
    hash.update(file);
    hash.update('\0');
    hash.update(readFileSync(join(folder, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}
