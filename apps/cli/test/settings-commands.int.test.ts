import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal } from '@shepherd/clients/temporal';
import { ensureProject } from '@shepherd/registry/projects';
import { getProjectSettings } from '@shepherd/registry/settings';
import { createToken } from '@shepherd/registry/tokens';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../../api/src/app.ts';
import { buildProgram } from '../src/program.ts';

/** `shepherd settings` against the real API over HTTP, as an admin and as someone who is not. */
describe('shepherd settings', { timeout: 60_000 }, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let closeTemporal: () => Promise<void>;
  let projectId: string;
  let admin: string;
  let approver: string;
  const slug = `cli-settings-${randomUUID().slice(0, 8)}`;
  const saved = { ...process.env };

  beforeAll(async () => {
    database = await openTestDatabase();
    const env = testEnv();
    const temporal = await connectTemporal({
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
    });
    closeTemporal = () => temporal.connection.close();
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: { db: database.db, temporal: temporal.client, trainingTaskQueue: `cli-${randomUUID()}` },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const project = await ensureProject(database.db, slug);
    projectId = project.id;
    const token = (name: string, role: 'admin' | 'approver') =>
      createToken(database.db, { projectId, name, role, createdBy: 'test' }).then((t) => t.token);
    admin = await token('platform-admin', 'admin');
    approver = await token('reviewer', 'approver');
    process.env.SHEPHERD_API_URL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    process.env.SHEPHERD_PROJECT = slug;
  });

  afterAll(async () => {
    process.env = saved;
    await app?.close();
    await closeTemporal?.();
    await database?.dispose();
  });

  async function run(token: string, ...args: string[]) {
    process.env.SHEPHERD_TOKEN = token;
    const lines: string[] = [];
    await buildProgram((text) => lines.push(text)).parseAsync(['node', 'shepherd', ...args]);
    return lines.join('\n');
  }

  it('shows four eyes on, turns it off as an admin, and the project records it', async () => {
    expect(await run(admin, 'settings', 'show')).toMatch(/^four-eyes\s+on\s/m);
    const json = await run(admin, '--json', 'settings', 'set', 'four-eyes', 'off');
    expect(JSON.parse(json)).toEqual({ project: slug, fourEyesPromotion: false });
    expect(await getProjectSettings({ db: database.db, projectId, actor: 'test' })).toEqual({
      fourEyesPromotion: false,
    });
    expect(await run(admin, 'settings', 'show')).toMatch(/^four-eyes\s+off\s/m);
  });

  it('refuses a non-admin, an unknown setting and a value that is not on/off', async () => {
    await expect(run(approver, 'settings', 'set', 'four-eyes', 'on')).rejects.toThrow(/needs admin/);
    await expect(run(admin, 'settings', 'set', 'two-eyes', 'on')).rejects.toThrow(
      /unknown setting 'two-eyes'/,
    );
    await expect(run(admin, 'settings', 'set', 'four-eyes', 'sometimes')).rejects.toThrow(/on or off/);
    expect((await getProjectSettings({ db: database.db, projectId, actor: 'test' })).fourEyesPromotion).toBe(
      false,
    );
  });
});
