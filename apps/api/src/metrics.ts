import { sql } from 'drizzle-orm';
import { Registry } from '@shepherd/core/prometheus';
import type { RouteDeps } from './routes/context.ts';

const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The control plane's /metrics: requests and their durations per route, and what on-call watches
 * (rollouts in progress, open alerts), read from PostgreSQL at scrape time so every API replica
 * reports the same numbers.
 */
export function apiMetrics(services: RouteDeps | undefined) {
  const registry = new Registry();
  const requests = registry.counter(
    'shepherd_api_requests_total',
    'HTTP requests by method, route and status.',
  );
  const durations = registry.histogram(
    'shepherd_api_request_duration_seconds',
    'HTTP request duration by method and route.',
    durationBuckets,
  );
  if (services) {
    const rows = async (query: ReturnType<typeof sql>) =>
      (await services.db.execute(query)) as unknown as { rows: Record<string, unknown>[] };
    registry.gauge('shepherd_rollouts_active', 'Rollouts in progress, by project and state.', async () =>
      (
        await rows(sql`select p.slug, r.state, count(*)::int as n from rollouts r join projects p on p.id = r.project_id
          where r.state in ('running', 'awaiting_approval', 'paused') group by p.slug, r.state`)
      ).rows.map((row) => ({
        labels: { project: String(row['slug']), state: String(row['state']) },
        value: Number(row['n']),
      })),
    );
    registry.gauge('shepherd_alerts_open', 'Open alerts, by project, state and severity.', async () =>
      (
        await rows(sql`select p.slug, a.state, a.severity, count(*)::int as n from alerts a join projects p on p.id = a.project_id
          where a.state <> 'resolved' group by p.slug, a.state, a.severity`)
      ).rows.map((row) => ({
        labels: {
          project: String(row['slug']),
          state: String(row['state']),
          severity: String(row['severity']),
        },
        value: Number(row['n']),
      })),
    );
  }
  // Every request is observed: each (method, route, status) gets its series once, not per request.
  const bound = new Map<string, (seconds: number) => void>();
  return {
    observe(method: string, route: string, status: number, seconds: number) {
      const key = `${method} ${status} ${route}`;
      let record = bound.get(key);
      if (!record) {
        const counted = requests.with({ method, route, status: String(status) });
        const timed = durations.with({ method, route });
        record = (elapsed) => {
          counted.inc();
          timed.observe(elapsed);
        };
        bound.set(key, record);
      }
      record(seconds);
    },
    render: () => registry.render(),
  };
}
