import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { AlertView } from '@shepherd/contracts/alerts';
import type { EndpointConfig, RolloutView } from '@shepherd/contracts/serving';
import { commandClient, printer, type Out } from './command.ts';
import { fmt, jsonOption, table } from './format.ts';

const split = (e: EndpointConfig) =>
  e.candidate
    ? `v${e.champion?.version ?? '-'} ${100 - (e.mode === 'shadow' ? 0 : e.candidateWeight)} % / v${e.candidate.version} ${e.mode === 'shadow' ? 'shadow' : `${e.candidateWeight} %`}`
    : `v${e.champion?.version ?? '-'} 100 %`;

function describeRollout(r: RolloutView): string {
  const lines = [
    `rollout ${r.id} on ${r.endpoint}: v${r.candidate.version} against v${r.champion?.version ?? '-'} (${r.mode}), ${r.state}`,
    `  step ${r.step + 1}/${r.steps.length} at ${r.weight} % · steps ${r.steps.map((s) => `${s.weight}%${s.manualApproval ? '(approve)' : ''}`).join(' → ')}`,
  ];
  for (const a of r.analyses.slice(-5)) {
    const failed = a.checks.filter((c) => c.outcome === 'failed').map((c) => c.name);
    lines.push(
      `  ${a.at} step ${a.step + 1} ${a.verdict}: canary ${a.canary.requests} req p99 ${fmt(a.canary.p99Ms)} ms, champion ${a.champion.requests} req p99 ${fmt(a.champion.p99Ms)} ms${failed.length ? ` (failed: ${failed.join(', ')})` : ''}`,
    );
  }
  for (const reason of r.reasons) lines.push(`  reason: ${reason}`);
  return lines.join('\n');
}

