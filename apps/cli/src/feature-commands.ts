import type { Command } from 'commander';
import {
  parityFieldsSummary,
  type FeatureViewSummary,
  type OnlineFeaturesResponse,
  type ParityMonitorView,
  type ParityReport,
} from '@shepherd/contracts/features';
import { commandClient, printer, type Out } from './command.ts';
import { table } from './format.ts';

/** A whole number option, or a message naming the option. */
export function integerOption(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number, not '${text}'`);
  return Number(text);
}

const describeReport = (r: ParityReport) => {
  const fields = parityFieldsSummary(r.byField);
  return (
    `${r.view} v${r.version} at ${r.checkedAt}: ${r.mismatchedEntities} of ${r.sampled} sampled entities differ` +
    ` (${(r.mismatchRate * 100).toFixed(1)} %)${fields ? `; by field: ${fields}` : ''}`
  );
};

const describeMonitor = (m: ParityMonitorView) =>
  [
    `parity monitor of ${m.view}: ${m.state}, every ${m.config.everySeconds} s, ${m.config.sampleSize} entities, ` +
      `alert above ${m.config.maxMismatchRate}${m.config.version === undefined ? '' : `, version ${m.config.version}`}`,
    `  started by ${m.startedBy} · workflow ${m.workflowId}${m.stoppedAt ? ` · stopped ${m.stoppedAt}` : ''}`,
    `  latest report: ${m.latestReport ? describeReport(m.latestReport) : 'none yet'}`,
  ].join('\n');

export function registerFeatureCommands(program: Command, out: Out): void {
  const client = () => commandClient(program);
  const print = printer(out);
  const path = (view: string, rest = '') => `/feature-views/${encodeURIComponent(view)}/${rest}`;

  const features = program.command('features').description('feature views: ingestion, online values');
  features
    .command('list')
    .description('feature views with events ingested, DLQ count, consumer lag and the newest event')
    .action(async () => {
      const { api, json } = client();
      const result = await api.call<{ views: FeatureViewSummary[] }>('GET', '/feature-views');
      print(json, result, () =>
        table([
          ['VIEW', 'VERSION', 'TOPIC', 'FEATURES', 'INGESTED', 'DLQ', 'LAG', 'NEWEST EVENT'],
          ...result.views.map((v) => [
            v.name,
            `v${v.version}`,
            v.sourceTopic,
            v.features.length,
            v.metrics?.eventsIngested ?? '-',
            v.metrics?.dlqCount ?? '-',
            v.metrics?.totalLag ?? '-',
            v.metrics?.lastEventTime ?? '-',
          ]),
        ]),
      );
    });
  features
    .command('get <view> <entity...>')
    .description("entities' latest feature values from the online store, with their age")
    .option('--view-version <n>', 'read this version (default: the highest)')
    .action(async (view: string, entities: string[], o: { viewVersion?: string }) => {
      const { api, json } = client();
      const query = new URLSearchParams(entities.map((entity): [string, string] => ['entity', entity]));
      if (o.viewVersion !== undefined)
        query.set('version', String(integerOption('view-version', o.viewVersion)));
      const result = await api.call<OnlineFeaturesResponse>('GET', `${path(view, 'online')}?${query}`);
      print(json, result, () =>
        result.vectors
          .map((v) =>
            !v.found
              ? `${v.entityId}: not in the online store`
              : [
                  `${v.entityId}: event time ${v.eventTime}, ${Math.round(v.ageSeconds ?? 0)} s old${v.stale ? ' (stale: past the TTL)' : ''}`,
                  ...Object.entries({ ...v.values, ...v.aggregates }).map(
                    ([name, value]) => `  ${name} = ${value}`,
                  ),
                ].join('\n'),
          )
          .join('\n'),
      );
    });

  const parity = program
    .command('parity')
    .description(
      'online against offline feature stores: check now, reports, a monitor that checks on a schedule',
    );
  parity
    .command('check <view>')
    .description('compare the online store with offline-as-of-now for a sample of entities, now')
    .option('--sample <n>', 'entities to compare', '1000')
    .action(async (view: string, o: { sample: string }) => {
      const { api, json } = client();
      const report = await api.call<ParityReport>('POST', path(view, 'parity-checks'), {
        sampleSize: integerOption('sample', o.sample),
      });
      print(json, report, () => describeReport(report));
    });
  parity
    .command('reports <view>')
    .description("a view's parity reports, newest first")
    .option('--limit <n>', 'reports to show', '20')
    .action(async (view: string, o: { limit: string }) => {
      const { api, json } = client();
      const result = await api.call<{ reports: ParityReport[] }>(
        'GET',
        `${path(view, 'parity-checks')}?limit=${integerOption('limit', o.limit)}`,
      );
      print(json, result, () =>
        table([
          ['CHECKED AT', 'VERSION', 'SAMPLED', 'MISMATCHED', 'RATE'],
          ...result.reports.map((r) => [
            r.checkedAt,
            `v${r.version}`,
            r.sampled,
            r.mismatchedEntities,
            r.mismatchRate.toFixed(4),
          ]),
        ]),
      );
    });
  parity
    .command('start <view>')
    .description('check the view now and every --every seconds after (a running monitor is shown as it is)')
    .option('--every <seconds>', 'seconds between checks', '900')
    .option('--sample <n>', 'entities per check', '1000')
    .option(
      '--max-mismatch-rate <rate>',
      'share of differing entities above which a parity alert fires',
      '0.01',
    )
    .option('--view-version <n>', 'check this version (default: the highest at each check)')
    .action(
      async (
        view: string,
        o: { every: string; sample: string; maxMismatchRate: string; viewVersion?: string },
      ) => {
        const { api, json } = client();
        const rate = Number(o.maxMismatchRate);
        if (o.maxMismatchRate.trim() === '' || !Number.isFinite(rate)) {
          throw new Error(`--max-mismatch-rate must be a number from 0 to 1, not '${o.maxMismatchRate}'`);
        }
        const monitor = await api.call<ParityMonitorView>('POST', path(view, 'parity-monitor'), {
          everySeconds: integerOption('every', o.every),
          sampleSize: integerOption('sample', o.sample),
          maxMismatchRate: rate,
          ...(o.viewVersion === undefined ? {} : { version: integerOption('view-version', o.viewVersion) }),
        });
        print(json, monitor, () => describeMonitor(monitor));
      },
    );
  parity
    .command('stop <view>')
    .description("stop the view's parity monitor (its reports and alerts stay)")
    .action(async (view: string) => {
      const { api, json } = client();
      const monitor = await api.call<ParityMonitorView>('POST', path(view, 'parity-monitor/stop'));
      print(json, monitor, () => describeMonitor(monitor));
    });
  parity
    .command('show <view>')
    .description("the view's parity monitor: state, settings, latest report")
    .action(async (view: string) => {
      const { api, json } = client();
      const monitor = await api.call<ParityMonitorView>('GET', path(view, 'parity-monitor'));
      print(json, monitor, () => describeMonitor(monitor));
    });
}
