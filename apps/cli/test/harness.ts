import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { Role } from '@shepherd/db/schema';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../../api/src/app.ts';
import { buildProgram } from '../src/program.ts';

/**
 * The CLI against the real API over HTTP: a database of the test's own, the API listening on a
 * free port, and a project the CLI's environment points at. No worker serves the API's task
 * queues, which are the test's own. `close` puts the environment back.
 */
export async function cliAgainstApi(prefix: string) {
  const database = await openTestDatabase();
  const env = testEnv();
  const temporal = await connectTemporal({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
  });
  const app = buildApp({
    logger: quietLogger(),
    readiness: [],
    services: {
      db: database.db,
      temporal: temporal.client,
      trainingTaskQueue: `${prefix}-${randomUUID()}`,
      mainTaskQueue: `${prefix}-${randomUUID()}`,
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const slug = `${prefix}-${randomUUID().slice(0, 8)}`;
  const project = await ensureProject(database.db, slug);
  const saved = { ...process.env };
  process.env.SHEPHERD_API_URL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  process.env.SHEPHERD_PROJECT = slug;
  return {
    database,
    temporal,
    slug,
    projectId: project.id,
    token: async (name: string, role: Role) =>
      (await createToken(database.db, { projectId: project.id, name, role, createdBy: 'test' })).token,
    /** Runs `shepherd <args>` with this token; resolves to what it printed. */
    run: async (token: string, ...args: string[]) => {
      process.env.SHEPHERD_TOKEN = token;
      const lines: string[] = [];
      await buildProgram((text) => lines.push(text)).parseAsync(['node', 'shepherd', ...args]);
      return lines.join('\n');
    },
    close: async () => {
      process.env = saved;
      await app.close();
      await temporal.connection.close();
      await database.dispose();
    },
  };
}
