import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { AnalysisResult, CanaryRolloutInput, RolloutStep } from '@shepherd/contracts/serving';
import { analysisThresholds } from '@shepherd/contracts/serving';
import { quietTemporalRuntime } from '@shepherd/testing/platform';
import type { Activities } from '../src/activities/index.ts';
import { bundleWorkflows } from '../src/worker.ts';
import {
  abortSignal,
  approveSignal,
  canaryRollout,
  pauseSignal,
  promoteNowSignal,
  resumeSignal,
  rolloutStatusQuery,
} from '../src/workflows/canary-rollout.ts';

/**
 * The rollout's control flow under Temporal's time-skipping test server: bake times of minutes
 * pass in milliseconds. Activities are recorded instead of run; the real ones (database,
 * gateways) are exercised end to end in apps/gateway's rollout tests.
 */

type Verdict = AnalysisResult['verdict'];

interface Recorder {
  calls: { name: string; input: Record<string, unknown> }[];
  verdicts: Verdict[];
}

function fakeActivities(recorder: Recorder): Partial<Activities> {
  const record = (name: string) => async (input: object) => {
    recorder.calls.push({ name, input: { ...input } });
  };
  return {
    beginRollout: record('beginRollout'),
    shiftTraffic: record('shiftTraffic'),
    recordRolloutState: record('recordRolloutState'),
    rollBackRollout: record('rollBackRollout'),
    promoteRollout: record('promoteRollout'),
    analyzeRollout: async (input) => {
      recorder.calls.push({ name: 'analyzeRollout', input: { ...input } });
      const verdict = recorder.verdicts.shift() ?? 'passed';
      const analysis: AnalysisResult = {
        step: input.step,
        weight: input.weight,
        at: input.until,
        windowSeconds: 60,
        verdict,
        canary: { requests: 100, errorRate: verdict === 'failed' ? 0.3 : 0, p99Ms: 2 },
        champion: { requests: 900, errorRate: 0, p99Ms: 2 },
        checks: [],
      };
      return { analysis, reasons: verdict === 'failed' ? ['errors: error rate 30 %'] : [] };
    },
  } as Partial<Activities>;
}

