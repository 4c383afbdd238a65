import { z } from 'zod';
import type { RuntimeConfig } from './src/config.ts';

/**
 * The dashboard server's environment, parsed once when vite starts: where the control plane is
 * (proxied under the dashboard's origin) and what the browser is told in `/config.json`.
 */
const dashboardEnv = z.object({
  DASHBOARD_PORT: z.coerce.number().int().min(0).max(65_535).default(5173),
  /** The control plane, as the dashboard server reaches it. */
  SHEPHERD_API_URL: z.url().default('http://127.0.0.1:8080'),
  /** Where the browser sends API calls; empty means through the dashboard's own origin (proxied). */
  DASHBOARD_API_BASE_URL: z.union([z.literal(''), z.url()]).default(''),
  MLFLOW_UI_URL: z.url().default('http://127.0.0.1:5500'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Base URL runbook paths are linked under (e.g. the repository's blob URL); empty: shown as text. */
  DASHBOARD_DOCS_BASE_URL: z.union([z.literal(''), z.url()]).default(''),
  DASHBOARD_POLL_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(5000),
});
export type DashboardEnv = z.infer<typeof dashboardEnv>;

export function parseDashboardEnv(source: Record<string, string | undefined>): DashboardEnv {
  const parsed = dashboardEnv.safeParse(source);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  process.stderr.write(`invalid dashboard configuration: ${problems.join('; ')}\n`);
  process.exit(1);
}

export const browserConfig = (env: DashboardEnv): RuntimeConfig => ({
  apiBaseUrl: env.DASHBOARD_API_BASE_URL,
  mlflowUiUrl: env.MLFLOW_UI_URL,
  temporalUiUrl: env.TEMPORAL_UI_URL,
  temporalNamespace: env.TEMPORAL_NAMESPACE,
  docsBaseUrl: env.DASHBOARD_DOCS_BASE_URL,
  pollIntervalMs: env.DASHBOARD_POLL_INTERVAL_MS,
});
