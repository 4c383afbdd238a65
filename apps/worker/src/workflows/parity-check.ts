import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { ParityReport } from '@shepherd/contracts/features';
import type { Activities } from '../activities/index.ts';
import type { ParityCheckInput } from '../activities/parity.ts';

const io = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds', nonRetryableErrorTypes: ['ShepherdError'] },
});

/** Checks per run before continue-as-new keeps the history short. */
const checksPerRun = 50;

/**
 * Compares a feature view's online store with its offline store as of now. Once, or every
 * `everySeconds` for as long as it runs (cancel to stop); each report is stored and alerts follow it.
 */
export async function parityCheck(
  input: ParityCheckInput & { everySeconds?: number | undefined },
): Promise<ParityReport> {
  let report = await io.checkParity(input);
  if (!input.everySeconds) return report;
  for (let i = 1; i < checksPerRun; i++) {
    await sleep(input.everySeconds * 1000);
    report = await io.checkParity(input);
  }
  return continueAsNew<typeof parityCheck>(input);
}
