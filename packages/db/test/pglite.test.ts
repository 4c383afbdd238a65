import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createDb } from '../src/client.ts';
import { migrate } from '../src/migrate.ts';
import { projects } from '../src/schema.ts';
import { describeRegistrySchema } from './registry-suite.ts';

describeRegistrySchema('pglite', () => createDb());

describe('PGlite with a data directory', () => {
  // initdb into a directory takes several seconds in WebAssembly.
  it('keeps data across close and reopen', { timeout: 60_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'shepherd-pglite-'));
    try {
      const first = await createDb({ dataDir });
      await migrate(first.db);
      await first.db.insert(projects).values({ slug: 'kept', name: 'Kept' });
      await first.close();
      await first.close();

      const second = await createDb({ dataDir });
      try {
        await migrate(second.db);
        const rows = await second.db
          .select({ name: projects.name })
          .from(projects)
          .where(eq(projects.slug, 'kept'));
        expect(rows).toEqual([{ name: 'Kept' }]);
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
