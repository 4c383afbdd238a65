import { useState } from 'react';
import type { EndpointConfig, SeriesPoint, SloSeriesView, SloView } from '../api.ts';
import { TimeChart } from '../charts.tsx';
import { useDashboard } from '../context.tsx';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Badge, Empty, ErrorState, Resource, Time, formatNumber } from '../ui.tsx';
import { EndpointSplit, SloStatus, ms, percent } from './serving.tsx';

const burn = (rate: number | null) =>
  rate === null ? (
    <span className="muted">—</span>
  ) : (
    <span className={rate > 1 ? 'delta-bad' : undefined}>{formatNumber(rate, 2)}</span>
  );

function SloTables({ slo }: { slo: SloView }) {
  return (
    <>
      <table className="slo-windows">
        <caption className="visually-hidden">Service levels of {slo.endpoint} per window</caption>
        <thead>
          <tr>
            <th scope="col">Window</th>
            <th scope="col">Requests</th>
            <th scope="col">p50 / p95 / p99</th>
            <th scope="col">Error rate</th>
            <th scope="col">Availability</th>
            <th scope="col">Throughput</th>
            <th scope="col">Burn: errors / availability / latency</th>
          </tr>
        </thead>
        <tbody>
          {slo.windows.map((window) => (
            <tr key={window.name}>
              <th scope="row">{window.name}</th>
              <td className="number">{window.requests.toLocaleString()}</td>
              <td className="number">
                {ms(window.p50Ms)} / {ms(window.p95Ms)} /{' '}
                <span className={window.met.latencyP99 ? undefined : 'delta-bad'}>{ms(window.p99Ms)}</span>
              </td>
              <td className="number">
                <span className={window.met.errors ? undefined : 'delta-bad'}>
                  {percent(window.errorRate)}
                </span>
              </td>
              <td className="number">
                <span className={window.met.availability ? undefined : 'delta-bad'}>
                  {percent(window.availability)}
                </span>
              </td>
              <td className="number">{formatNumber(window.throughputPerSecond, 2)}/s</td>
              <td className="number">
                {burn(window.burnRates.errors)} / {burn(window.burnRates.availability)} /{' '}
                {burn(window.burnRates.latency)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {slo.versions.length > 0 && (
        <table className="nested">
          <caption className="visually-hidden">Last minutes per serving version</caption>
          <thead>
            <tr>
              <th scope="col">Version (last 5 min)</th>
              <th scope="col">Requests</th>
              <th scope="col">p99</th>
              <th scope="col">Error rate</th>
              <th scope="col">Throughput</th>
            </tr>
          </thead>
          <tbody>
            {slo.versions.map((version) => (
              <tr key={version.versionId}>
                <th scope="row">
                  v{version.version}{' '}
                  <Badge tone={version.role === 'champion' ? 'good' : 'warn'}>{version.role}</Badge>
                </th>
                <td className="number">{version.requests.toLocaleString()}</td>
                <td className="number">{ms(version.p99Ms)}</td>
                <td className="number">{percent(version.errorRate)}</td>
                <td className="number">{formatNumber(version.throughputPerSecond, 2)}/s</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Windows offered over time, each with a step that gives 60–90 points. */
export const seriesWindows = [
  { window: '15m', step: '15s', label: '15 min' },
  { window: '1h', step: '1m', label: '1 hour' },
  { window: '6h', step: '5m', label: '6 hours' },
  { window: '24h', step: '15m', label: '24 hours' },
  { window: '7d', step: '2h', label: '7 days' },
] as const;
type SeriesWindow = (typeof seriesWindows)[number]['window'];

const fastBurn = 14.4;
const axisMs = (value: number) =>
  value >= 1000 ? `${formatNumber(value / 1000, 2)} s` : `${formatNumber(value, 2)} ms`;
const axisPercent = (value: number) => `${formatNumber(value * 100, 3)}%`;
const axisRate = (value: number) => `${formatNumber(value, 3)}/s`;
const axisBurn = (value: number) => `${formatNumber(value, 3)}×`;

/** Which series the charts show: the endpoint's traffic, or one version in one role. */
function seriesChoices(series: SloSeriesView) {
  return [
    { key: 'endpoint', label: 'Endpoint (champion + candidate)', points: series.points },
    ...series.versions.map((version) => ({
      key: `${version.versionId}:${version.role}`,
      label: `v${version.version ?? '?'} ${version.role}`,
      points: version.points,
    })),
  ];
}

function SloCharts({ endpoint, window }: { endpoint: EndpointConfig; window: SeriesWindow }) {
  const { api } = useDashboard();
  const step = seriesWindows.find((choice) => choice.window === window)?.step;
  const data = useLive(`slo-series:${endpoint.name}:${window}`, () =>
    api.sloSeries(endpoint.name, window, step),
  );
  const [picked, setPicked] = useState('endpoint');
  return (
    <Resource live={data} what="SLO series">
      {(series) => {
        const choices = seriesChoices(series);
        const choice = choices.find((c) => c.key === picked) ?? choices[0]!;
        const points: SeriesPoint[] = choice.points;
        const times = points.map((point) => point.at);
        const pick = (read: (point: SeriesPoint) => number | null) => points.map(read);
        const requests = points.reduce((sum, point) => sum + point.requests, 0);
        return (
          <section className="slo-charts" data-testid="slo-charts" aria-label={`${endpoint.name} over time`}>
            <div className="chart-controls">
              <label>
                Series{' '}
                <select value={choice.key} onChange={(event) => setPicked(event.target.value)}>
                  {choices.map((c) => (
                    <option key={c.key} value={c.key}>
                      {c.label}
                    </option>
                  ))}
                </select>
              </label>
              <span className="small muted" data-testid="slo-series-summary">
                {requests.toLocaleString()} requests · {points.length} points of {series.stepSeconds} s ·{' '}
                <Time iso={series.since} /> – <Time iso={series.until} />
              </span>
            </div>
            <div className="chart-grid-2">
              <TimeChart
                testId="chart-latency"
                title="Latency"
                times={times}
                format={axisMs}
                series={[
                  { name: 'p50', values: pick((p) => p.p50Ms), tone: 'c1' },
                  { name: 'p95', values: pick((p) => p.p95Ms), tone: 'c2' },
                  { name: 'p99', values: pick((p) => p.p99Ms), tone: 'c3' },
                ]}
                lines={[
                  {
                    value: series.objectives.latencyP99Ms,
                    label: `p99 objective ${series.objectives.latencyP99Ms} ms`,
                  },
                ]}
              />
              <TimeChart
                testId="chart-errors"
                title="Error rate"
                times={times}
                format={axisPercent}
                series={[{ name: 'error rate', values: pick((p) => p.errorRate), tone: 'c3' }]}
                lines={[
                  {
                    value: series.objectives.errorRate,
                    label: `objective ${percent(series.objectives.errorRate)}`,
                  },
                ]}
              />
              <TimeChart
                testId="chart-throughput"
                title="Throughput"
                times={times}
                format={axisRate}
                series={[{ name: 'requests/s', values: pick((p) => p.throughputPerSecond), tone: 'c1' }]}
              />
              <TimeChart
                testId="chart-burn"
                title="Error-budget burn rate (per bucket)"
                times={times}
                format={axisBurn}
                series={[
                  { name: 'errors', values: pick((p) => p.burnRates.errors), tone: 'c3' },
                  { name: 'latency', values: pick((p) => p.burnRates.latency), tone: 'c2' },
                  { name: 'availability', values: pick((p) => p.burnRates.availability), tone: 'c4' },
                ]}
                lines={[
                  { value: 1, label: 'budget pace 1×', tone: 'muted' },
                  { value: fastBurn, label: `fast burn ${fastBurn}×` },
                ]}
              />
            </div>
          </section>
        );
      }}
    </Resource>
  );
}

function WindowPicker({ value, onChange }: { value: SeriesWindow; onChange: (next: SeriesWindow) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Time window">
      {seriesWindows.map((choice) => (
        <button
          key={choice.window}
          type="button"
          aria-pressed={choice.window === value}
          onClick={() => onChange(choice.window)}
        >
          {choice.label}
        </button>
      ))}
    </div>
  );
}

/** Every endpoint's SLOs, or one endpoint's (`#/slos/<name>`, where alerts about it link). */
export function SlosPage({ endpoint: only }: { endpoint?: string | undefined }) {
  const { api } = useDashboard();
  const [window, setWindow] = useState<SeriesWindow>('1h');
  const data = useLive(
    `slos:${only ?? '*'}`,
    async () => {
      const all = await api.listEndpoints();
      const endpoints = only === undefined ? all : all.filter((endpoint) => endpoint.name === only);
      const slos = await Promise.allSettled(endpoints.map((endpoint) => api.endpointSlo(endpoint.name)));
      return endpoints.map((endpoint, i) => ({ endpoint, slo: slos[i]! }));
    },
    { on: ['endpoint'] },
  );
  return (
    <>
      {only === undefined ? (
        <h1>SLOs</h1>
      ) : (
        <>
          <p className="breadcrumbs">
            <a href={href({ page: 'slos' })}>SLOs</a> / {only}
          </p>
          <h1>Endpoint {only}</h1>
        </>
      )}
      <WindowPicker value={window} onChange={setWindow} />
      <Resource live={data} what="Endpoints">
        {(list) =>
          list.length === 0 ? (
            only === undefined ? (
              <Empty title="No endpoints yet">
                SLOs are measured per endpoint once a model serves traffic.
              </Empty>
            ) : (
              <Empty title={`No endpoint ${only}`}>It may have been removed.</Empty>
            )
          ) : (
            list.map(({ endpoint, slo }) => (
              <section
                key={endpoint.name}
                aria-labelledby={`slo-${endpoint.name}`}
                className="card"
                data-testid="slo-endpoint"
              >
                <h2 id={`slo-${endpoint.name}`}>
                  {endpoint.name} {slo.status === 'fulfilled' && <SloStatus slo={slo.value} />}
                </h2>
                <p className="small">
                  {endpoint.modelName} · objectives: p99 ≤ {endpoint.slo.latencyP99Ms} ms, errors ≤{' '}
                  {percent(endpoint.slo.errorRate)}, availability ≥ {percent(endpoint.slo.availability)} ·{' '}
                  <a href={href({ page: 'drift', endpoint: endpoint.name })}>drift</a>
                  {slo.status === 'fulfilled' && (
                    <>
                      {' '}
                      · as of <Time iso={slo.value.at} />
                    </>
                  )}
                </p>
                <EndpointSplit endpoint={endpoint} />
                {slo.status === 'fulfilled' ? (
                  <SloTables slo={slo.value} />
                ) : (
                  <ErrorState error={slo.reason} />
                )}
                <SloCharts endpoint={endpoint} window={window} />
              </section>
            ))
          )
        }
      </Resource>
    </>
  );
}
