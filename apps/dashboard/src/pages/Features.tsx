import type { FeatureViewView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { href } from '../router.ts';
import { useLive } from '../live.ts';
import { Badge, Empty, Resource, Time, formatDuration } from '../ui.tsx';

/** Fresh while the newest event is younger than the view's TTL, the same rule online lookups use. */
export function freshness(view: FeatureViewView, now: number): { ageSeconds: number | null; fresh: boolean } {
  const last = view.metrics?.lastEventTime;
  if (!last) return { ageSeconds: null, fresh: false };
  const ageSeconds = Math.max(0, (now - new Date(last).getTime()) / 1000);
  return { ageSeconds, fresh: ageSeconds <= view.ttlSeconds };
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
                    const { ageSeconds, fresh } = freshness(view, Date.now());
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