export function registerServingCommands(program: Command, out: Out): void {
  const client = () => commandClient(program);
  const print = printer(out);

  const endpoints = program.command('endpoints').description('serving endpoints and their traffic split');
  endpoints
    .command('list')
    .description('endpoints with champion, candidate and split')
    .action(async () => {
      const { api, json } = client();
      const result = await api.call<{ endpoints: EndpointConfig[] }>('GET', '/endpoints');
      print(json, result, () =>
        table([
          ['ENDPOINT', 'MODEL', 'MODE', 'SPLIT', 'REVISION'],
          ...result.endpoints.map((e) => [e.name, e.modelName, e.mode, split(e), e.revision]),
        ]),
      );
    });
  endpoints
    .command('create <name> <model>')
    .description("create an endpoint serving the model's champion (or --version)")
    .option('--version <n>', 'serve this version instead of the champion')
    .option('--feature-view <name>', 'look features up here by entity id')
    .option('--slo <json>', 'objectives, e.g. {"latencyP99Ms":20,"errorRate":0.001}')
    .action(
      async (name: string, model: string, o: { version?: string; featureView?: string; slo?: string }) => {
        const { api, json } = client();
        const created = await api.call<EndpointConfig>('POST', '/endpoints', {
          name,
          model,
          ...(o.version ? { version: Number(o.version) } : {}),
          ...(o.featureView ? { featureView: { name: o.featureView } } : {}),
          ...(o.slo ? { slo: jsonOption('slo', o.slo) } : {}),
        });
        print(json, created, () => `created endpoint ${created.name}: ${split(created)}`);
      },
    );
  endpoints
    .command('slo <endpoint>')
    .description('latency, errors, throughput and burn rates over 5 m and 1 h, and per version')
    .action(async (endpoint: string) => {
      const { api, json } = client();
      const report = await api.call<{
        fastBurn: boolean;
        windows: {
          name: string;
          requests: number;
          p50Ms: number | null;
          p99Ms: number | null;
          errorRate: number | null;
          throughputPerSecond: number;
          burnRates: { errors: number | null; latency: number | null };
        }[];
        versions: {
          version: number;
          role: string;
          requests: number;
          p99Ms: number | null;
          errorRate: number | null;
        }[];
      }>('GET', `/endpoints/${endpoint}/slo`);
      print(json, report, () =>
        [
          table([
            ['WINDOW', 'REQUESTS', 'RPS', 'P50_MS', 'P99_MS', 'ERROR_RATE', 'BURN_ERR', 'BURN_LAT'],
            ...report.windows.map((w) => [
              w.name,
              w.requests,
              w.throughputPerSecond.toFixed(1),
              fmt(w.p50Ms),
              fmt(w.p99Ms),
              fmt(w.errorRate),
              fmt(w.burnRates.errors),
              fmt(w.burnRates.latency),
            ]),
          ]),
          '',
          table([
            ['VERSION', 'ROLE', 'REQUESTS (5m)', 'P99_MS', 'ERROR_RATE'],
            ...report.versions.map((v) => [
              `v${v.version}`,
              v.role,
              v.requests,
              fmt(v.p99Ms),
              fmt(v.errorRate),
            ]),
          ]),
          report.fastBurn
            ? '\nFAST BURN: the error budget is being spent 14.4× too fast (runbook docs/runbooks/slo-burn.md)'
            : '',
        ].join('\n'),
      );
    });

  const rollouts = program.command('rollouts').description('canary and shadow rollouts');
  rollouts
    .command('start <endpoint> <version>')
    .description('roll a validated version out on an endpoint (default steps 5 → 25 → 50 → 100 %)')
    .option('--request-id <id>', 'idempotency key (default: a new one)')
    .option('--mode <mode>', 'canary or shadow', 'canary')
    .option('--steps <json>', 'e.g. [{"weight":10,"bakeSeconds":60},{"weight":100,"bakeSeconds":0}]')
    .option('--interval <seconds>', 'analysis interval', '60')
    .option('--thresholds <json>', 'analysis thresholds, e.g. {"maxLatencyP99Ratio":1.3}')
    .action(
      async (
        endpoint: string,
        version: string,
        o: { requestId?: string; mode: string; steps?: string; interval: string; thresholds?: string },
      ) => {
        const { api, json } = client();
        const rollout = await api.call<RolloutView>('POST', `/endpoints/${endpoint}/rollouts`, {
          requestId: o.requestId ?? randomUUID(),
          version: Number(version),
          mode: o.mode,
          analysisIntervalSeconds: Number(o.interval),
          ...(o.steps ? { steps: jsonOption('steps', o.steps) } : {}),
          ...(o.thresholds ? { thresholds: jsonOption('thresholds', o.thresholds) } : {}),
        });
        print(json, rollout, () => describeRollout(rollout));
      },
    );
  rollouts
    .command('list')
    .description('rollouts, newest first')
    .option('--endpoint <name>')
    .option('--active', 'only rollouts in progress')
    .action(async (o: { endpoint?: string; active?: boolean }) => {
      const { api, json } = client();
      const query = new URLSearchParams();
      if (o.endpoint) query.set('endpoint', o.endpoint);
      if (o.active) query.set('active', 'true');
      const result = await api.call<{ rollouts: RolloutView[] }>('GET', `/rollouts?${query}`);
      print(json, result, () =>
        table([
          ['ID', 'ENDPOINT', 'CANDIDATE', 'STATE', 'STEP', 'WEIGHT', 'STARTED'],
          ...result.rollouts.map((r) => [
            r.id,
            r.endpoint,
            `v${r.candidate.version}`,
            r.state,
            `${r.step + 1}/${r.steps.length}`,
            `${r.weight} %`,
            r.createdAt,
          ]),
        ]),
      );
    });
  rollouts
    .command('show <id>')
    .description('a rollout with its latest analyses')
    .action(async (id: string) => {
      const { api, json } = client();
      const rollout = await api.call<RolloutView>('GET', `/rollouts/${id}`);
      print(json, rollout, () => describeRollout(rollout));
    });
  for (const action of ['approve', 'pause', 'resume', 'abort', 'promote'] as const) {
    rollouts
      .command(`${action} <id>`)
      .description(
        {
          approve: 'approve the manual gate the rollout waits at',
          pause: 'pause (the bake clock stops)',
          resume: 'resume a paused rollout',
          abort: 'abort: all traffic back to the champion',
          promote: 'promote the candidate now',
        }[action],
      )
      .option('--reason <text>')
      .action(async (id: string, o: { reason?: string }) => {
        const { api, json } = client();
        const rollout = await api.call<RolloutView>(
          'POST',
          `/rollouts/${id}/${action}`,
          o.reason ? { reason: o.reason } : undefined,
        );
        print(json, rollout, () => `${action} sent to rollout ${rollout.id} (${rollout.state})`);
      });
  }

  program
    .command('rollback <endpoint>')
    .description('stop the rollout in progress, or put the previous champion back at 100 %')
    .requiredOption('--reason <text>', 'why, for the audit log and the alert')
    .option('--request-id <id>', 'idempotency key (default: a new one)')
    .action(async (endpoint: string, o: { reason: string; requestId?: string }) => {
      const { api, json } = client();
      const result = await api.call<{ kind: string; from?: number; to?: number }>(
        'POST',
        `/endpoints/${endpoint}/rollback`,
        { requestId: o.requestId ?? randomUUID(), reason: o.reason },
      );
      print(json, result, () =>
        result.kind === 'rollout_stopped'
          ? `rollout on ${endpoint} stopped: all traffic is back on the champion`
          : `${endpoint}: rolled back from v${result.from} to v${result.to}`,
      );
    });

  const alerts = program.command('alerts').description('alerts: list, acknowledge, resolve');
  alerts
    .command('list')
    .description('alerts, newest first')
    .option('--all', 'include resolved alerts')
    .action(async (o: { all?: boolean }) => {
      const { api, json } = client();
      const query = o.all ? '' : '?state=firing&state=acknowledged';
      const result = await api.call<{ alerts: AlertView[] }>('GET', `/alerts${query}`);
      print(json, result, () =>
        table([
          ['ID', 'SEVERITY', 'STATE', 'KIND', 'FIRED', 'SUMMARY'],
          ...result.alerts.map((a) => [a.id, a.severity, a.state, a.kind, a.firedAt, a.summary]),
        ]),
      );
    });
  for (const action of ['ack', 'resolve'] as const) {
    alerts
      .command(`${action} <id>`)
      .description(action === 'ack' ? 'acknowledge: you are on it' : 'resolve: it is over')
      .option('--note <text>')
      .action(async (id: string, o: { note?: string }) => {
        const { api, json } = client();
        const alert = await api.call<AlertView>(
          'POST',
          `/alerts/${id}/${action}`,
          o.note ? { note: o.note } : undefined,
        );
        print(json, alert, () => `alert ${alert.id}: ${alert.state} (runbook ${alert.runbook})`);
      });
  }
}
