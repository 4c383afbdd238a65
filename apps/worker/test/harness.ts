import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { buildApp } from '../../api/src/app.ts';
import { createToken } from '@shepherd/registry/tokens';
import type { ArtifactStore } from '@shepherd/artifacts/types';
import { dataConverterFor } from '@shepherd/clients/codec';
import { createKafka } from '@shepherd/clients/kafka';
import { connectTemporal } from '@shepherd/clients/temporal';
import { generateFraudRows, type DatasetOptions } from '@shepherd/datagen/fraud';
import { writeCsv } from '@shepherd/datagen/csv';
import type { MlflowClient } from '@shepherd/mlflow/client';
import { ensureProject } from '@shepherd/registry/projects';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import {
  eventually,
  quietTemporalRuntime,
  quietLogger,
  scratchDir,
  testArtifactStore,
  testMlflow,
} from '@shepherd/testing/platform';
import type { TrainingRunView } from '@shepherd/contracts/registry';
import type { RolloutView } from '@shepherd/contracts/serving';
import type { ActivityDeps } from '../src/activities/index.ts';
import { trainerRegistry } from '../src/deps.ts';
import { loadWorkerEnv } from '../src/env.ts';
import { bundleWorkflows, connectWorker, createWorker } from '../src/worker.ts';

/**
 * The platform on the real stack, in one test process: a database of its own, the real S3 under a
 * prefix of its own, the real MLflow and Temporal, the API (driven through inject) and, unless a
 * test runs its own, a worker polling a task queue of its own.
 */
export async function startPlatform(options: { worker?: boolean; trainers?: Record<string, string[]> } = {}) {
  await quietTemporalRuntime();
  const env = testEnv();
  const database = await openTestDatabase();
  const projectSlug = `t-${randomUUID().slice(0, 8)}`;
  const project = await ensureProject(database.db, projectSlug);
  const { token: adminToken } = await createToken(database.db, {
    projectId: project.id,
    name: 'test-admin',
    role: 'admin',
    createdBy: 'test',
  });
  // A second person, for the approvals four-eyes promotion (on for a new project) asks of rollouts.
  const { token: approverToken } = await createToken(database.db, {
    projectId: project.id,
    name: 'test-approver',
    role: 'approver',
    createdBy: 'test',
  });
  const artifacts: ArtifactStore = testArtifactStore();
  const mlflow: MlflowClient = testMlflow();
  const taskQueue = `test-training-${randomUUID()}`;
  const workDir = await scratchDir('worker');
  const trainers = { ...trainerRegistry(loadWorkerEnv({})), ...options.trainers };
  // The platform's tests run with encrypted Temporal payloads, as production should.
  const payloadKeys = `test:${randomBytes(32).toString('base64')}`;
  const dataConverter = dataConverterFor(payloadKeys);
  const temporal = await connectTemporal({
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter,
  });
  const app = buildApp({
    logger: quietLogger(),
    readiness: [],
    services: {
      db: database.db,
      temporal: temporal.client,
      mlflow,
      trainingTaskQueue: taskQueue,
      mainTaskQueue: taskQueue,
    },
  });

  let worker: Worker | undefined;
  let connection: NativeConnection | undefined;
  let running: Promise<void> | undefined;
  if (options.worker !== false) {
    connection = await connectWorker(env.TEMPORAL_ADDRESS);
    const deps: ActivityDeps = {
      db: database.db,
      artifacts,
      mlflow,
      trainers,
      workDir,
      logger: quietLogger(),
      kafka: createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'test-worker' }),
    };
    worker = await createWorker(connection, {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue,
      activityDeps: deps,
      dataConverter,
      workflowBundleCode: await bundleWorkflows(),
    });
    running = worker.run();
  }

  const api = async <T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    token: string = adminToken,
  ) => {
    const response = await app.inject({
      method,
      url: `/v1/projects/${projectSlug}${path}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.json<T>() };
  };

  /**
   * Approves, as the second person, every rollout of `endpoint` waiting for approval: four eyes is
   * on for the project, so a gate-less plan stops before its final step. For polls of tests whose
   * subject is something else.
   */
  const approvePending = async (endpoint: string) => {
    const { body } = await api<{ rollouts: RolloutView[] }>('GET', `/rollouts?endpoint=${endpoint}`);
    for (const rollout of body.rollouts.filter((r) => r.state === 'awaiting_approval')) {
      const approved = await api('POST', `/rollouts/${rollout.id}/approve`, {}, approverToken);
      if (approved.status !== 202) {
        throw new Error(
          `approving rollout ${rollout.id}: ${approved.status} ${JSON.stringify(approved.body)}`,
        );
      }
    }
  };

  /** Writes generated transactions to the artifact store and returns their URI. */
  const dataset = async (name: string, data: DatasetOptions) => {
    const path = join(workDir, `${name}.csv`);
    await writeCsv(path, generateFraudRows(data));
    return (await artifacts.put(`data/${name}.csv`, { path })).uri;
  };

  const waitForTraining = (id: string, timeoutMs = 180_000) =>
    eventually(
      async () => {
        const { body } = await api<TrainingRunView>('GET', `/trainings/${id}`);
        return body.state === 'running' ? undefined : body;
      },
      { timeoutMs, what: `training ${id} to finish` },
    );

  const stop = async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await app.close();
    await temporal.connection.close();
    artifacts.close();
    await database.dispose();
  };

  /** Serves the API on a loopback port, for clients that speak HTTP (the CLI). */
  const listen = async () => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  };

  return {
    env,
    app,
    payloadKeys,
    adminToken,
    approverToken,
    listen,
    database,
    project,
    projectSlug,
    artifacts,
    mlflow,
    taskQueue,
    workDir,
    trainers,
    api,
    approvePending,
    dataset,
    waitForTraining,
    stop,
  };
}

export type Platform = Awaited<ReturnType<typeof startPlatform>>;

/** A trainer written as a shell script, for the ways trainers go wrong. */
export async function scriptTrainer(dir: string, name: string, script: string): Promise<string[]> {
  const path = join(dir, `${name}.sh`);
  await writeFile(path, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return ['/bin/sh', path];
}