describe('canaryRollout workflow (time skipping)', () => {
  let env: TestWorkflowEnvironment;
  let bundle: string;

  beforeAll(async () => {
    await quietTemporalRuntime();
    const cache = process.env.SHEPHERD_CACHE_DIR ?? join(homedir(), '.cache', 'shepherd');
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: {
        executable: { type: 'existing-path', path: join(cache, 'venv', 'bin', 'temporal-test-server') },
      },
    });
    bundle = await bundleWorkflows();
  });

  afterAll(async () => {
    await env?.teardown();
  });

  const steps = (...weights: number[]): RolloutStep[] =>
    weights.map((weight) => ({ weight, bakeSeconds: weight === 100 ? 0 : 600, manualApproval: false }));

  const input = (over: Partial<CanaryRolloutInput> = {}): CanaryRolloutInput => ({
    projectId: 'p',
    actor: 'test',
    workflowId: `rollout-${randomUUID()}`,
    rolloutId: randomUUID(),
    endpointId: randomUUID(),
    candidateVersionId: randomUUID(),
    championVersionId: randomUUID(),
    mode: 'canary',
    steps: steps(5, 25, 50, 100),
    thresholds: analysisThresholds.parse({}),
    analysisIntervalSeconds: 60,
    ...over,
  });

  async function run<T>(recorder: Recorder, body: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = `rollout-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { code: bundle },
      activities: fakeActivities(recorder),
    });
    return worker.runUntil(body(taskQueue));
  }

  const names = (recorder: Recorder) => recorder.calls.map((call) => call.name);

  it('walks every step, analysing every interval of each bake, then promotes', async () => {
    const recorder: Recorder = { calls: [], verdicts: [] };
    const args = input();
    const outcome = await run(recorder, (taskQueue) =>
      env.client.workflow.execute(canaryRollout, { taskQueue, workflowId: args.workflowId, args: [args] }),
    );
    expect(outcome).toEqual({ state: 'succeeded', reasons: [] });
    const shifts = recorder.calls.filter((c) => c.name === 'shiftTraffic').map((c) => c.input['weight']);
    expect(shifts).toEqual([5, 25, 50, 100]);
    // 600 s bake / 60 s interval = 10 analyses on each of the three baking steps; none at 100 %.
    expect(names(recorder).filter((n) => n === 'analyzeRollout')).toHaveLength(30);
    expect(names(recorder).at(-1)).toBe('promoteRollout');
    expect(names(recorder)).not.toContain('rollBackRollout');
  });

  it('rolls back at the first failed analysis and never promotes', async () => {
    const recorder: Recorder = { calls: [], verdicts: ['passed', 'passed', 'failed'] };
    const args = input();
    const outcome = await run(recorder, (taskQueue) =>
      env.client.workflow.execute(canaryRollout, { taskQueue, workflowId: args.workflowId, args: [args] }),
    );
    expect(outcome.state).toBe('rolled_back');
    expect(outcome.reasons).toEqual(['errors: error rate 30 %']);
    const rollback = recorder.calls.find((c) => c.name === 'rollBackRollout');
    expect(rollback?.input).toMatchObject({ outcome: 'rolled_back', reasons: ['errors: error rate 30 %'] });
    expect(names(recorder).filter((n) => n === 'analyzeRollout')).toHaveLength(3);
    expect(names(recorder)).not.toContain('promoteRollout');
    // Still on the first step (5 %) when it failed: no further traffic shift happened.
    expect(recorder.calls.filter((c) => c.name === 'shiftTraffic')).toHaveLength(1);
  });

  it('waits at a manual gate until approved, and pausing stops the bake clock', async () => {
    const recorder: Recorder = { calls: [], verdicts: [] };
    const args = input({
      steps: [
        { weight: 10, bakeSeconds: 120, manualApproval: false },
        { weight: 50, bakeSeconds: 120, manualApproval: true },
        { weight: 100, bakeSeconds: 0, manualApproval: false },
      ],
    });
    await run(recorder, async (taskQueue) => {
      const handle = await env.client.workflow.start(canaryRollout, {
        taskQueue,
        workflowId: args.workflowId,
        args: [args],
      });
      await handle.signal(pauseSignal, { actor: 'oncall' });
      // Hours pass while paused: no analysis, no step.
      await env.sleep('3 hours');
      expect((await handle.query(rolloutStatusQuery)).state).toBe('paused');
      const analysesWhilePaused = names(recorder).filter((n) => n === 'analyzeRollout').length;
      expect(analysesWhilePaused).toBeLessThanOrEqual(1);
      await handle.signal(resumeSignal, { actor: 'oncall' });
      await env.sleep('10 minutes');
      const waiting = await handle.query(rolloutStatusQuery);
      expect(waiting.state).toBe('awaiting_approval');
      expect(recorder.calls.filter((c) => c.name === 'shiftTraffic')).toHaveLength(1);
      await handle.signal(approveSignal, { actor: 'reviewer' });
      expect(await handle.result()).toEqual({ state: 'succeeded', reasons: [] });
    });
    const shifts = recorder.calls.filter((c) => c.name === 'shiftTraffic').map((c) => c.input['weight']);
    expect(shifts).toEqual([10, 50, 100]);
    const states = recorder.calls.filter((c) => c.name === 'recordRolloutState').map((c) => c.input['state']);
    expect(states).toEqual(['paused', 'running', 'awaiting_approval']);
  });

  it('abort puts traffic back at once; promote-now skips the remaining steps', async () => {
    const aborted: Recorder = { calls: [], verdicts: [] };
    const a = input();
    const abortOutcome = await run(aborted, async (taskQueue) => {
      const handle = await env.client.workflow.start(canaryRollout, {
        taskQueue,
        workflowId: a.workflowId,
        args: [a],
      });
      await env.sleep('2 minutes');
      await handle.signal(abortSignal, { actor: 'oncall', reason: 'customer complaints' });
      return handle.result();
    });
    expect(abortOutcome).toEqual({ state: 'aborted', reasons: ['aborted by oncall: customer complaints'] });
    expect(aborted.calls.find((c) => c.name === 'rollBackRollout')?.input).toMatchObject({
      outcome: 'aborted',
    });

    const promoted: Recorder = { calls: [], verdicts: [] };
    const p = input();
    const promoteOutcome = await run(promoted, async (taskQueue) => {
      const handle = await env.client.workflow.start(canaryRollout, {
        taskQueue,
        workflowId: p.workflowId,
        args: [p],
      });
      await env.sleep('2 minutes');
      await handle.signal(promoteNowSignal, { actor: 'lead' });
      return handle.result();
    });
    expect(promoteOutcome.state).toBe('succeeded');
    expect(promoted.calls.filter((c) => c.name === 'shiftTraffic').map((c) => c.input['weight'])).toEqual([
      5,
    ]);
    expect(names(promoted).at(-1)).toBe('promoteRollout');
  });
});
