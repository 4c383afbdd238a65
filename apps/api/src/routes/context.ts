import type { Client } from '@temporalio/client';
import type { Database } from '@shepherd/db/client';
import type { MlflowClient } from '@shepherd/mlflow/client';
import type { RegistryContext } from '@shepherd/registry/context';
import { getProject } from '@shepherd/registry/projects';
import type { FastifyRequest } from 'fastify';

export interface RouteDeps {
  db: Database;
  temporal: Client;
  mlflow?: MlflowClient | undefined;
  /** Where training workflows go; tests use a queue of their own. */
  trainingTaskQueue: string;
}

/** Resolves the project in the path; until authentication lands every caller acts as `api`. */
export async function projectContext(deps: RouteDeps, slug: string, request: FastifyRequest) {
  const project = await getProject(deps.db, slug);
  const ctx: RegistryContext = { db: deps.db, projectId: project.id, actor: 'api', requestId: request.id };
  return { project, ctx };
}
