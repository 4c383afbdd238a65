import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import proto from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataConverterFor } from '@shepherd/clients/codec';
import { connectTemporal } from '@shepherd/clients/temporal';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { eventually, scratchDir } from '@shepherd/testing/platform';
import { bundleWorkflows } from '../src/worker.ts';
import { ping } from '../src/workflows/ping.ts';

const { temporal } = proto;
const repoRoot = resolve(import.meta.dirname, '../../..');
const BEFORE_KILL = 40;
const AROUND_KILL = 60;

/**
 * Two worker processes (the real entry point) poll one task queue. Both take work; then one is
 * frozen while it holds open polls, so tasks get handed to it, and killed with SIGKILL. The other
 * must finish every workflow: tasks the dead worker took time out and go to the survivor, and each
 * workflow completes once, with one recorded activity result.
 */
describe('two workers on one task queue', { timeout: 120_000 }, () => {
  const env = testEnv();
  const taskQueue = `test-scale-out-${randomUUID()}`;
  const payloadKeys = `test:${randomBytes(32).toString('base64')}`;
  const workers: ChildProcess[] = [];
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let client: Client;
  let closeClient: () => Promise<void>;
  let workDir: string;
  let bundlePath: string;

  /** main.ts in a process group of its own (tsx runs node as a child), logging to the scratch dir. */
  const startWorker = () => {
    const log = openSync(join(workDir, `worker-${workers.length + 1}.log`), 'a');
    const child = spawn(resolve(repoRoot, 'node_modules/.bin/tsx'), ['apps/worker/src/main.ts'], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
        TEMPORAL_NAMESPACE: env.TEMPORAL_NAMESPACE,
        DATABASE_URL: database.url,
        KAFKA_BROKERS: env.KAFKA_BROKERS.join(','),
        WORKER_TASK_QUEUES: taskQueue,
        WORKFLOW_BUNDLE: bundlePath,
        SHEPHERD_PAYLOAD_KEYS: payloadKeys,
        WORK_DIR: workDir,
        ARTIFACT_DIR: join(workDir, 'artifacts'),
        LOG_LEVEL: 'warn',
      },
    });
    workers.push(child);
    return child;
  };

  const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };

  /** The identities (`pid@host`) polling the queue for one kind of task. */
  const pollers = async (
    type: Parameters<Client['workflowService']['describeTaskQueue']>[0]['taskQueueType'],
  ) => {
    const response = await client.workflowService.describeTaskQueue({
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: type,
    });
    return new Set((response.pollers ?? []).map((p) => p.identity ?? ''));
  };

  /** Whether a pid belongs to a process group (the worker process's own and its tsx child). */
  const inGroup = (pid: number, group: number) => {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so split after ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === group;
    } catch {
      return false;
    }
  };

  const run = (ids: string[]) =>
    Promise.all(
      ids.map((workflowId) =>
        client.workflow.execute(ping, {
          taskQueue,
          workflowId,
          args: [workflowId],
          // A task handed to a dead worker comes back after this long instead of the default 10 s.
          workflowTaskTimeout: '2 seconds',
        }),
      ),
    );

  beforeAll(async () => {
    database = await openTestDatabase();
    workDir = await scratchDir('scale-out');
    // Bundled once here, so the two workers don't both run webpack at start.
    bundlePath = join(workDir, 'workflow-bundle.js');
    await writeFile(bundlePath, await bundleWorkflows());
    const connected = await connectTemporal({
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      dataConverter: dataConverterFor(payloadKeys),
    });
    client = connected.client;
    closeClient = () => connected.connection.close();
  }, 120_000);

  afterAll(async () => {
    for (const worker of workers) signalGroup(worker, 'SIGKILL');
    await closeClient?.();
    await database?.dispose();
  });

  it('shares the work, and one worker finishes everything after the other is killed', async () => {
    const startedAt = performance.now();
    const first = startWorker();
    const second = startWorker();
    for (const type of [
      temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    ]) {
      await eventually(async () => ((await pollers(type)).size >= 2 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: `two workers polling (logs in ${workDir})`,
      });
    }

    const pollingAt = performance.now();
    const prefix = `scale-out-${randomUUID().slice(0, 8)}`;
    const before = Array.from({ length: BEFORE_KILL }, (_, i) => `${prefix}-before-${i}`);
    const beforeResults = await run(before);
    expect(beforeResults.map((r) => r.echoed)).toEqual(before);
    const sharedBy = new Set(beforeResults.map((r) => r.worker));
    expect(sharedBy.size, 'both workers ran activities').toBe(2);

    // Frozen, the victim keeps its polls open, so the server hands it tasks it will never answer.
    const victim = first;
    signalGroup(victim, 'SIGSTOP');
    const around = Array.from({ length: AROUND_KILL }, (_, i) => `${prefix}-around-${i}`);
    const aroundResults = run(around);
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
    signalGroup(victim, 'SIGKILL');
    await new Promise((resolveExit) => victim.once('exit', resolveExit));
    const killedAt = performance.now();

    const results = await aroundResults;
    const recoveredAt = performance.now();
    expect(results.map((r) => r.echoed)).toEqual(around);
    const survivors = new Set(results.map((r) => r.worker));
    expect(survivors.size).toBe(1);
    const [survivor] = [...survivors];
    expect(
      inGroup(Number(survivor!.split(':').at(-1)), second.pid!),
      'the survivor is the second worker',
    ).toBe(true);

    // Exactly once: one completion and one recorded activity result per workflow; and some of them
    // really had been handed to the victim (a timed-out task) before the survivor took them over.
    let takenOver = 0;
    for (const workflowId of [...before, ...around]) {
      const handle = client.workflow.getHandle(workflowId);
      expect((await handle.describe()).status.name, workflowId).toBe('COMPLETED');
      const events = (await handle.fetchHistory()).events ?? [];
      const count = (key: keyof (typeof events)[number]) => events.filter((event) => event[key]).length;
      expect(count('workflowExecutionCompletedEventAttributes'), workflowId).toBe(1);
      expect(count('activityTaskCompletedEventAttributes'), workflowId).toBe(1);
      if (count('workflowTaskTimedOutEventAttributes') + count('activityTaskTimedOutEventAttributes') > 0) {
        takenOver += 1;
      }
    }
    expect(takenOver, 'workflows whose task the killed worker held').toBeGreaterThan(0);
    console.info(
      `[scale-out] ${BEFORE_KILL} workflows shared by 2 workers; ${AROUND_KILL} more around the kill, ` +
        `${takenOver} of them recovered from tasks the killed worker held; workers polling after ` +
        `${Math.round(pollingAt - startedAt)} ms, all done ${Math.round(recoveredAt - killedAt)} ms after the kill`,
    );
  });
});
