import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb } from './client.ts';
import { migrate, migrationSetHash } from './migrate.ts';

/**
 * Per-test databases cloned from a migrated template: `CREATE DATABASE ... TEMPLATE` copies files
 * and takes milliseconds, where running every migration per test file would take seconds.
 *
 * Several vitest workers (or several checkouts) may share one server, so the template is guarded
 * by an advisory lock in the admin database: exclusive while it is (re)built, shared while it is
 * cloned. PostgreSQL refuses to clone a database that has any open connection, which is why
 * nobody may be inside the template while someone clones it, and why it refuses connections once built.
 */

export const defaultTemplateName = 'shepherd_template';
const commentPrefix = 'shepherd migrations sha256:';

export interface TestDatabaseOptions {
  /** A database on the server to run CREATE/DROP DATABASE from; the role needs CREATEDB. */
  adminUrl: string;
  templateName?: string;
  /** Prefix of the cloned databases' names. */
  prefix?: string;
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database, first terminating any connection a test left open. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Makes sure the template exists and matches the committed migrations, building it if not.
 * Safe to call from many processes at once; returns the hash the template was built from.
 */
export async function ensureTemplateDatabase(options: TestDatabaseOptions): Promise<string> {
  const templateName = checkedName(options.templateName ?? defaultTemplateName);
  const hash = migrationSetHash();
  await withAdmin(options.adminUrl, async (admin) => {
    await admin.query('select pg_advisory_lock(hashtextextended($1, 0))', [lockKey(templateName)]);
    if ((await templateHash(admin, templateName)) !== hash) {
      await rebuildTemplate(admin, options.adminUrl, templateName, hash);
    }
    // No unlock: ending the connection releases it, even when the build failed.
  });
  return hash;
}

/** A fresh, migrated database of its own. Call `drop()` when done (e.g. in afterAll). */
export async function createTestDatabase(options: TestDatabaseOptions): Promise<TestDatabase> {
  const templateName = checkedName(options.templateName ?? defaultTemplateName);
  const name = checkedName(
    `${options.prefix ?? 'shepherd_test'}_${process.pid}_${randomBytes(6).toString('hex')}`,
  );
  const hash = migrationSetHash();
  for (let attempt = 0; ; attempt += 1) {
    const cloned = await withAdmin(options.adminUrl, async (admin) => {
      await admin.query('select pg_advisory_lock_shared(hashtextextended($1, 0))', [lockKey(templateName)]);
      if ((await templateHash(admin, templateName)) !== hash) return false;
      await admin.query(`create database ${quote(name)} template ${quote(templateName)}`);
      return true;
    });
    if (cloned) break;
    if (attempt >= 2) {
      throw new Error(
        `template database ${templateName} keeps changing under us (another checkout with other migrations?)`,
      );
    }
    await ensureTemplateDatabase(options);
  }
  const url = databaseUrl(options.adminUrl, name);
  let dropping: Promise<void> | undefined;
  return {
    name,
    url,
    drop: () =>
      (dropping ??= withAdmin(options.adminUrl, async (admin) => {
        await admin.query(`drop database if exists ${quote(name)} with (force)`);
      })),
  };
}

async function rebuildTemplate(
  admin: pg.Client,
  adminUrl: string,
  templateName: string,
  hash: string,
): Promise<void> {
  const exists = await admin.query('select 1 from pg_database where datname = $1', [templateName]);
  if (exists.rowCount !== 0) {
    // A template database cannot be dropped until it is an ordinary one again.
    await admin.query(`alter database ${quote(templateName)} is_template false allow_connections true`);
    await admin.query(`drop database ${quote(templateName)} with (force)`);
  }
  await admin.query(`create database ${quote(templateName)}`);
  const handle = await createDb({ databaseUrl: databaseUrl(adminUrl, templateName), maxConnections: 1 });
  try {
    await migrate(handle.db);
  } finally {
    await handle.close();
  }
  // The comment is written last, so a template whose build was interrupted is never trusted.
  await admin.query(`comment on database ${quote(templateName)} is ${literal(commentPrefix + hash)}`);
  await admin.query(`alter database ${quote(templateName)} is_template true allow_connections false`);
}

async function templateHash(admin: pg.Client, templateName: string): Promise<string | undefined> {
  const result = await admin.query<{ comment: string | null }>(
    `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
    [templateName],
  );
  const comment = result.rows[0]?.comment;
  return comment?.startsWith(commentPrefix) ? comment.slice(commentPrefix.length) : undefined;
}

async function withAdmin<T>(adminUrl: string, run: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'shepherd-test-databases' });
  // A connection error after connect() would otherwise be an unhandled 'error' event.
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

function lockKey(templateName: string): string {
  return `shepherd:template:${templateName}`;
}

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** CREATE/DROP DATABASE take no parameters, so names are restricted instead of escaped. */
function checkedName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(
      `unsafe database name ${JSON.stringify(name)}: use lower-case letters, digits and _ (max 63)`,
    );
  }
  return name;
}

function quote(identifier: string): string {
  return `"${identifier}"`;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
