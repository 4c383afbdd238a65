import type { SloView } from '../api.ts';
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

/** Every endpoint's SLOs, or one endpoint's (`#/slos/<name>`, where alerts about it link). */
export function SlosPage({ endpoint: only }: { endpoint?: string | undefined }) {
  const { api } = useDashboard();
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
              </section>
            ))
          )
        }
      </Resource>
    </>
  );
}
