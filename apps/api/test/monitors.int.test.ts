import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { connectTemporal } from '@shepherd/clients/temporal';
import { registerFeatureView } from '@shepherd/features/registry';
import type { RegistryContext } from '@shepherd/registry/context';
import { createEndpoint } from '@shepherd/registry/endpoints';
import { createModel } from '@shepherd/registry/models';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { registerVersion } from '@shepherd/registry/versions';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';

/**
 * A monitor or a rollout is a row that says it runs plus the workflow that does. When Temporal
 * refuses the start, the row must not stay "running": a monitor would be returned as it is by every
 * later start and never check; a rollout would hold its endpoint with nothing to abort. No worker
 * serves this test's task queues; the workflows it starts are terminated at the end.
 */
describe('monitors and rollouts when the workflow cannot start', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let temporal: Awaited<ReturnType<typeof connectTemporal>>;
  let working: ReturnType<typeof buildApp>;
  let broken: ReturnType<typeof buildApp>;
  let refusing: ReturnType<typeof buildApp>;
  let token: string;
  const slug = `monitors-${randomUUID().slice(0, 8)}`;
  const started: string[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    const env = testEnv();
    const project = await ensureProject(database.db, slug);
    const ctx: RegistryContext = { db: database.db, projectId: project.id, actor: 'test' };
    token = (
      await createToken(database.db, { projectId: project.id, name: 'a', role: 'admin', createdBy: 'test' })
    ).token;
    await registerFeatureView(ctx, {
      name: 'cards',
      version: 1,
      entityKey: 'card_id',
      ttlSeconds: 3600,
      features: [{ name: 'amount', type: 'float' }],
    });
    const model = await createModel(ctx, { name: 'fraud', task: 'binary_classification' });
    await registerVersion(ctx, {
      modelId: model.id,
      artifactUri: 's3://bucket/fraud/1/model.onnx',
      artifactSha256: 'a'.repeat(64),
      state: 'validated',
      requestId: randomUUID(),
    });
    await createEndpoint(ctx, { name: 'fraud-live', model: 'fraud', version: 1 });
    await registerVersion(ctx, {
      modelId: model.id,
      artifactUri: 's3://bucket/fraud/2/model.onnx',
      artifactSha256: 'b'.repeat(64),
      state: 'validated',
      requestId: randomUUID(),
    });

    const connect = () =>
      connectTemporal({ address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE });
    const services = (client: typeof temporal.client) => ({
      db: database.db,
      temporal: client,
      trainingTaskQueue: `monitors-${randomUUID()}`,
      mainTaskQueue: `monitors-${randomUUID()}`,
    });
    temporal = await connect();
    working = buildApp({ logger: quietLogger(), readiness: [], services: services(temporal.client) });
    // Temporal away: a client whose connection is closed fails every call.
    const gone = await connect();
    await gone.connection.close();
    broken = buildApp({ logger: quietLogger(), readiness: [], services: services(gone.client) });
    // Temporal up, but this start refused (say, a deadline hit): the server has no such workflow.
    const refusal = async (): Promise<never> => {
      throw new Error('start refused for the test');
    };
    const refusingClient = new Client({
      connection: temporal.connection,
      namespace: env.TEMPORAL_NAMESPACE,
      interceptors: { workflow: [{ start: refusal, startWithDetails: refusal }] },
    });
    refusing = buildApp({ logger: quietLogger(), readiness: [], services: services(refusingClient) });
  });

  afterAll(async () => {
    for (const workflowId of started) {
      await temporal.client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await working?.close();
    await broken?.close();
    await refusing?.close();
    await temporal?.connection.close();
    await database?.dispose();
  });

  const call = (app: ReturnType<typeof buildApp>, method: 'GET' | 'POST', path: string, body?: object) =>
    app.inject({
      method,
      url: `/v1/projects/${slug}${path}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body ? { payload: body } : {}),
    });

  it.each([
    ['parity', '/feature-views/cards/parity-monitor', { everySeconds: 60 }],
    ['drift', '/endpoints/fraud-live/monitor', { windowSeconds: 60 }],
  ] as const)(
    '%s: a failed start leaves the monitor stopped, and the next start runs it',
    async (_kind, path, body) => {
      const refused = await call(broken, 'POST', path, body);
      expect(refused.statusCode).toBeGreaterThanOrEqual(500);
      expect((await call(working, 'GET', path)).json()).toMatchObject({ state: 'stopped' });

      const retried = await call(working, 'POST', path, body);
      expect(retried.statusCode, retried.body).toBe(202);
      const monitor = retried.json<{ state: string; workflowId: string }>();
      started.push(monitor.workflowId);
      expect(monitor.state).toBe('running');
      const described = await temporal.client.workflow.getHandle(monitor.workflowId).describe();
      expect(described.status.name).toBe('RUNNING');
    },
  );

  it('rollout: a start Temporal refused fails the rollout, so it does not hold the endpoint', async () => {
    const first = randomUUID();
    const refused = await call(refusing, 'POST', '/endpoints/fraud-live/rollouts', {
      requestId: first,
      version: 2,
    });
    expect(refused.statusCode).toBeGreaterThanOrEqual(500);
    const listed = (await call(working, 'GET', '/rollouts?endpoint=fraud-live')).json<{
      rollouts: { id: string; state: string; reasons: string[]; workflowId: string }[];
    }>().rollouts;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      state: 'failed',
      reasons: [expect.stringMatching(/could not be started/)],
    });

    // Retried under the same request id: the failed rollout, and no workflow started for it.
    const retried = await call(working, 'POST', '/endpoints/fraud-live/rollouts', {
      requestId: first,
      version: 2,
    });
    expect(retried.json()).toMatchObject({ id: listed[0]!.id, state: 'failed' });
    const again = (await call(working, 'GET', '/rollouts?endpoint=fraud-live')).json<{
      rollouts: unknown[];
    }>();
    expect(again.rollouts).toHaveLength(1);
    await expect(temporal.client.workflow.getHandle(listed[0]!.workflowId).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );

    // A new request is not refused as "a rollout in progress".
    const next = await call(working, 'POST', '/endpoints/fraud-live/rollouts', {
      requestId: randomUUID(),
      version: 2,
    });
    expect(next.statusCode, next.body).toBe(202);
    const rollout = next.json<{ state: string; workflowId: string }>();
    started.push(rollout.workflowId);
    expect(rollout.state).toBe('running');
  });
});
