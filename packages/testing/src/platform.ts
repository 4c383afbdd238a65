import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createArtifactStore } from '@shepherd/artifacts/store';
import type { ArtifactStore } from '@shepherd/artifacts/types';
import { MlflowClient } from '@shepherd/mlflow/client';
import { testEnv } from './env.ts';

/** An artifact store on the real S3 server, confined to a prefix of its own. */
export function testArtifactStore(prefix = `tests/${randomUUID()}/`): ArtifactStore {
  const env = testEnv();
  return createArtifactStore({ ...env, S3_PREFIX: prefix });
}

export function testMlflow(): MlflowClient {
  return new MlflowClient({ trackingUri: testEnv().MLFLOW_TRACKING_URI });
}

export const quietLogger = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export const scratchDir = (name: string) => mkdtemp(join(tmpdir(), `shepherd-${name}-`));

/**
 * Polls until `check` returns a value. A check that throws is tried again too: what it asks may be
 * briefly unable to answer (a Kafka group coordinator still loading failed a CI run that way). At
 * the deadline it fails, naming the last error if the last try threw.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs = 120_000, intervalMs = 500, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  if (lastError !== undefined) {
    throw new Error(
      `${what} not reached within ${timeoutMs} ms; the last check threw: ${String(lastError)}`,
      {
        cause: lastError,
      },
    );
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

let runtimeInstalled = false;

/** Temporal's worker logs every workflow failure with a stack; tests that provoke failures want quiet. */
export async function quietTemporalRuntime(): Promise<void> {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const { Runtime, DefaultLogger } = await import('@temporalio/worker');
  try {
    Runtime.install({
      logger: new DefaultLogger((process.env.TEST_LOG_LEVEL?.toUpperCase() as 'ERROR') ?? 'ERROR'),
    });
  } catch {
    // already installed by an earlier test file in this process
  }
}
