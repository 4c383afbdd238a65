import { useState } from 'react';
import { denied, type FeatureViewSummary, type ParityReport } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { href } from '../router.ts';
import { useLive } from '../live.ts';
import { Badge, Empty, Resource, Time, describeError, formatDuration } from '../ui.tsx';

/** Clocks disagree a little; an event time further ahead than this is a producer's clock problem. */
const futureToleranceSeconds = 60;

/**
 * Fresh while the newest event is younger than the view's TTL, the same rule online lookups use.
 * An event time ahead of now (a producer with a wrong clock) makes any view look fresh: said apart.
 */
export function freshness(
  view: FeatureViewSummary,
  now: number,
): { ageSeconds: number | null; fresh: boolean; aheadSeconds: number } {
  const last = view.metrics?.lastEventTime;
  if (!last) return { ageSeconds: null, fresh: false, aheadSeconds: 0 };
  const age = (now - new Date(last).getTime()) / 1000;
  const ageSeconds = Math.max(0, age);
  return {
    ageSeconds,
    fresh: ageSeconds <= view.ttlSeconds,
    aheadSeconds: -age > futureToleranceSeconds ? -age : 0,
  };
}

const shown = (value: ParityReport['mismatches'][number]['online']) =>
  value === null ? 'none' : typeof value === 'string' ? value : JSON.stringify(value);

/** Examples shown per report; the report keeps up to 200. */
const exampleLimit = 10;

/** What the dashboard's "Check every …" starts: well inside the hour a canary trusts a report for. */
const monitorEverySeconds = 900;

/**
 * The view's last parity report: online against offline-as-of-now for a sample of entities. Whether
 * it passed is the check's own verdict against the limit it ran with: a failing check keeps a
 * parity alert open on the view, a passing one resolves it.
 */
