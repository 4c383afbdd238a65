import { parityFieldsSummary, type ParityReport } from '@shepherd/contracts/features';
import { parityMonitorRuns } from '@shepherd/features/parity-monitor';
import { runParityCheck } from '@shepherd/features/parity';
import { raiseAlert, resolveByDedupKey } from '@shepherd/registry/alerts';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';

export interface ParityCheckInput extends Scope {
  view: string;
  version?: number | undefined;
  sampleSize: number;
  /** Above this share of mismatching entities the check fires a parity alert. */
  maxMismatchRate: number;
}

export interface ParityMonitorInput extends ParityCheckInput {
  everySeconds: number;
}

export function parityActivities(deps: ActivityDeps) {
  /**
   * Online against offline-as-of-now for a sample of the view's entities; the report is stored
   * (canary analyses read the latest) and an alert fires or resolves with it.
   */
  const check = async (input: ParityCheckInput): Promise<ParityReport> => {
    const ctx = registryContext(deps, input);
    const report = await runParityCheck(deps.db, input.projectId, input.view, {
      sampleSize: input.sampleSize,
      ...(input.version !== undefined ? { version: input.version } : {}),
    });
    const dedupKey = `parity:${report.view}@${report.version}`;
    if (report.mismatchRate > input.maxMismatchRate) {
      const fields = parityFieldsSummary(report.byField, 5);
      await raiseAlert(ctx, {
        source: 'parity',
        kind: 'parity',
        severity: 'warning',
        dedupKey,
        subject: { kind: 'feature_view', id: `${report.view}@${report.version}` },
        summary: `${report.view} v${report.version}: ${(report.mismatchRate * 100).toFixed(1)} % of ${report.sampled} sampled entities differ online vs offline (${fields})`,
        details: { reportId: report.id, mismatchRate: report.mismatchRate, byField: report.byField },
      });
    } else {
      await resolveByDedupKey(ctx, dedupKey);
    }
    return report;
  };

  return {
    checkParity: (input: ParityCheckInput) => guarded(() => check(input)),
    /** A monitor's check; null, without checking, once the monitor is stopped or runs elsewhere. */
    monitoredParityCheck: (input: ParityMonitorInput) =>
      guarded(async (): Promise<ParityReport | null> => {
        const runs = await parityMonitorRuns(registryContext(deps, input), input.view, input.workflowId);
        return runs ? check(input) : null;
      }),
  };
}
