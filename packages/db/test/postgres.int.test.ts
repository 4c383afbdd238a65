import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { createDb } from '../src/client.ts';
import {
  createTestDatabase,
  defaultTemplateName,
  ensureTemplateDatabase,
  type TestDatabase,
} from '../src/test-databases.ts';
import { describeRegistrySchema } from './registry-suite.ts';

const adminUrl = process.env.DATABASE_URL ?? 'postgres://shepherd:shepherd@127.0.0.1:5433/shepherd';

const created: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(created.map((database) => database.drop()));
});

describeRegistrySchema('postgres', async () => {
  const database = await createTestDatabase({ adminUrl });
  created.push(database);
  return createDb({ databaseUrl: database.url });
});

describe('the connection pool', () => {
  // pg-pool closes a connection idle for 10 s (its default, which createDb keeps).
  it('keeps minConnections open through a quiet spell, and closes the rest', async () => {
    const database = await createTestDatabase({ adminUrl });
    created.push(database);
    const kept = await createDb({ databaseUrl: database.url, minConnections: 2 });
    const plain = await createDb({ databaseUrl: database.url });
    const poolOf = (handle: { db: unknown }) => (handle.db as { $client: pg.Pool }).$client;
    try {
      // A burst that needs four connections at once in each pool.
      const burst = (handle: typeof kept) =>
        Promise.all(Array.from({ length: 4 }, () => handle.db.execute(sql`select pg_sleep(0.2)`)));
      await Promise.all([burst(kept), burst(plain)]);
      expect(poolOf(kept).totalCount).toBe(4);
      expect(poolOf(plain).totalCount).toBe(4);

      await new Promise((resolve) => setTimeout(resolve, 11_000));
      expect(poolOf(kept).totalCount).toBe(2);
      expect(poolOf(plain).totalCount).toBe(0);
      // The two kept are live connections, not just counted ones.
      await expect(kept.ping()).resolves.toBeUndefined();
      expect(poolOf(kept).totalCount).toBe(2);
    } finally {
      await kept.close();
      await plain.close();
    }
  }, 30_000);
});

describe('test databases cloned from the template', () => {
  it('builds the template once and clones it concurrently', async () => {
    const hash = await ensureTemplateDatabase({ adminUrl });
    const clones = await Promise.all(Array.from({ length: 4 }, () => createTestDatabase({ adminUrl })));
    created.push(...clones);
    expect(new Set(clones.map((clone) => clone.name)).size).toBe(4);

    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const template = await admin.query<{ comment: string; datistemplate: boolean; datallowconn: boolean }>(
        `select shobj_description(oid, 'pg_database') as comment, datistemplate, datallowconn
           from pg_database where datname = $1`,
        [defaultTemplateName],
      );
      expect(template.rows).toEqual([
        { comment: `shepherd migrations sha256:${hash}`, datistemplate: true, datallowconn: false },
      ]);
    } finally {
      await admin.end();
    }

    // Each clone already carries the migrations.
    const handle = await createDb({ databaseUrl: clones[0]!.url });
    try {
      await expect(handle.ping()).resolves.toBeUndefined();
    } finally {
      await handle.close();
    }
  });

  it('drops a test database even while a connection is still open', async () => {
    const database = await createTestDatabase({ adminUrl });
    const leaked = await createDb({ databaseUrl: database.url });
    await leaked.ping();
    await database.drop();
    await database.drop();
    await expect(leaked.ping()).rejects.toThrow();
    await leaked.close();
  });

  it('rebuilds a template whose migration hash is stale', async () => {
    const templateName = 'shepherd_template_stale_check';
    await ensureTemplateDatabase({ adminUrl, templateName });
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`comment on database ${templateName} is 'shepherd migrations sha256:outdated'`);
      const database = await createTestDatabase({ adminUrl, templateName });
      created.push(database);
      const comment = await admin.query<{ comment: string }>(
        `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
        [templateName],
      );
      expect(comment.rows[0]?.comment).not.toContain('outdated');
      await admin.query(`alter database ${templateName} is_template false`);
      await admin.query(`drop database ${templateName}`);
    } finally {
      await admin.end();
    }
  });
});
