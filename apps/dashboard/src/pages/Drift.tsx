import { useState } from 'react';
import { ApiError, isMissingRoute, type DriftMonitorView, type DriftReportView } from '../api.ts';
import { driftAxisValue, pValueMethods } from '../chart-math.ts';
import { HistogramChart, TimeChart } from '../charts.tsx';
import { useDashboard } from '../context.tsx';
import { featureRows, histogramBars, type FeatureRow } from '../drift-rows.ts';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Badge, Empty, Resource, StateBadge, Time, formatDuration, formatNumber } from '../ui.tsx';

/**
 * Score over the reported windows as a line, with the threshold dashed; on the detail chart's axis
 * (p-values as −log₁₀ p), so above the line is drifted here too.
 */
function Sparkline({ row }: { row: FeatureRow }) {
  const points = row.history;
  if (points.length < 2) return <span className="muted">—</span>;
  const width = 160;
  const height = 36;
  const values = points.map((p) => driftAxisValue(row.method, p.score));
  const threshold = driftAxisValue(row.method, row.threshold);
  const max = Math.max(...values, threshold) || 1;
  const x = (i: number) => (i / (points.length - 1)) * width;
  const y = (value: number) => height - (value / max) * (height - 2) - 1;
  const path = values
    .map((value, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(value).toFixed(1)}`)
    .join(' ');
  return (
    <svg
      width={width}
      height={height}
      role="img"
      aria-label={`${row.feature} ${row.signal} score over ${points.length} windows, threshold ${formatNumber(row.threshold)}`}
    >
      <line x1={0} x2={width} y1={y(threshold)} y2={y(threshold)} className="threshold" />
      <path d={path} className="spark" fill="none" />
    </svg>
  );
}

function MonitorLine({ monitor }: { monitor: DriftMonitorView | null }) {
  if (!monitor) {
    return (
      <p className="muted" data-testid="drift-monitor">
        No drift monitor watches this endpoint. Start one with{' '}
        <code>POST …/endpoints/&lt;name&gt;/monitor</code>.
      </p>
    );
  }
  return (
    <p data-testid="drift-monitor">
      Monitor <StateBadge state={monitor.state} /> every {formatDuration(monitor.config.windowSeconds)}{' '}
      against {monitor.config.baselineWindows} previous windows · policy{' '}
      <strong>{monitor.config.policy.action}</strong> · {monitor.windowsJudged} windows judged
      {monitor.lastWindowAt && (
        <>
          , last <Time iso={monitor.lastWindowAt} />
        </>
      )}
    </p>
  );
}

function LatestWindow({ report }: { report: DriftReportView }) {
  return (
    <section aria-labelledby="drift-latest">
      <h2 id="drift-latest">
        Latest window {report.drifted ? <Badge tone="bad">drifted</Badge> : <Badge tone="good">stable</Badge>}
      </h2>
      <p className="small muted">
        <Time iso={report.windowStart} /> – <Time iso={report.windowEnd} /> · {report.predictions}{' '}
        predictions, {report.judged} judged, {report.labels} labels
        {report.version !== null && <> · champion v{report.version}</>}
      </p>
      <ul className="plain-list" data-testid="drift-signals">
        {report.signals.map((verdict) => (
          <li key={verdict.signal}>
            <strong>{verdict.signal}</strong> <StateBadge state={verdict.outcome} />{' '}
            {verdict.shareDrifted !== null && (
              <span className="small">{Math.round(verdict.shareDrifted * 100)}% of features drifted · </span>
            )}
            {verdict.metric && (
              <span className="small">
                {verdict.metric.name} {formatNumber(verdict.metric.value)} (reference{' '}
                {formatNumber(verdict.metric.reference)}, {verdict.metric.labels} labels) ·{' '}
              </span>
            )}
            <span className="small muted">{verdict.detail}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

const rowKey = (row: FeatureRow) => `${row.signal}:${row.feature}`;

function FeatureHistogram({
  endpoint,
  feature,
  latest,
}: {
  endpoint: string;
  feature: string;
  latest: string;
}) {
  const { api } = useDashboard();
  const data = useLive(`drift-histogram:${endpoint}:${feature}:${latest}`, () =>
    api.driftHistogram(endpoint, feature).catch((err: unknown) => {
      // No profile for this feature, or no window judged yet: say so instead of an error.
      if (err instanceof ApiError && err.status === 404 && !isMissingRoute(err)) return err;
      throw err;
    }),
  );
  return (
    <Resource live={data} what="Histogram">
      {(histogram) =>
        histogram instanceof ApiError ? (
          <Empty title="No histogram for this feature">{histogram.message}</Empty>
        ) : (
          <div data-testid="drift-histogram">
            <HistogramChart
              title={`${feature}: training reference vs window ${histogram.window.sequence}`}
              bars={histogramBars(histogram)}
              referenceLabel={`training data of v${histogram.window.version} (${histogram.reference.total.toLocaleString()})`}
              currentLabel={`window (${histogram.current.total.toLocaleString()})`}
            />
            <p className="small muted" data-testid="drift-histogram-summary">
              Window <Time iso={histogram.window.windowStart} /> – <Time iso={histogram.window.windowEnd} />:{' '}
              {histogram.current.total.toLocaleString()} values
              {histogram.kind === 'numeric' && (
                <>
                  , {histogram.current.below.toLocaleString()} below and{' '}
                  {histogram.current.above.toLocaleString()} above the training range
                </>
              )}
              , {histogram.current.missing.toLocaleString()} missing.
              {histogram.current.total === 0 && histogram.window.judged > 0 && (
                <> The window’s predictions are no longer kept.</>
              )}
            </p>
          </div>
        )
      }
    </Resource>
  );
}

function FeatureDetail({ endpoint, row, latest }: { endpoint: string; row: FeatureRow; latest: string }) {
  const pValue = pValueMethods.has(row.method);
  return (
    <section aria-labelledby="drift-feature" className="card" data-testid="drift-feature">
      <h2 id="drift-feature">
        {row.feature} <span className="muted">· {row.signal}</span>{' '}
        {row.drifted ? <Badge tone="bad">drifted</Badge> : <Badge tone="good">stable</Badge>}
      </h2>
      <p className="small muted">
        {row.method} {pValue ? 'p-value, drawn as −log₁₀ p' : 'distance'}: above the dashed threshold line the
        feature drifted.
      </p>
      <div className="drift-detail">
        {row.history.length === 0 ? (
          <Empty title="No score yet" />
        ) : (
          <TimeChart
            testId="drift-score-chart"
            title={`${row.signal} score over ${row.history.length} windows`}
            times={row.history.map((point) => point.at)}
            format={(value) => formatNumber(value, 3)}
            series={[
              {
                name: pValue ? '−log₁₀ p' : 'score',
                values: row.history.map((point) => driftAxisValue(row.method, point.score)),
                tone: 'c1',
              },
            ]}
            lines={[
              {
                value: driftAxisValue(row.method, row.threshold),
                label: `threshold ${formatNumber(row.threshold)}`,
              },
            ]}
          />
        )}
        <FeatureHistogram endpoint={endpoint} feature={row.feature} latest={latest} />
      </div>
    </section>
  );
}

function DriftReports({ endpoint }: { endpoint: string }) {
  const { api } = useDashboard();
  const drift = useLive(
    `drift:${endpoint}`,
    async () => {
      const [reports, monitor] = await Promise.all([
        api.driftReports(endpoint),
        // No monitor is a 404 of its own; a missing route is the page's "not available yet".
        api.driftMonitor(endpoint).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404 && !isMissingRoute(err)) return null;
          throw err;
        }),
      ]);
      return { reports: reports.reports, monitor };
    },
    // Monitors start and stop with an audit event; reports arrive each window: poll for those.
    { on: ['deployment', 'alert'] },
  );
  const [picked, setPicked] = useState<string | null>(null);
  return (
    <Resource live={drift} what="Drift">
      {({ reports, monitor }) => {
        const latest = reports.at(-1);
        const rows = featureRows(reports);
        // Shown in detail: the feature picked, else the first that drifted, else the first.
        const selected =
          rows.find((row) => rowKey(row) === picked) ?? rows.find((row) => row.drifted) ?? rows[0];
        return (
          <>
            <MonitorLine monitor={monitor} />
            {!latest ? (
              <Empty title="No drift measured yet">Scores appear after the monitor’s first window.</Empty>
            ) : (
              <>
                <LatestWindow report={latest} />
                {selected && <FeatureDetail endpoint={endpoint} row={selected} latest={latest.id} />}
                <h2>Features over the last {reports.length} windows</h2>
                {rows.length === 0 ? (
                  <Empty title="No feature was tested in these windows" />
                ) : (
                  <table data-testid="drift-table">
                    <thead>
                      <tr>
                        <th scope="col">Feature</th>
                        <th scope="col">Signal</th>
                        <th scope="col">Test</th>
                        <th scope="col">Score</th>
                        <th scope="col">Threshold</th>
                        <th scope="col">p-value</th>
                        <th scope="col">Over time</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((row) => (
                        <tr
                          key={rowKey(row)}
                          className={`${row.drifted ? 'row-bad' : ''}${row === selected ? ' row-selected' : ''}`}
                        >
                          <th scope="row">
                            <button
                              type="button"
                              className="link-button"
                              aria-pressed={row === selected}
                              onClick={() => {
                                setPicked(rowKey(row));
                                // The detail is above the table: bring it into view.
                                document
                                  .getElementById('drift-feature')
                                  ?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
                              }}
                            >
                              {row.feature}
                            </button>
                          </th>
                          <td>{row.signal}</td>
                          <td>{row.method}</td>
                          <td className="number">
                            {formatNumber(row.score)} {row.drifted && <Badge tone="bad">drifted</Badge>}
                          </td>
                          <td className="number">{formatNumber(row.threshold)}</td>
                          <td className="number">{formatNumber(row.pValue)}</td>
                          <td>
                            <Sparkline row={row} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </>
            )}
          </>
        );
      }}
    </Resource>
  );
}

export function DriftPage({ endpoint }: { endpoint?: string | undefined }) {
  const { api } = useDashboard();
  const endpoints = useLive('endpoints', () => api.listEndpoints(), { on: ['endpoint'] });
  return (
    <>
      <h1>Drift{endpoint ? `: ${endpoint}` : ''}</h1>
      <Resource live={endpoints} what="Endpoints">
        {(endpoints) =>
          endpoints.length === 0 ? (
            <Empty title="No endpoints yet">Drift is watched per deployed endpoint.</Empty>
          ) : (
            <nav aria-label="Endpoints" className="tabs">
              {endpoints.map((item) => (
                <a
                  key={item.name}
                  href={href({ page: 'drift', endpoint: item.name })}
                  aria-current={item.name === endpoint ? 'page' : undefined}
                >
                  {item.name}
                </a>
              ))}
            </nav>
          )
        }
      </Resource>
      {endpoint ? <DriftReports endpoint={endpoint} /> : <p className="muted">Pick an endpoint.</p>}
    </>
  );
}
