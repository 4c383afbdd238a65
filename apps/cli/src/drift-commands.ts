import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { AlertView } from '@shepherd/contracts/alerts';
import type {
  DeliveryView,
  DriftMonitorView,
  DriftReportView,
  SignalVerdict,
  WebhookView,
} from '@shepherd/contracts/drift';
import { commandClient, printer, type Out } from './command.ts';
import { fmt, jsonOption, table } from './format.ts';

/** `30m`, `2h`, `1d` before now, or an ISO timestamp as it is. */
export function sinceOption(text: string, now = Date.now()): string {
  const relative = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!relative) {
    if (Number.isNaN(Date.parse(text))) {
      throw new Error(`--since must be a duration like 30m, 2h, 1d or an ISO timestamp, not '${text}'`);
    }
    return text;
  }
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  return new Date(now - Number(relative[1]) * unit * 1000).toISOString();
}

const verdict = (signal: SignalVerdict | undefined) => {
  if (!signal) return '-';
  if (signal.outcome === 'skipped') return 'skipped';
  if (signal.metric) return `${signal.outcome} (${signal.metric.name} ${fmt(signal.metric.value)})`;
  const moved = signal.features.filter((feature) => feature.drifted).length;
  return `${signal.outcome} (${moved}/${signal.features.length})`;
};

const describeMonitor = (m: DriftMonitorView) =>
  [
    `monitor of ${m.endpoint}: ${m.state}, ${m.windowsJudged} windows judged, last ${m.lastWindowAt ?? '-'}`,
    `  window ${m.config.windowSeconds}s, baseline ${m.config.baselineWindows} windows, min ${m.config.minRows} rows; fires after ${m.config.fireAfterWindows}, resolves after ${m.config.resolveAfterWindows} windows`,
    `  policy ${m.config.policy.action} on ${m.config.policy.on.join(', ')} · workflow ${m.workflowId}`,
  ].join('\n');

