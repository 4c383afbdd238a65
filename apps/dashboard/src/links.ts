import type { RuntimeConfig } from './config.ts';

const e = encodeURIComponent;

/** MLflow's UI finds the run's experiment itself from a run-only route. */
export const mlflowRunUrl = (config: RuntimeConfig, runId: string) =>
  `${config.mlflowUiUrl}/#/runs/${e(runId)}`;

export const temporalWorkflowUrl = (config: RuntimeConfig, workflowId: string) =>
  `${config.temporalUiUrl}/namespaces/${e(config.temporalNamespace)}/workflows/${e(workflowId)}`;

/** Error-like metrics, where a smaller value is the better one. */
const lowerIsBetter = /(^|_)(rmse|mse|mae|loss|log_loss|brier|error|latency|p\d+)(_|$)/;
export const greaterIsBetter = (metric: string) => !lowerIsBetter.test(metric);

/**
 * A runbook named by its repository path (`docs/runbooks/failed-rollout.md`), under the configured
 * docs base URL; undefined when none is configured (the path is shown as text).
 */
export function runbookUrl(config: RuntimeConfig, runbook: string): string | undefined {
  if (/^https?:\/\//.test(runbook)) return runbook;
  if (!config.docsBaseUrl) return undefined;
  return `${config.docsBaseUrl}/${runbook.replace(/^\/+/, '').split('/').map(e).join('/')}`;
}
