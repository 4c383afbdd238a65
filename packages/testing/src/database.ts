import { createDb, type DbHandle } from '@shepherd/db/client';
import { createTestDatabase } from '@shepherd/db/test-databases';
import { testEnv } from './env.ts';

/** A migrated database of the test's own on the real PostgreSQL, cloned from the template. */
export async function openTestDatabase(): Promise<DbHandle & { url: string; dispose(): Promise<void> }> {
  const database = await createTestDatabase({ adminUrl: testEnv().DATABASE_URL });
  const handle = await createDb({ databaseUrl: database.url, maxConnections: 5 });
  return {
    ...handle,
    db: handle.db,
    kind: handle.kind,
    ping: () => handle.ping(),
    close: () => handle.close(),
    url: database.url,
    dispose: async () => {
      await handle.close();
      await database.drop();
    },
  };
}