export function registerDriftCommands(program: Command, out: Out): void {
  const client = () => commandClient(program);
  const print = printer(out);

  program
    .command('drift <endpoint>')
    .description('drift reports of an endpoint over time: skew, drift, prediction drift, performance')
    .option('--since <when>', 'from this long ago (30m, 2h, 1d) or this ISO time')
    .option('--feature <name>', "one feature's test, statistic, p-value and verdict per window")
    .option('--limit <n>', 'newest windows to show', '30')
    .action(async (endpoint: string, o: { since?: string; feature?: string; limit: string }) => {
      const { api, json } = client();
      const query = new URLSearchParams({ limit: o.limit });
      if (o.since) query.set('since', sinceOption(o.since));
      if (o.feature) query.set('feature', o.feature);
      const result = await api.call<{ reports: DriftReportView[] }>(
        'GET',
        `/endpoints/${encodeURIComponent(endpoint)}/drift?${query.toString()}`,
      );
      const of = (r: DriftReportView, name: SignalVerdict['signal']) =>
        r.signals.find((s) => s.signal === name);
      print(json, result, () => {
        if (o.feature) {
          return table([
            ['WINDOW END', 'SIGNAL', 'TEST', 'STATISTIC', 'P-VALUE', 'THRESHOLD', 'DRIFTED'],
            ...result.reports.flatMap((r) =>
              r.signals.flatMap((s) =>
                s.features.map((f) => [
                  r.windowEnd,
                  s.signal,
                  f.method,
                  fmt(f.statistic),
                  fmt(f.pValue),
                  f.threshold,
                  f.drifted ? 'yes' : 'no',
                ]),
              ),
            ),
          ]);
        }
        return table([
          ['WINDOW END', 'VERSION', 'PREDICTIONS', 'LABELS', 'SKEW', 'DRIFT', 'PREDICTION', 'PERFORMANCE'],
          ...result.reports.map((r) => [
            r.windowEnd,
            r.version === null ? '-' : `v${r.version}`,
            r.predictions,
            r.labels,
            verdict(of(r, 'skew')),
            verdict(of(r, 'drift')),
            verdict(of(r, 'prediction')),
            verdict(of(r, 'performance')),
          ]),
        ]);
      });
    });

  const monitors = program.command('monitors').description('drift monitors: start, stop, show');
  monitors
    .command('start <endpoint>')
    .description('watch an endpoint for drift')
    .option('--window <seconds>', 'window length in seconds', '60')
    .option('--policy <action>', 'notify | auto_rollback | auto_retrain', 'notify')
    .option('--config <json>', 'any other monitor setting, e.g. {"minRows":200,"fireAfterWindows":3}')
    .action(async (endpoint: string, o: { window: string; policy: string; config?: string }) => {
      const { api, json } = client();
      const extra = (o.config ? jsonOption('config', o.config) : {}) as Record<string, unknown>;
      const monitor = await api.call<DriftMonitorView>(
        'POST',
        `/endpoints/${encodeURIComponent(endpoint)}/monitor`,
        {
          windowSeconds: Number(o.window),
          ...extra,
          policy: { ...((extra['policy'] as object | undefined) ?? {}), action: o.policy },
        },
      );
      print(json, monitor, () => describeMonitor(monitor));
    });
  monitors
    .command('stop <endpoint>')
    .description('stop watching an endpoint (reports and alerts stay)')
    .action(async (endpoint: string) => {
      const { api, json } = client();
      const monitor = await api.call<DriftMonitorView>(
        'POST',
        `/endpoints/${encodeURIComponent(endpoint)}/monitor/stop`,
      );
      print(json, monitor, () => describeMonitor(monitor));
    });
  monitors
    .command('show <endpoint>')
    .description("an endpoint's monitor: state, settings, policy")
    .action(async (endpoint: string) => {
      const { api, json } = client();
      const monitor = await api.call<DriftMonitorView>(
        'GET',
        `/endpoints/${encodeURIComponent(endpoint)}/monitor`,
      );
      print(json, monitor, () => describeMonitor(monitor));
    });

  const webhooks = program.command('webhooks').description('where alerts are sent: add, list, remove');
  webhooks
    .command('add <name> <kind> <url>')
    .description('send alerts to a webhook; kind is slack, pagerduty or generic')
    .option('--routing-key <key>', 'PagerDuty Events v2 integration key (pagerduty only)')
    .option('--min-severity <severity>', 'info | warning | critical', 'warning')
    .action(
      async (name: string, kind: string, url: string, o: { routingKey?: string; minSeverity: string }) => {
        const { api, json } = client();
        const created = await api.call<WebhookView>('POST', '/webhooks', {
          name,
          kind,
          url,
          minSeverity: o.minSeverity,
          ...(o.routingKey ? { routingKey: o.routingKey } : {}),
        });
        print(
          json,
          created,
          () => `added webhook ${created.name} (${created.kind}, ${created.minSeverity} and up)`,
        );
      },
    );
  webhooks
    .command('list')
    .description('webhooks of the project')
    .action(async () => {
      const { api, json } = client();
      const result = await api.call<{ webhooks: WebhookView[] }>('GET', '/webhooks');
      print(json, result, () =>
        table([
          ['NAME', 'KIND', 'MIN SEVERITY', 'URL', 'CREATED BY'],
          ...result.webhooks.map((w) => [w.name, w.kind, w.minSeverity, w.url, w.createdBy]),
        ]),
      );
    });
  webhooks
    .command('remove <name>')
    .description('stop sending alerts to a webhook')
    .action(async (name: string) => {
      const { api, json } = client();
      const removed = await api.call<WebhookView>('DELETE', `/webhooks/${encodeURIComponent(name)}`);
      print(json, removed, () => `removed webhook ${removed.name}`);
    });

  // Alert actions join the `alerts` command the serving commands declare.
  const alerts =
    program.commands.find((command) => command.name() === 'alerts') ??
    program.command('alerts').description('alerts: list, acknowledge, resolve, act');
  for (const action of ['rollback', 'retrain'] as const) {
    alerts
      .command(`${action} <id>`)
      .description(
        action === 'rollback'
          ? "roll back the alert's endpoint (previous champion, or stop its rollout) and acknowledge"
          : "retrain the endpoint's champion as it was trained, gate it, canary it; and acknowledge",
      )
      .option('--reason <text>', 'why, for the audit log')
      .option('--request-id <id>', 'idempotency key (default: a new one)')
      .action(async (id: string, o: { reason?: string; requestId?: string }) => {
        const { api, json } = client();
        const result = await api.call<{ alert: AlertView; action: string; workflowId: string }>(
          'POST',
          `/alerts/${encodeURIComponent(id)}/${action}`,
          { requestId: o.requestId ?? randomUUID(), ...(o.reason ? { reason: o.reason } : {}) },
        );
        print(
          json,
          result,
          () => `${action} started: workflow ${result.workflowId}; alert ${result.alert.state}`,
        );
      });
  }
  alerts
    .command('deliveries <id>')
    .description('where an alert was sent: attempts, last status, delivered or failed')
    .action(async (id: string) => {
      const { api, json } = client();
      const result = await api.call<{ deliveries: DeliveryView[] }>(
        'GET',
        `/alerts/${encodeURIComponent(id)}/deliveries`,
      );
      print(json, result, () =>
        table([
          ['WEBHOOK', 'EVENT', 'STATE', 'ATTEMPTS', 'LAST STATUS', 'LAST ERROR'],
          ...result.deliveries.map((d) => [
            d.webhook,
            d.event,
            d.state,
            d.attempts,
            d.lastStatus,
            d.lastError,
          ]),
        ]),
      );
    });
}
