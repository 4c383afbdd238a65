import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import type { ArtifactStore } from '@shepherd/artifacts/types';
import { featureOnlineRows, modelVersions, trainingSets, type ModelVersion } from '@shepherd/db/schema';
import { getFeatureView, registerFeatureView } from '@shepherd/features/registry';
import { createEndpoint, setTraffic, type TrafficChange } from '@shepherd/registry/endpoints';
import { createModel } from '@shepherd/registry/models';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { registerVersion } from '@shepherd/registry/versions';
import type { RegistryContext } from '@shepherd/registry/context';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { quietLogger, testArtifactStore } from '@shepherd/testing/platform';
import { startGateway, type Gateway, type GatewayOptions } from '../src/gateway.ts';

export const featureNames = ['amount', 'velocity', 'is_foreign'] as const;

export const fixturePath = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export type TestDatabase = Awaited<ReturnType<typeof openTestDatabase>>;

/**
 * A project on the real stack with what a gateway serves: a feature view with online rows, a
 * model whose versions are real ONNX artifacts in S3 (with a training set naming their features),
 * and API tokens. Gateways are started against it with `gateway()`, each listening on a free port.
 */
export async function servingFixture() {
  const database = await openTestDatabase();
  const project = await ensureProject(database.db, `gw-${randomUUID().slice(0, 8)}`);
  const ctx: RegistryContext = { db: database.db, projectId: project.id, actor: 'test' };
  const { token } = await createToken(database.db, {
    projectId: project.id,
    name: 'predictor',
    role: 'viewer',
    createdBy: 'test',
  });
  const artifacts: ArtifactStore = testArtifactStore();
  const stored = {
    a: await artifacts.put('models/a.onnx', await readFile(fixturePath('classifier_a.onnx'))),
    b: await artifacts.put('models/b.onnx', await readFile(fixturePath('classifier_b.onnx'))),
    regressor: await artifacts.put('models/regressor.onnx', await readFile(fixturePath('regressor.onnx'))),
  };
  const [set] = await database.db
    .insert(trainingSets)
    .values({
      projectId: project.id,
      sourceUri: 's3://test/source.csv',
      trainUri: 's3://test/train.csv',
      trainSha256: '0'.repeat(64),
      holdoutUri: 's3://test/holdout.csv',
      holdoutSha256: '0'.repeat(64),
      trainRows: 1000,
      holdoutRows: 200,
      featureNames: [...featureNames],
      manifest: {},
      requestId: randomUUID(),
    })
    .returning();
  await registerFeatureView(
    { db: database.db, projectId: project.id, actor: 'test' },
    {
      name: 'cards',
      version: 1,
      entityKey: 'card_id',
      features: [
        { name: 'amount', type: 'float' },
        { name: 'velocity', type: 'int' },
        { name: 'is_foreign', type: 'bool' },
        { name: 'country', type: 'string' },
      ],
      ttlSeconds: 86_400,
    },
  );
  const view = await getFeatureView(database.db, project.id, 'cards');

  const gateways: Gateway[] = [];
  const fixture = {
    database,
    db: database.db,
    project,
    ctx,
    token,
    artifacts,
    stored,
    trainingSetId: set!.id,
    viewId: view.id,

    /** Online rows for `card-0 … card-(n-1)`: amount 10·i, velocity i mod 7, foreign every third. */
    async seedOnline(count: number, prefix = 'card-'): Promise<void> {
      const rows = Array.from({ length: count }, (_, i) => ({
        projectId: project.id,
        viewId: view.id,
        entityId: `${prefix}${i}`,
        eventTime: new Date(),
        values: { amount: 10 * i, velocity: i % 7, is_foreign: i % 3 === 0, country: 'NL' },
        aggregates: {},
        topic: 'features.cards',
        partition: 0,
        kafkaOffset: BigInt(i),
      }));
      for (let start = 0; start < rows.length; start += 1000) {
        await database.db.insert(featureOnlineRows).values(rows.slice(start, start + 1000));
      }
    },

    async model(name: string, task: 'binary_classification' | 'regression' = 'binary_classification') {
      return createModel(ctx, { name, task });
    },

    async version(
      modelId: string,
      which: keyof typeof stored,
      options: { tags?: Record<string, string>; sha256?: string } = {},
    ): Promise<ModelVersion> {
      return registerVersion(ctx, {
        modelId,
        artifactUri: stored[which].uri,
        artifactSha256: options.sha256 ?? stored[which].sha256,
        trainingSetId: set!.id,
        state: 'validated',
        tags: options.tags ?? {},
        requestId: randomUUID(),
      });
    },

    async setTags(versionId: string, tags: Record<string, string>): Promise<void> {
      await database.db
        .update(modelVersions)
        .set({ tags, updatedAt: new Date() })
        .where(eq(modelVersions.id, versionId));
    },

    async endpoint(name: string, model: string, version: number, featureView = true) {
      return createEndpoint(ctx, {
        name,
        model,
        version,
        ...(featureView ? { featureView: { name: 'cards' } } : {}),
      });
    },

    traffic(endpointId: string, change: Omit<TrafficChange, 'reason'>) {
      return setTraffic(ctx, endpointId, { reason: 'test', ...change });
    },

    /** A gateway on the real stack, listening on a free port; closed by `dispose`. */
    async gateway(overrides: Partial<GatewayOptions> & { brokers?: string[] } = {}) {
      const { brokers, ...rest } = overrides;
      const gateway = await startGateway({
        db: database.db,
        artifacts,
        kafka: {
          brokers: brokers ?? testEnv().KAFKA_BROKERS,
          clientId: 'gateway-test',
          connectionTimeoutMs: 1000,
          retries: 1,
        },
        logger: quietLogger(),
        gatewayId: `test-${randomUUID().slice(0, 8)}`,
        logBuffer: 10_000,
        configPollMs: 250,
        faultInjection: true,
        predictionsTopic: `test.predictions.${randomUUID()}`,
        ...rest,
      });
      gateways.push(gateway);
      await gateway.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = gateway.app.server.address() as AddressInfo;
      return { gateway, baseUrl: `http://127.0.0.1:${port}` };
    },

    async dispose() {
      await Promise.all(gateways.map((gateway) => gateway.close()));
      artifacts.close();
      await database.dispose();
    },
  };
  return fixture;
}

export type ServingFixture = Awaited<ReturnType<typeof servingFixture>>;

export async function predict(baseUrl: string, endpoint: string, token: string, body: unknown) {
  const response = await fetch(`${baseUrl}/v1/endpoints/${endpoint}/predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
