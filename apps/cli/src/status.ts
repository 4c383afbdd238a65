import { readinessResponse } from '@shepherd/contracts/health';

export interface StatusRow {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Collects the health of the platform's own processes and, through the API's /readyz, of every
 * service the API depends on. An API that is down is itself a row, not a crash.
 */
export async function collectStatus(urls: {
  api: string;
  gateway: string;
  dashboard: string;
}): Promise<StatusRow[]> {
  const [api, gateway, dashboard] = await Promise.all([
    probe(new URL('/readyz', urls.api)),
    probe(new URL('/healthz', urls.gateway)),
    probe(new URL('/', urls.dashboard)),
  ]);
  const rows: StatusRow[] = [];
  if (api.reached) {
    rows.push({ name: 'api', ok: true, detail: urls.api });
    const parsed = readinessResponse.safeParse(api.body);
    if (!parsed.success)
      rows.push({ name: 'readiness', ok: false, detail: `unexpected /readyz answer (HTTP ${api.status})` });
    for (const check of parsed.success ? parsed.data.checks : []) {
      rows.push({
        name: check.name,
        ok: check.ok,
        detail: check.ok ? `${check.latencyMs} ms` : (check.detail ?? 'failed'),
      });
    }
  } else {
    rows.push({ name: 'api', ok: false, detail: `${urls.api}: ${api.error}` });
  }
  rows.push({
    name: 'gateway',
    ok: gateway.reached && gateway.status === 200,
    detail: gateway.error ?? urls.gateway,
  });
  rows.push({
    name: 'dashboard',
    ok: dashboard.reached && dashboard.status === 200,
    detail: dashboard.error ?? urls.dashboard,
  });
  return rows;
}

async function probe(
  url: URL,
): Promise<{ reached: boolean; status?: number; body?: unknown; error?: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { reached: true, status: response.status, body };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { reached: false, error: cause ?? (err instanceof Error ? err.message : String(err)) };
  }
}

export function formatStatus(rows: StatusRow[]): string {
  const width = Math.max(...rows.map((row) => row.name.length));
  return rows
    .map((row) => `${row.ok ? 'ok  ' : 'DOWN'}  ${row.name.padEnd(width)}  ${row.detail}`)
    .join('\n');
}
