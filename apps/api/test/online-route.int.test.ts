import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { onlineFeaturesResponse } from '@shepherd/contracts/features';
import { featureOnlineRows } from '@shepherd/db/schema';
import { registerFeatureView } from '@shepherd/features/registry';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken, revokeToken } from '@shepherd/registry/tokens';
import { openTestDatabase } from '@shepherd/testing/database';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';

/**
 * The online lookup is the API's hot route: its response skips the schema parse (trustedResponse)
 * and token checks are remembered for a few seconds. Both must stay invisible to callers: the
 * answer still matches the documented schema, and a revocation through the API still bites at once.
 */
describe('online lookup over the API', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let projectId: string;
  let admin: string;
  const slug = `online-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    database = await openTestDatabase();
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
    });
    const project = await ensureProject(database.db, slug);
    projectId = project.id;
    admin = (await createToken(database.db, { projectId, name: 'admin', role: 'admin', createdBy: 'test' }))
      .token;
    const { registered } = await registerFeatureView(
      { db: database.db, projectId, actor: 'test' },
      {
        name: 'cards',
        version: 1,
        entityKey: 'card_id',
        ttlSeconds: 3600,
        features: [
          { name: 'amount', type: 'float' },
          { name: 'country', type: 'string' },
        ],
      },
    );
    await database.db.insert(featureOnlineRows).values({
      projectId,
      viewId: registered.id,
      entityId: 'card-1',
      eventTime: new Date(Date.now() - 7200_000),
      values: { amount: 12.5, country: 'NL' },
      aggregates: {},
      topic: 'features.cards',
      partition: 0,
      kafkaOffset: 1n,
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  const lookup = (token: string, query: string) =>
    app.inject({
      method: 'GET',
      url: `/v1/projects/${slug}/feature-views/cards/online?${query}`,
      headers: { authorization: `Bearer ${token}` },
    });

  it('answers in the documented shape, found and unknown entities alike', async () => {
    const response = await lookup(admin, 'entity=card-1&entity=card-404');
    expect(response.statusCode).toBe(200);
    const body = onlineFeaturesResponse.parse(response.json());
    expect(body).toMatchObject({ view: 'cards', version: 1, ttlSeconds: 3600 });
    expect(body.vectors).toMatchObject([
      { entityId: 'card-1', found: true, values: { amount: 12.5, country: 'NL' }, stale: true },
      { entityId: 'card-404', found: false, values: {}, stale: true },
    ]);
    expect(body.vectors[0]!.ageSeconds).toBeGreaterThan(7000);
  });

  it('remembers a token check briefly; a revocation through the API ends it at once', async () => {
    const make = async (name: string) =>
      createToken(database.db, { projectId, name, role: 'viewer', createdBy: 'test' });
    // Revoked behind the API's back (another process, SQL): still accepted for the cache's few seconds.
    const behind = await make(`behind-${randomUUID().slice(0, 6)}`);
    expect((await lookup(behind.token, 'entity=card-1')).statusCode).toBe(200);
    await revokeToken(database.db, projectId, behind.record.id, 'test');
    expect((await lookup(behind.token, 'entity=card-1')).statusCode).toBe(200);

    // Revoked through this API process: refused on the next request.
    const through = await make(`through-${randomUUID().slice(0, 6)}`);
    expect((await lookup(through.token, 'entity=card-1')).statusCode).toBe(200);
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/v1/projects/${slug}/tokens/${through.record.id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(revoked.statusCode).toBe(200);
    const refused = await lookup(through.token, 'entity=card-1');
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    // The one revoked behind its back is gone too: the cache was emptied.
    expect((await lookup(behind.token, 'entity=card-1')).statusCode).toBe(401);
  });
});
