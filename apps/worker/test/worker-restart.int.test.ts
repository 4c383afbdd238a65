import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import { experimentName } from '@shepherd/registry/mlflow-mirror';
import { eventually, scratchDir } from '@shepherd/testing/platform';
import { startPlatform, type Platform } from './harness.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

/** Processes whose environment says they write into `dir`: trainers started by a worker. */
function trainersWritingTo(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.includes(`SHEPHERD_OUTPUT_DIR=${dir}`)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('a worker killed during training', { timeout: 600_000 }, () => {
  let platform: Platform;
  let workDir: string;
  const workers: ChildProcess[] = [];

  /** The real worker entry point, as a process of its own, on the test's database and task queue. */
  const startWorker = () => {
    // Its output goes to a file in the scratch dir: the place to look when this test fails.
    const log = openSync(join(workDir, `worker-${workers.length + 1}.log`), 'a');
    const child = spawn(resolve(repoRoot, 'node_modules/.bin/tsx'), ['apps/worker/src/main.ts'], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        ...platform.env,
        KAFKA_BROKERS: platform.env.KAFKA_BROKERS.join(','),
        DATABASE_URL: platform.database.url,
        WORKER_TASK_QUEUES: platform.taskQueue,
        SHEPHERD_PAYLOAD_KEYS: platform.payloadKeys,
        WORK_DIR: workDir,
        LOG_LEVEL: 'warn',
      },
    });
    workers.push(child);
    return child;
  };

  beforeAll(async () => {
    platform = await startPlatform({ worker: false });
    workDir = await scratchDir('restart');
  }, 300_000);

  afterAll(async () => {
    for (const worker of workers) {
      try {
        process.kill(-worker.pid!, 'SIGTERM');
      } catch {
        // already gone (the one this test killed)
      }
    }
    await platform?.stop();
  });

  it('resumes on a restarted worker and registers exactly one version and one MLflow run', async () => {
    const model = `restart-${Date.now().toString(36)}`;
    expect((await platform.api('POST', '/models', { name: model })).status).toBe(201);
    const data = await platform.dataset('restart', { rows: 10_000, seed: 5 });
    const first = startWorker();

    const started = await platform.api<TrainingRunView>('POST', `/models/${model}/trainings`, {
      requestId: 'restart-1',
      // The trainer sleeps in small steps first, so the kill lands mid-training.
      trainer: { name: 'reference-sklearn', params: { delay_seconds: 15 } },
      data: { uri: data },
      gates: { roc_auc: { threshold: 0.7, greaterIsBetter: true } },
    });
    expect(started.status).toBe(202);
    const workflowId = started.body.workflowId;
    const attemptOne = join(workDir, workflowId, 'attempt-1', 'output');

    await eventually(async () => (trainersWritingTo(attemptOne).length > 0 ? true : undefined), {
      timeoutMs: 120_000,
      what: `the trainer to start (worker log: ${join(workDir, 'worker-1.log')})`,
    });
    process.kill(-first.pid!, 'SIGKILL');
    // The trainer dies with its worker (parent-death signal): no orphan keeps training.
    await eventually(async () => (trainersWritingTo(attemptOne).length === 0 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the orphaned trainer to exit',
    });

    startWorker();
    const run = await platform.waitForTraining(started.body.id, 300_000);
    expect(run).toMatchObject({ state: 'succeeded', version: 1 });

    const versions = await platform.api<{ versions: VersionView[] }>('GET', `/models/${model}/versions`);
    expect(versions.body.versions).toHaveLength(1);
    const experiment = await platform.mlflow.getExperimentByName(experimentName(model));
    const { runs } = await platform.mlflow.searchRuns([experiment.experiment_id], { maxResults: 10 });
    expect(runs).toHaveLength(1);
    expect(runs[0]!.info.status).toBe('FINISHED');
    expect(runs[0]!.info.run_id).toBe(versions.body.versions[0]!.mlflowRunId);
  });
});
