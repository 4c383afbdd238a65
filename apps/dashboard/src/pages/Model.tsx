import type { VersionView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { greaterIsBetter, temporalWorkflowUrl } from '../links.ts';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Badge, Delta, Empty, ExternalLink, Resource, StateBadge, Time, formatNumber } from '../ui.tsx';

/** The metrics worth a column: those the gates looked at first, then the rest, at most four. */
export function headlineMetrics(versions: VersionView[]): string[] {
  const gated = new Set<string>();
  const all = new Set<string>();
  for (const version of versions) {
    for (const gate of version.evaluation?.gates ?? []) gated.add(gate.metric);
    for (const metric of Object.keys(version.metrics)) all.add(metric);
  }
  return [...gated, ...[...all].sort().filter((metric) => !gated.has(metric))].slice(0, 4);
}

export function GateSummary({ version }: { version: VersionView }) {
  const gates = version.evaluation?.gates ?? [];
  if (gates.length === 0) return <span className="muted">no gates</span>;
  const failed = gates.filter((gate) => !gate.passed).length;
  const skipped = gates.filter((gate) => gate.skipped).length;
  return failed > 0 ? (
    <Badge tone="bad">
      {failed} of {gates.length} failed
    </Badge>
  ) : (
    <Badge tone="good">
      {gates.length - skipped} passed{skipped > 0 ? `, ${skipped} skipped` : ''}
    </Badge>
  );
}

export function ModelPage({ model }: { model: string }) {
  const { api, config } = useDashboard();
  const data = useLive(
    `model:${model}`,
    async () => {
      const [info, versions, trainings] = await Promise.all([
        api.getModel(model),
        api.listVersions(model),
        api.listTrainings(model),
      ]);
      return { info, versions: versions.versions, trainings: trainings.trainings };
    },
    { on: ['model', 'model_version'] },
  );

  return (
    <>
      <p className="breadcrumbs">
        <a href={href({ page: 'models' })}>Models</a> / {model}
      </p>
      <Resource live={data} what="Model">
        {({ info, versions, trainings }) => {
          const champion = versions.find((version) => version.aliases.includes('champion'));
          const metrics = headlineMetrics(versions);
          return (
            <>
              <h1>{info.name}</h1>
              <p>
                {info.task.replace(/_/g, ' ')}
                {info.description ? ` · ${info.description}` : ''}
                {champion ? (
                  <>
                    {' '}
                    · champion{' '}
                    <a href={href({ page: 'version', model, version: champion.version })}>
                      v{champion.version}
                    </a>
                  </>
                ) : (
                  ' · no champion yet'
                )}
              </p>

              <h2>Versions</h2>
              {versions.length === 0 ? (
                <Empty title="No versions yet">
                  Train one with <code>shepherd train {model} …</code> or import an MLflow run.
                </Empty>
              ) : (
                <div className="table-scroll">
                  <table data-testid="versions-table">
                    <caption className="visually-hidden">
                      Versions of {model}, holdout metrics with the change against the champion
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Version</th>
                        <th scope="col">State</th>
                        {metrics.map((metric) => (
                          <th scope="col" key={metric}>
                            {metric}
                            {champion && <span className="muted small"> vs champion</span>}
                          </th>
                        ))}
                        <th scope="col">Gates</th>
                        <th scope="col">Created</th>
                      </tr>
                    </thead>
                    <tbody>
                      {versions.map((version) => (
                        <tr key={version.id}>
                          <th scope="row">
                            <a href={href({ page: 'version', model, version: version.version })}>
                              v{version.version}
                            </a>{' '}
                            {version.aliases.map((alias) => (
                              <Badge key={alias} tone={alias === 'champion' ? 'good' : 'info'}>
                                {alias}
                              </Badge>
                            ))}
                          </th>
                          <td>
                            <StateBadge state={version.state} />
                          </td>
                          {metrics.map((metric) => {
                            const value = version.metrics[metric];
                            const base = champion?.metrics[metric];
                            return (
                              <td key={metric} className="number">
                                {formatNumber(value)}{' '}
                                {champion &&
                                  champion.id !== version.id &&
                                  value !== undefined &&
                                  base !== undefined && (
                                    <Delta value={value - base} greaterIsBetter={greaterIsBetter(metric)} />
                                  )}
                              </td>
                            );
                          })}
                          <td>
                            <GateSummary version={version} />
                          </td>
                          <td>
                            <Time iso={version.createdAt} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}

              <h2>Training and import runs</h2>
              {trainings.length === 0 ? (
                <Empty title="No runs yet" />
              ) : (
                <table data-testid="trainings-table">
                  <thead>
                    <tr>
                      <th scope="col">Request</th>
                      <th scope="col">State</th>
                      <th scope="col">Step</th>
                      <th scope="col">Version</th>
                      <th scope="col">Workflow</th>
                      <th scope="col">Started</th>
                    </tr>
                  </thead>
                  <tbody>
                    {trainings.map((run) => (
                      <tr key={run.id}>
                        <th scope="row">{run.requestId}</th>
                        <td>
                          <StateBadge state={run.state} />
                          {run.failureReason && <div className="muted small">{run.failureReason}</div>}
                        </td>
                        <td>{run.step}</td>
                        <td>
                          {run.version !== null ? (
                            <a href={href({ page: 'version', model, version: run.version })}>
                              v{run.version}
                            </a>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                        <td>
                          <ExternalLink href={temporalWorkflowUrl(config, run.workflowId)}>
                            Temporal
                          </ExternalLink>
                        </td>
                        <td>
                          <Time iso={run.createdAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </Resource>
    </>
  );
}
