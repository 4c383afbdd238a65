import { resolve } from 'node:path';
import { createArtifactStore } from '@shepherd/artifacts/store';
import { createKafka } from '@shepherd/clients/kafka';
import type { Logger } from '@shepherd/core/logger';
import { createDb, type DbHandle } from '@shepherd/db/client';
import { migrate } from '@shepherd/db/migrate';
import { MlflowClient } from '@shepherd/mlflow/client';
import type { ActivityDeps } from './activities/index.ts';
import type { WorkerEnv } from './env.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

/** Trainers the worker can run, by name; requests name one and never carry a command. */
export function trainerRegistry(
  env: Pick<WorkerEnv, 'TRAINER_PYTHON' | 'TRAINERS_JSON'>,
): Record<string, string[]> {
  return {
    'reference-sklearn': [env.TRAINER_PYTHON, resolve(repoRoot, 'trainers/reference/train.py')],
    ...env.TRAINERS_JSON,
  };
}

export async function buildActivityDeps(
  env: WorkerEnv,
  logger: Logger,
): Promise<{ deps: ActivityDeps; database: DbHandle }> {
  const database = await createDb({ databaseUrl: env.DATABASE_URL, dataDir: env.PGLITE_DATA_DIR, logger });
  await migrate(database.db);
  const deps: ActivityDeps = {
    db: database.db,
    artifacts: createArtifactStore({ ...env, ARTIFACT_DIR: resolve(env.ARTIFACT_DIR) }),
    mlflow: env.MLFLOW_TRACKING_URI ? new MlflowClient({ trackingUri: env.MLFLOW_TRACKING_URI }) : undefined,
    trainers: trainerRegistry(env),
    workDir: resolve(env.WORK_DIR),
    logger,
    kafka: createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'shepherd-worker' }),
  };
  return { deps, database };
}
