/**
 * The whole platform for the orchestration, rollback and memory benchmarks: a project on the real
 * stack with real ONNX versions and online features (the gateway tests' `servingFixture`), and the
 * api, worker and gateway running as processes of their own from their real entry points, with a
 * trivial trainer registered with the worker.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createToken } from '../packages/registry/src/tokens.ts';
import { updateProjectSettings } from '../packages/registry/src/settings.ts';
import { scratchDir } from '../packages/testing/src/platform.ts';
import { fixturePath, servingFixture, type ServingFixture } from '../apps/gateway/test/harness.ts';
import { bundleWorkflows } from '../apps/worker/src/worker.ts';
import { freePort, stackEnv, startApp, type AppName, type AppProcess } from './_processes.ts';

/** Online rows `card-0 … card-(n-1)`, which the load generators cycle through. */
export const ENTITIES = 2000;

/** The trivial trainer: copies a fixture model and names its features; no fitting at all. */
export const COPY_TRAINER = 'bench-copy';

export interface Platform {
  fx: ServingFixture;
  adminToken: string;
  apiUrl: string;
  gatewayUrl: string;
  taskQueue: string;
  processes: Partial<Record<AppName, AppProcess>>;
  /** A call to the API process over HTTP, in the benchmark's project. */
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** A tiny labelled CSV in the artifact store (transaction_id, the three features, label). */
  datasetUri: string;
  /** The command the worker knows as COPY_TRAINER. */
  trainerCommand: string[];
  dispose(): Promise<void>;
}

/** Rows the fixture model can score: amount, velocity, is_foreign; the label leans on amount. */
function tinyCsv(rows: number): string {
  const lines = ['transaction_id,amount,velocity,is_foreign,label'];
  for (let i = 0; i < rows; i++) {
    const amount = (i * 37) % 900;
    lines.push(`t${i},${amount},${i % 7},${i % 3 === 0 ? 1 : 0},${amount > 600 || i % 11 === 0 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function startPlatform(log: (message: string) => void): Promise<Platform> {
  const fx = await servingFixture();
  const workDir = await scratchDir('bench-platform');
  const processes: Partial<Record<AppName, AppProcess>> = {};
  try {
    await fx.seedOnline(ENTITIES);
    // Rollouts here measure orchestration, not how long a second person takes to approve.
    await updateProjectSettings({ ...fx.ctx, actor: 'bench' }, { fourEyesPromotion: false });
    const { token: adminToken } = await createToken(fx.db, {
      projectId: fx.project.id,
      name: 'bench-admin',
      role: 'admin',
      createdBy: 'bench',
    });
    const trainer = join(workDir, 'copy-trainer.sh');
    await writeFile(
      trainer,
      [
        '#!/bin/sh',
        'set -e',
        `cp '${fixturePath('classifier_a.onnx')}' "$SHEPHERD_OUTPUT_DIR/model.onnx"`,
        `echo '{"featureNames":["amount","velocity","is_foreign"],"trainingMetrics":{}}' > "$SHEPHERD_OUTPUT_DIR/result.json"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const datasetUri = (await fx.artifacts.put(`data/bench-${randomUUID()}.csv`, Buffer.from(tinyCsv(300))))
      .uri;

    // As production workers do: a prebuilt workflow bundle, not webpack at start (whose memory
    // would otherwise be the worker's peak).
    const workflowBundle = join(workDir, 'workflow-bundle.js');
    await writeFile(workflowBundle, await bundleWorkflows());
    const taskQueue = `bench-${randomUUID()}`;
    // Encrypted payloads, as production should run them; API and worker share the key.
    const payloadKeys = `bench:${randomBytes(32).toString('base64')}`;
    const common = { ...stackEnv(), DATABASE_URL: fx.database.url, LOG_LEVEL: 'warn' };
    const [apiPort, gatewayPort] = [await freePort(), await freePort()];
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // One at a time: three processes bundling and compiling at once on two cores only take longer.
    processes.worker = await startApp(
      'worker',
      {
        ...common,
        LOG_LEVEL: 'info',
        WORKER_TASK_QUEUES: taskQueue,
        WORKFLOW_BUNDLE: workflowBundle,
        SHEPHERD_PAYLOAD_KEYS: payloadKeys,
        WORK_DIR: join(workDir, 'worker'),
        TRAINERS_JSON: JSON.stringify({ [COPY_TRAINER]: ['/bin/sh', trainer] }),
      },
      { log: /worker polling/ },
    );
    log(`worker polling ${taskQueue}`);
    processes.api = await startApp(
      'api',
      {
        ...common,
        API_PORT: String(apiPort),
        DEFAULT_PROJECT: fx.project.slug,
        TRAINING_TASK_QUEUE: taskQueue,
        MAIN_TASK_QUEUE: taskQueue,
        SHEPHERD_PAYLOAD_KEYS: payloadKeys,
        // The benchmarks drive one token far past a person's rate.
        RATE_LIMIT_PER_MINUTE: '0',
      },
      { http: `${apiUrl}/healthz` },
    );
    processes.gateway = await startApp(
      'gateway',
      {
        ...common,
        GATEWAY_PORT: String(gatewayPort),
        GATEWAY_ID: `bench-${randomUUID().slice(0, 8)}`,
        GATEWAY_PREDICTIONS_TOPIC: `bench.predictions.${randomUUID()}`,
        // The rollback benchmark's candidate misbehaves through its version tags.
        GATEWAY_FAULT_INJECTION: '1',
      },
      { http: `${gatewayUrl}/readyz` },
    );
    log(`api on ${apiPort}, gateway on ${gatewayPort}`);

    const api = async <T>(method: 'GET' | 'POST', path: string, body?: unknown) => {
      const response = await fetch(`${apiUrl}/v1/projects/${fx.project.slug}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as T };
    };

    return {
      fx,
      adminToken,
      apiUrl,
      gatewayUrl,
      taskQueue,
      processes,
      api,
      datasetUri,
      trainerCommand: ['/bin/sh', trainer],
      async dispose() {
        await Promise.all(Object.values(processes).map((p) => p.stop()));
        await fx.dispose();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(Object.values(processes).map((p) => p.stop()));
    await fx.dispose();
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls until `check` returns a value; fails naming `what` after `timeoutMs`. */
export async function until<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 120_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export const percentile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
};
