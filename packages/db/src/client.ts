import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '@shepherd/core/logger';
import { sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import * as schema from './schema.ts';

export { schema };
export type Schema = typeof schema;

/**
 * The driver-neutral database type. node-postgres and PGlite databases are both assignable to it,
 * and so is a transaction, so data-access code written against `Database` runs inside
 * `db.transaction(...)` unchanged.
 */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export type DbKind = 'postgres' | 'pglite';

export interface DbConfig {
  /** A real PostgreSQL. Without it the database is an embedded PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite only: where to keep the data. Without it PGlite lives in memory and dies with the process. */
  dataDir?: string | undefined;
  /** PostgreSQL only: pool size. */
  maxConnections?: number | undefined;
  /**
   * PostgreSQL only: connections kept open through quiet spells (default 0). Idle connections
   * close after 10 s; the next burst of requests then opens them again together, each with a
   * SCRAM handshake, and the first requests after the spell wait for that.
   */
  minConnections?: number | undefined;
  /** Receives errors of idle pooled connections, e.g. after a server restart. */
  logger?: Pick<Logger, 'warn'> | undefined;
}

export interface DbHandle {
  readonly db: Database;
  readonly kind: DbKind;
  /** Resolves when the database answers a query; rejects otherwise. */
  ping(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export async function createDb(config: DbConfig = {}): Promise<DbHandle> {
  if (config.databaseUrl !== undefined && config.databaseUrl !== '') {
    return createPostgres(config.databaseUrl, config);
  }
  return createPglite(config.dataDir);
}

function createPostgres(databaseUrl: string, config: DbConfig): DbHandle {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: config.maxConnections ?? 10,
    min: config.minConnections ?? 0,
    application_name: 'shepherd',
  });
  // Without a listener, an idle client dropped by the server (restart, pg_terminate_backend,
  // DROP DATABASE ... WITH (FORCE)) is an unhandled 'error' event and kills the process.
  // The pool has already discarded that client; the next query opens a fresh one.
  pool.on('error', (err) => {
    config.logger?.warn({ err }, 'idle postgres connection failed');
  });
  const db = drizzleNodePg({ client: pool, schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => (closing ??= pool.end()),
  };
}

async function createPglite(dataDir: string | undefined): Promise<DbHandle> {
  const client = await PGlite.create(dataDir);
  const db = drizzlePglite({ client, schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => (closing ??= client.closed ? Promise.resolve() : client.close()),
  };
}
