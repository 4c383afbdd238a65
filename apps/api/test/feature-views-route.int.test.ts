import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createKafka } from '@shepherd/clients/kafka';
import { registerFeatureView } from '@shepherd/features/registry';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';

/**
 * The feature-view list reads each view's lag from the real broker with the API's own Kafka client,
 * which does not retry (readiness must fail fast). Several views, whose consumer groups the broker
 * has never seen, must all get their metrics: coordinator lookups on a shared admin that overlap
 * fail without retries, so the route asks one at a time.
 */
describe('feature views over the API, with lag from Kafka', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let token: string;
  const slug = `views-${randomUUID().slice(0, 8)}`;
  const topic = `test.views.${randomUUID()}`;
  const kafka = createKafka({ brokers: testEnv().KAFKA_BROKERS, clientId: 'shepherd-api-test', retries: 0 });

  beforeAll(async () => {
    database = await openTestDatabase();
    const project = await ensureProject(database.db, slug);
    token = (
      await createToken(database.db, {
        projectId: project.id,
        name: 'viewer',
        role: 'viewer',
        createdBy: 'test',
      })
    ).token;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.disconnect();
    for (const version of [1, 2, 3]) {
      await registerFeatureView(
        { db: database.db, projectId: project.id, actor: 'test' },
        {
          name: 'cards',
          version,
          entityKey: 'card_id',
          sourceTopic: topic,
          ttlSeconds: 3600,
          features: [{ name: `amount_v${version}`, type: 'float' }],
        },
      );
    }
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused', kafka },
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.close();
  });

  it('lists every version with its lag: nothing consumed yet, so all three messages', async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/projects/${slug}/feature-views`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode, response.body).toBe(200);
    const { views } = response.json<{ views: { version: number; metrics: { totalLag: number } | null }[] }>();
    expect(views.map((view) => [view.version, view.metrics?.totalLag]).sort()).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });
});