function ParityPanel({ view }: { view: FeatureViewSummary }) {
  const { api } = useDashboard();
  const subject = `${view.name}@${view.version}`;
  const data = useLive(
    `parity:${subject}`,
    async () => {
      const [{ reports }, alerts, monitor] = await Promise.all([
        api.parityReports(view.name, { version: view.version, limit: 1 }),
        api.listAlerts(['firing', 'acknowledged']),
        api.parityMonitor(view.name),
      ]);
      const alert = alerts.find(
        (candidate) => candidate.kind === 'parity' && candidate.subject.id === subject,
      );
      return { report: reports[0], alert, monitor };
    },
    { on: ['alert', 'feature_view'] },
  );
  const [running, setRunning] = useState(false);
  const [runError, setRunError] = useState<unknown>(undefined);
  const notAllowed = denied(api.session.role, 'write');
  const act = async (action: () => Promise<unknown>) => {
    setRunning(true);
    setRunError(undefined);
    try {
      await action();
      data.refresh();
    } catch (err) {
      setRunError(err);
    } finally {
      setRunning(false);
    }
  };
  /** A button for a write action of this panel: one at a time, refused to read-only roles. */
  const actionButton = (label: string, action: () => Promise<unknown>) => (
    <button
      type="button"
      onClick={() => void act(action)}
      disabled={running || notAllowed !== undefined}
      title={notAllowed}
    >
      {label}
    </button>
  );
  const titleId = `parity-${view.name}-${view.version}`;
  return (
    <section className="card" aria-labelledby={titleId} data-testid="parity-report">
      <h2 id={titleId}>
        Parity: {view.name} <span className="muted">v{view.version}</span>{' '}
        {data.status === 'ready' &&
          data.data.report &&
          (data.data.alert ? <Badge tone="bad">failing</Badge> : <Badge tone="good">passing</Badge>)}
      </h2>
      <p>
        {actionButton(running ? 'Checking…' : 'Run parity check', () =>
          api.runParityCheck(view.name, view.version),
        )}
        {runError !== undefined && (
          <span className="state-error" role="alert">
            {' '}
            {describeError(runError).title}: {describeError(runError).detail}
          </span>
        )}
      </p>
      {data.status === 'ready' && (
        <p data-testid="parity-monitor">
          {data.data.monitor?.state === 'running' ? (
            <>
              Monitor: a check every {formatDuration(data.data.monitor.config.everySeconds)}, started by{' '}
              {data.data.monitor.startedBy}.{' '}
              {actionButton('Stop monitor', () => api.stopParityMonitor(view.name))}
            </>
          ) : (
            <>
              No monitor: checks run only when asked, and canary analyses skip parity once the last report is
              an hour old.{' '}
              {actionButton(`Check every ${formatDuration(monitorEverySeconds)}`, () =>
                api.startParityMonitor(view.name, monitorEverySeconds),
              )}
            </>
          )}
        </p>
      )}
      <Resource live={data} what="Parity reports">
        {({ report, alert }) =>
          !report ? (
            <Empty title="No parity check yet">
              A check compares the online store with the offline store as of now for a sample of entities.
            </Empty>
          ) : (
            <>
              <p data-testid="parity-summary">
                Checked <Time iso={report.checkedAt} /> · {report.sampled.toLocaleString()} entities sampled ·{' '}
                {report.mismatchedEntities.toLocaleString()} differ ({(report.mismatchRate * 100).toFixed(2)}
                %)
                {alert && (
                  <>
                    {' '}
                    · <a href={href({ page: 'alert', id: alert.id })}>parity alert {alert.state}</a>
                  </>
                )}
              </p>
              <div className="parity-grid">
                {Object.keys(report.byField).length > 0 && (
                  <table className="nested" data-testid="parity-fields">
                    <caption className="visually-hidden">Mismatches per field</caption>
                    <thead>
                      <tr>
                        <th scope="col">Field</th>
                        <th scope="col">Mismatches</th>
                        <th scope="col">Of sampled</th>
                      </tr>
                    </thead>
                    <tbody>
                      {Object.entries(report.byField)
                        .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
                        .map(([field, count]) => (
                          <tr key={field}>
                            <th scope="row">{field}</th>
                            <td className="number">{count.toLocaleString()}</td>
                            <td className="number">
                              {report.sampled > 0 ? `${((count / report.sampled) * 100).toFixed(2)}%` : '—'}
                            </td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                )}
                {report.mismatches.length > 0 && (
                  <table className="nested" data-testid="parity-examples">
                    <caption>
                      Examples
                      {report.mismatches.length > exampleLimit || report.truncated
                        ? ` (${exampleLimit} of ${report.truncated ? 'more than ' : ''}${report.mismatches.length})`
                        : ''}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Entity</th>
                        <th scope="col">Field</th>
                        <th scope="col">Online</th>
                        <th scope="col">Offline as of the check</th>
                      </tr>
                    </thead>
                    <tbody>
                      {report.mismatches.slice(0, exampleLimit).map((mismatch, i) => (
                        <tr key={`${mismatch.entity}:${mismatch.field}:${i}`}>
                          <td>
                            <code>{mismatch.entity}</code>
                          </td>
                          <td>{mismatch.field}</td>
                          <td>
                            <code>{shown(mismatch.online)}</code>
                          </td>
                          <td>
                            <code>{shown(mismatch.offline)}</code>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </div>
            </>
          )
        }
      </Resource>
    </section>
  );
}

export function FeaturesPage() {
  const { api } = useDashboard();
  const views = useLive('feature-views', () => api.featureViews(), { on: ['feature_view'] });
  return (
    <>
      <h1>Feature views</h1>
      <Resource live={views} what="Feature views">
        {({ views }) =>
          views.length === 0 ? (
            <Empty title="No feature views registered">
              Feature views are declared in code and registered when ingestion starts for this project.
            </Empty>
          ) : (
            <>
              <table data-testid="features-table">
                <thead>
                  <tr>
                    <th scope="col">View</th>
                    <th scope="col">Freshness</th>
                    <th scope="col">Events ingested</th>
                    <th scope="col">DLQ</th>
                    <th scope="col">Consumer lag</th>
                    <th scope="col">Last ingested</th>
                  </tr>
                </thead>
                <tbody>
                  {views.map((view) => {
                    const { ageSeconds, fresh, aheadSeconds } = freshness(view, Date.now());
                    const metrics = view.metrics;
                    return (
                      <tr key={`${view.name}@${view.version}`}>
                        <th scope="row">
                          {view.name} <span className="muted">v{view.version}</span>
                          <div className="muted small">
                            <code>{view.sourceTopic}</code> · key {view.entityKey}
                          </div>
                        </th>
                        <td>
                          {ageSeconds === null ? (
                            <Badge tone="muted">no events yet</Badge>
                          ) : aheadSeconds > 0 ? (
                            <Badge tone="warn">
                              newest event {formatDuration(aheadSeconds)} in the future
                            </Badge>
                          ) : (
                            <Badge tone={fresh ? 'good' : 'warn'}>
                              {fresh ? 'fresh' : 'stale'} · {formatDuration(ageSeconds)} old
                            </Badge>
                          )}
                          <div className="muted small">TTL {formatDuration(view.ttlSeconds)}</div>
                        </td>
                        <td className="number">{metrics ? metrics.eventsIngested.toLocaleString() : '—'}</td>
                        <td className="number">
                          {metrics ? (
                            <Badge tone={metrics.dlqCount > 0 ? 'warn' : 'good'}>
                              {metrics.dlqCount.toLocaleString()}
                            </Badge>
                          ) : (
                            '—'
                          )}
                        </td>
                        <td className="number">
                          {metrics ? (
                            <details>
                              <summary>
                                <Badge tone={metrics.totalLag > 0 ? 'warn' : 'good'}>
                                  {metrics.totalLag.toLocaleString()}
                                </Badge>
                              </summary>
                              <table className="nested">
                                <thead>
                                  <tr>
                                    <th scope="col">Partition</th>
                                    <th scope="col">Committed</th>
                                    <th scope="col">High watermark</th>
                                    <th scope="col">Lag</th>
                                  </tr>
                                </thead>
                                <tbody>
                                  {metrics.partitions.map((partition) => (
                                    <tr key={partition.partition}>
                                      <td>{partition.partition}</td>
                                      <td>{partition.committedOffset ?? '—'}</td>
                                      <td>{partition.highWatermark}</td>
                                      <td>{partition.lag}</td>
                                    </tr>
                                  ))}
                                </tbody>
                              </table>
                            </details>
                          ) : (
                            <span className="muted">not reported</span>
                          )}
                        </td>
                        <td>
                          <Time iso={metrics?.lastIngestedAt} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {views.map((view) => (
                <ParityPanel key={`${view.name}@${view.version}`} view={view} />
              ))}
              <p className="muted">
                Features: {views.map((view) => `${view.name} (${view.features.length})`).join(', ')}.{' '}
                <a href={href({ page: 'lineage' })}>Lineage</a> shows which training sets read each view.
              </p>
            </>
          )
        }
      </Resource>
    </>
  );
}
