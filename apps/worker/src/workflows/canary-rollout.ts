import {
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type {
  AnalysisResult,
  CanaryRolloutInput,
  RollbackInput,
  RolloutOutcome,
  RolloutState,
} from '@shepherd/contracts/serving';
import type { Activities } from '../activities/index.ts';

const io = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, initialInterval: '1 second', nonRetryableErrorTypes: ['ShepherdError'] },
});

export interface Actor {
  actor: string;
}

/** Lets the rollout past a manual gate; `step` (0-based) names the gate, default the one waiting. */
export const approveSignal = defineSignal<[Actor & { step?: number }]>('approve');
export const pauseSignal = defineSignal<[Actor]>('pause');
export const resumeSignal = defineSignal<[Actor]>('resume');
/** Stops the rollout and puts all traffic back on the champion; `rollBack` marks the candidate bad. */
export const abortSignal = defineSignal<[Actor & { reason: string; rollBack?: boolean }]>('abort');
export const promoteNowSignal = defineSignal<[Actor]>('promoteNow');

export interface RolloutStatus {
  state: RolloutState;
  step: number;
  weight: number;
  lastAnalysis: AnalysisResult | null;
  reasons: string[];
}

export const rolloutStatusQuery = defineQuery<RolloutStatus>('rolloutStatus');

/**
 * Gateway statistics of a second land in the database shortly after it ends; an analysis reads
 * up to this far back from now so it never judges a half-reported second.
 */
const statsLagMs = 2_000;

/**
 * Moves traffic to a candidate step by step. During each step's bake the canary is compared with
 * the champion every analysis interval; a failed analysis sends all traffic back to the champion
 * at once. Pausing stops the bake clock; abort and promote-now act between analyses.
 */
export async function canaryRollout(input: CanaryRolloutInput): Promise<RolloutOutcome> {
  const status: RolloutStatus = { state: 'running', step: -1, weight: 0, lastAnalysis: null, reasons: [] };
  let approvedThrough = -1;
  let paused = false;
  let abort: { reason: string; rollBack: boolean } | null = null;
  let promoteNow = false;

  setHandler(rolloutStatusQuery, () => status);
  setHandler(approveSignal, ({ step }) => {
    approvedThrough = Math.max(approvedThrough, step ?? Math.max(status.step + 1, 0));
  });
  setHandler(pauseSignal, () => {
    paused = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
  });
  setHandler(abortSignal, ({ actor, reason, rollBack }) => {
    abort ??= {
      reason: `${rollBack ? 'rolled back' : 'aborted'} by ${actor}: ${reason}`,
      rollBack: !!rollBack,
    };
  });
  setHandler(promoteNowSignal, () => {
    promoteNow = true;
  });

  const ref = {
    projectId: input.projectId,
    actor: input.actor,
    workflowId: input.workflowId,
    rolloutId: input.rolloutId,
    endpointId: input.endpointId,
    candidateVersionId: input.candidateVersionId,
  };
  const intervalMs = input.analysisIntervalSeconds * 1000;
  const interrupted = () => abort !== null || promoteNow;

  const end = async (
    outcome: 'rolled_back' | 'aborted' | 'failed',
    reasons: string[],
  ): Promise<RolloutOutcome> => {
    status.state = outcome;
    status.weight = 0;
    status.reasons = reasons;
    await CancellationScope.nonCancellable(() => io.rollBackRollout({ ...ref, outcome, reasons }));
    return { state: outcome, reasons };
  };
  const stopByRequest = () => end(abort!.rollBack ? 'rolled_back' : 'aborted', [abort!.reason]);
  const setState = async (state: RolloutState) => {
    status.state = state;
    await io.recordRolloutState({ ...ref, state });
  };

  try {
    await io.beginRollout({ ...ref, mode: input.mode });
    steps: for (const [index, step] of input.steps.entries()) {
      if (step.manualApproval && approvedThrough < index && !promoteNow) {
        await setState('awaiting_approval');
        await condition(() => approvedThrough >= index || interrupted());
      }
      if (abort) return await stopByRequest();
      if (promoteNow) break;

      await io.shiftTraffic({ ...ref, step: index, weight: step.weight });
      Object.assign(status, { state: 'running', step: index, weight: step.weight });
      const stepStart = Date.now();
      const bakeMs = step.bakeSeconds * 1000;
      let baked = 0;
      while (baked < bakeMs) {
        const slice = Math.min(intervalMs, bakeMs - baked);
        const sliceStart = Date.now();
        await condition(() => interrupted() || paused, slice);
        baked += Date.now() - sliceStart;
        if (abort) return await stopByRequest();
        if (promoteNow) break steps;
        if (paused) {
          await setState('paused');
          await condition(() => !paused || interrupted());
          if (abort) return await stopByRequest();
          if (promoteNow) break steps;
          await setState('running');
          continue;
        }
        const until = Date.now() - statsLagMs;
        const since = Math.max(stepStart, until - intervalMs);
        if (until <= since) continue;
        const { analysis, reasons } = await io.analyzeRollout({
          ...ref,
          championVersionId: input.championVersionId,
          mode: input.mode,
          step: index,
          weight: step.weight,
          since: new Date(since).toISOString(),
          until: new Date(until).toISOString(),
          thresholds: input.thresholds,
          labels: input.labels,
        });
        status.lastAnalysis = analysis;
        if (analysis.verdict === 'failed') return await end('rolled_back', reasons);
      }
    }
    await io.promoteRollout(ref);
    status.state = 'succeeded';
    status.weight = 100;
    return { state: 'succeeded', reasons: [] };
  } catch (err) {
    if (isCancellation(err)) return await end('aborted', ['the rollout workflow was cancelled']);
    return await end('failed', [err instanceof Error ? err.message : String(err)]);
  }
}

/**
 * Manual rollback of an endpoint. A rollout in progress is stopped by its own workflow (which
 * owns the traffic split); otherwise the previous champion takes 100 % again.
 */
export async function rollback(input: RollbackInput & { activeRolloutWorkflowId?: string | null }) {
  if (input.activeRolloutWorkflowId) {
    await getExternalWorkflowHandle(input.activeRolloutWorkflowId).signal(abortSignal, {
      actor: input.actor,
      reason: input.reason,
      rollBack: true,
    });
    return { kind: 'rollout_stopped' as const, rolloutWorkflowId: input.activeRolloutWorkflowId };
  }
  const result = await io.rollBackEndpoint({
    projectId: input.projectId,
    actor: input.actor,
    workflowId: input.workflowId,
    endpointId: input.endpointId,
    reason: input.reason,
  });
  return { kind: 'champion_restored' as const, ...result };
}
