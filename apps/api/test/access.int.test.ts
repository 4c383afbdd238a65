import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal } from '@shepherd/clients/temporal';
import { roles, type Role } from '@shepherd/db/schema';
import { ensureProject } from '@shepherd/registry/projects';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger } from '@shepherd/testing/platform';
import { apiRoutes, buildApp } from '../src/app.ts';
import { allows } from '@shepherd/registry/permissions';
import { createToken } from '@shepherd/registry/tokens';

/** Every route, as every role, as another project, and as nobody: the permission table is the spec. */
describe('access control on every route', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let closeTemporal: () => Promise<void>;
  const tokens = {} as Record<Role, string>;
  let outsider: string;
  const slug = `acl-${randomUUID().slice(0, 8)}`;
  const otherSlug = `acl-other-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    database = await openTestDatabase();
    const env = testEnv();
    const temporal = await connectTemporal({
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
    });
    closeTemporal = () => temporal.connection.close();
    const services = {
      db: database.db,
      temporal: temporal.client,
      trainingTaskQueue: `acl-${randomUUID()}`,
    };
    app = buildApp({ logger: quietLogger(), readiness: [], services });
    const project = await ensureProject(database.db, slug);
    const other = await ensureProject(database.db, otherSlug);
    for (const role of roles) {
      tokens[role] = (
        await createToken(database.db, { projectId: project.id, name: role, role, createdBy: 'test' })
      ).token;
    }
    outsider = (
      await createToken(database.db, {
        projectId: other.id,
        name: 'outsider',
        role: 'admin',
        createdBy: 'test',
      })
    ).token;
  });

  afterAll(async () => {
    await app?.close();
    await closeTemporal?.();
    await database?.dispose();
  });

  const specs = apiRoutes({ db: undefined as never, temporal: undefined as never, trainingTaskQueue: '' });
  const urlFor = (url: string, project: string) =>
    url
      .replace(':project', project)
      .replace(':model', 'some-model')
      .replace(':version', '1')
      .replace(':alias', 'challenger')
      .replace(':kind', 'model_version')
      .replace(':training', randomUUID())
      .replace(':id', randomUUID());
  const call = (method: string, url: string, token?: string) =>
    app.inject({
      method: method as 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
    });

  it('has a permission on every route', () => {
    expect(specs.length).toBeGreaterThan(15);
    for (const spec of specs) expect(['read', 'write', 'approve', 'admin']).toContain(spec.permission);
  });

  it.each(specs.map((spec) => [`${spec.method} ${spec.url}`, spec] as const))('%s', async (_name, spec) => {
    const url = urlFor(spec.url, slug);

    const anonymous = await call(spec.method, url);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: { code: 'unauthenticated' } });

    for (const role of roles) {
      const response = await call(spec.method, url, tokens[role]);
      if (allows(role, spec.permission)) {
        expect([401, 403], `${role} on ${spec.operationId}`).not.toContain(response.statusCode);
        expect(response.statusCode, `${role} on ${spec.operationId}: ${response.body}`).toBeLessThan(500);
      } else {
        expect(response.statusCode, `${role} on ${spec.operationId}`).toBe(403);
        expect(response.json()).toMatchObject({ error: { code: 'forbidden' } });
      }
    }

    // Another project's admin sees nothing here, not even that it exists (a route outside any
    // project, whoami, answers about the caller's own).
    if (!spec.url.includes(':project')) return;
    const foreign = await call(spec.method, url, outsider);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({
      error: { code: 'not_found', message: `project '${slug}' does not exist` },
    });
  });

  it("never shows one project's models to another", async () => {
    const created = await app.inject({
      method: 'POST',
      url: `/v1/projects/${slug}/models`,
      headers: { authorization: `Bearer ${tokens['ml-engineer']}` },
      payload: { name: 'secret-model' },
    });
    expect(created.statusCode).toBe(201);
    const theirs = await app.inject({
      method: 'GET',
      url: `/v1/projects/${otherSlug}/models`,
      headers: { authorization: `Bearer ${outsider}` },
    });
    expect(theirs.json<{ models: unknown[] }>().models).toEqual([]);
    const direct = await app.inject({
      method: 'GET',
      url: `/v1/projects/${otherSlug}/models/secret-model`,
      headers: { authorization: `Bearer ${outsider}` },
    });
    expect(direct.statusCode).toBe(404);
  });

  it('creates a token shown once, lists it without its secret, and revokes it at once', async () => {
    const created = await app.inject({
      method: 'POST',
      url: `/v1/projects/${slug}/tokens`,
      headers: { authorization: `Bearer ${tokens.admin}` },
      payload: { name: 'ci-bot', role: 'viewer' },
    });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json<{ id: string; token: string }>();
    const listed = await app.inject({
      method: 'GET',
      url: `/v1/projects/${slug}/tokens`,
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    expect(listed.body).not.toContain(token);
    expect(listed.json<{ tokens: { id: string }[] }>().tokens.map((t) => t.id)).toContain(id);
    const asBot = () =>
      app.inject({
        method: 'GET',
        url: `/v1/projects/${slug}/models`,
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await asBot()).statusCode).toBe(200);
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/v1/projects/${slug}/tokens/${id}`,
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
    expect(revoked.statusCode).toBe(200);
    expect((await asBot()).statusCode).toBe(401);
  });

  it('limits each token to its rate and says when to retry', async () => {
    const limited = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
      rateLimitPerMinute: 5,
    });
    const get = (token: string) =>
      limited.inject({
        method: 'GET',
        url: `/v1/projects/${slug}/models`,
        headers: { authorization: `Bearer ${token}` },
      });
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await get(tokens.viewer)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const refused = await get(tokens.viewer);
    expect(refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another token is not affected.
    expect((await get(tokens.admin)).statusCode).toBe(200);
    await limited.close();
  });

  it('refuses an expired token', async () => {
    const project = await ensureProject(database.db, slug);
    const { token } = await createToken(database.db, {
      projectId: project.id,
      name: 'expired',
      role: 'admin',
      createdBy: 'test',
      expiresAt: new Date(Date.now() - 1000),
    });
    const response = await app.inject({
      method: 'GET',
      url: `/v1/projects/${slug}/models`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(401);
  });
});
