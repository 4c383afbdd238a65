import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { Database } from '@shepherd/db/client';
import type { MlflowClient } from '@shepherd/mlflow/client';
import type { RegistryContext } from '@shepherd/registry/context';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '@shepherd/registry/tokens';
import { actorOf } from '../auth/oidc.ts';

export interface RouteDeps {
  db: Database;
  temporal: Client;
  mlflow?: MlflowClient | undefined;
  /** For ingestion metrics (consumer lag); without it the metrics are left out. */
  kafka?: Kafka | undefined;
  /** Where training workflows go; tests use a queue of their own. */
  trainingTaskQueue: string;
  /** Where rollout and rollback workflows go; default the worker's main queue. */
  mainTaskQueue?: string | undefined;
}

/** The caller's project and identity: every registry call is scoped by it and audited with it. */
export function projectContext(deps: RouteDeps, principal: Principal, request: FastifyRequest) {
  const ctx: RegistryContext = {
    db: deps.db,
    projectId: principal.project.id,
    actor: actorOf(principal),
    requestId: request.id,
  };
  return { project: principal.project, ctx };
}

/**
 * Starts a workflow whose id comes from the request (its idempotency key): a retry while the run
 * is going joins it, and one after it ended gets what `workflowIdReusePolicy` says. Either way the
 * caller gets the run's handle, not an error: a retried request answers as the first did.
 */
export async function startOnce(
  temporal: Client,
  workflowType: string,
  options: Pick<WorkflowStartOptions, 'taskQueue' | 'workflowId' | 'workflowIdReusePolicy'> & {
    args: unknown[];
  },
): Promise<WorkflowHandle> {
  try {
    return await temporal.workflow.start(workflowType, {
      ...options,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return temporal.workflow.getHandle(options.workflowId);
  }
}

/**
 * Starts the workflow of a monitor whose row was just written as running. If the start fails,
 * `undo` stops the row again: a running row with no workflow behind it would be returned as
 * running by every later start, and nothing would ever check.
 */
export async function startMonitorWorkflow(
  temporal: Client,
  workflowType: string,
  options: Parameters<typeof startOnce>[2],
  undo: () => Promise<unknown>,
): Promise<void> {
  try {
    await startOnce(temporal, workflowType, options);
  } catch (err) {
    await undo().catch(() => undefined);
    throw err;
  }
}
