import { ActivityFailure, continueAsNew, log, proxyActivities, sleep } from '@temporalio/workflow';
import type { ParityReport } from '@shepherd/contracts/features';
import type { Activities } from '../activities/index.ts';
import type { ParityCheckInput, ParityMonitorInput } from '../activities/parity.ts';

const io = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds', nonRetryableErrorTypes: ['ShepherdError'] },
});

/** Checks per run before continue-as-new keeps the history short. */
const checksPerRun = 50;

/** Compares a feature view's online store with its offline store as of now, once. */
export async function parityCheck(input: ParityCheckInput): Promise<ParityReport> {
  return io.checkParity(input);
}

/**
 * A view's parity monitor: a check now and every `everySeconds` after, until its row says it no
 * longer runs (stopped, or restarted under another workflow) or it is cancelled. Each report is
 * stored and alerts follow it; a check that fails is logged and the next one runs on time.
 */
export async function parityMonitor(input: ParityMonitorInput): Promise<void> {
  for (let i = 0; i < checksPerRun; i++) {
    if (i > 0) await sleep(input.everySeconds * 1000);
    try {
      if ((await io.monitoredParityCheck(input)) === null) return;
    } catch (err) {
      // One failed check (database away past the retries) must not end the monitor: the next one
      // runs on time, and the missing report shows in the view's history.
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('parity check failed; the monitor goes on', { view: input.view, error: err.cause?.message });
    }
  }
  return continueAsNew<typeof parityMonitor>(input);
}
