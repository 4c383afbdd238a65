import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';

const { echo } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/** Proves the whole path: client → server → worker → activity → back. Used by readiness and tests. */
export async function ping(message: string): Promise<{ echoed: string; worker: string }> {
  return echo(message);
}
