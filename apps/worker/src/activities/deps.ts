import type { ArtifactStore } from '@shepherd/artifacts/types';
import type { Logger } from '@shepherd/core/logger';
import type { Kafka } from 'kafkajs';
import type { Database } from '@shepherd/db/client';
import type { MlflowClient } from '@shepherd/mlflow/client';
import type { RegistryContext } from '@shepherd/registry/context';

/** What activities need from the outside world; the worker builds it once, tests build their own. */
export interface ActivityDeps {
  db: Database;
  artifacts: ArtifactStore;
  /** Unset when MLflow is off: runs and registry mirroring are skipped. */
  mlflow?: MlflowClient | undefined;
  /** Trainer name → command line; the request names a trainer, never a command. */
  trainers: Record<string, string[]>;
  /** Scratch space for training runs. */
  workDir: string;
  logger: Logger;
  /** Drift monitors read the prediction log and label topics; without it they cannot start. */
  kafka?: Kafka | undefined;
  workerIdentity?: string;
}

export interface Scope {
  projectId: string;
  actor: string;
  workflowId: string;
}

export const registryContext = (deps: ActivityDeps, scope: Scope): RegistryContext => ({
  db: deps.db,
  projectId: scope.projectId,
  actor: scope.actor,
  requestId: scope.workflowId,
});
