import type { VersionView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { greaterIsBetter, mlflowRunUrl, temporalWorkflowUrl } from '../links.ts';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import {
  Badge,
  CopyButton,
  Delta,
  Empty,
  ExternalLink,
  Resource,
  StateBadge,
  Time,
  formatNumber,
} from '../ui.tsx';
import { GateSummary } from './Model.tsx';

type Report = NonNullable<VersionView['evaluation']>;

function MetricsAgainstChampion({ report }: { report: Report }) {
  const champion = report.champion;
  const datasets = (['holdout', 'golden'] as const).filter((dataset) => report.candidate[dataset]);
  const rows = datasets.flatMap((dataset) =>
    Object.keys(report.candidate[dataset] ?? {})
      .sort()
      .map((metric) => ({
        dataset,
        metric,
        candidate: report.candidate[dataset]?.[metric] ?? null,
        champion: champion?.[dataset]?.[metric] ?? null,
      })),
  );
  if (rows.length === 0) return <Empty title="No metrics were recorded" />;
  return (
    <table data-testid="metrics-table">
      <caption className="visually-hidden">
        Metrics of this version and of the champion on the same data
      </caption>
      <thead>
        <tr>
          <th scope="col">Data set</th>
          <th scope="col">Metric</th>
          <th scope="col">This version</th>
          <th scope="col">{champion ? `Champion (v${champion.version})` : 'Champion'}</th>
          <th scope="col">Change</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={`${row.dataset}:${row.metric}`}>
            <td>{row.dataset}</td>
            <th scope="row">{row.metric}</th>
            <td className="number">{formatNumber(row.candidate)}</td>
            <td className="number">
              {champion ? formatNumber(row.champion) : <span className="muted">none</span>}
            </td>
            <td className="number">
              <Delta
                value={row.candidate !== null && row.champion !== null ? row.candidate - row.champion : null}
                greaterIsBetter={greaterIsBetter(row.metric)}
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Gates({ report }: { report: Report }) {
  if (report.gates.length === 0) return <Empty title="No gates were set for this version" />;
  return (
    <table data-testid="gates-table">
      <thead>
        <tr>
          <th scope="col">Gate</th>
          <th scope="col">Result</th>
          <th scope="col">Required</th>
          <th scope="col">Actual</th>
          <th scope="col">Champion</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {report.gates.map((gate) => (
          <tr key={`${gate.dataset}:${gate.metric}:${gate.kind}`} className={gate.passed ? '' : 'row-bad'}>
            <th scope="row">
              {gate.dataset} {gate.metric} <span className="muted">{gate.kind.replace(/_/g, ' ')}</span>
            </th>
            <td>
              {gate.skipped ? (
                <StateBadge state="skipped" />
              ) : gate.passed ? (
                <Badge tone="good">passed</Badge>
              ) : (
                <Badge tone="bad">failed</Badge>
              )}
            </td>
            <td className="number">{formatNumber(gate.required)}</td>
            <td className="number">{formatNumber(gate.actual)}</td>
            <td className="number">{formatNumber(gate.champion)}</td>
            <td>{gate.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function VersionPage({ model, version }: { model: string; version: number }) {
  const { api, config } = useDashboard();
  const data = useLive(`version:${model}:${version}`, () => api.getVersion(model, version), {
    on: ['model_version'],
  });
  return (
    <>
      <p className="breadcrumbs">
        <a href={href({ page: 'models' })}>Models</a> / <a href={href({ page: 'model', model })}>{model}</a> /
        v{version}
      </p>
      <Resource live={data} what="Version">
        {(v) => {
          const workflowId = v.tags['shepherd.workflow_id'];
          const userTags = Object.entries(v.tags).filter(([key]) => !key.startsWith('shepherd.'));
          return (
            <>
              <h1>
                {model} v{v.version} <StateBadge state={v.state} />{' '}
                {v.aliases.map((alias) => (
                  <Badge key={alias} tone={alias === 'champion' ? 'good' : 'info'}>
                    {alias}
                  </Badge>
                ))}
              </h1>
              {v.description && <p>{v.description}</p>}
              {v.failureReason && (
                <p className="state state-error" data-testid="failure-reason">
                  <strong>Why it was not promoted:</strong> {v.failureReason}
                </p>
              )}

              <div className="grid-2">
                <section aria-labelledby="provenance">
                  <h2 id="provenance">Where it came from</h2>
                  <dl className="facts">
                    <dt>MLflow run</dt>
                    <dd>
                      {v.mlflowRunId ? (
                        <ExternalLink href={mlflowRunUrl(config, v.mlflowRunId)}>
                          <code>{v.mlflowRunId}</code>
                        </ExternalLink>
                      ) : (
                        <span className="muted">none (MLflow was off)</span>
                      )}
                    </dd>
                    <dt>Temporal workflow</dt>
                    <dd>
                      {workflowId ? (
                        <ExternalLink href={temporalWorkflowUrl(config, workflowId)}>
                          <code>{workflowId}</code>
                        </ExternalLink>
                      ) : (
                        <span className="muted">unknown</span>
                      )}
                    </dd>
                    <dt>Training set</dt>
                    <dd>
                      {v.trainingSetId ? (
                        <a href={href({ page: 'lineage', kind: 'training_set', id: v.trainingSetId })}>
                          <code>{v.trainingSetId}</code>
                        </a>
                      ) : (
                        <span className="muted">none</span>
                      )}
                    </dd>
                    <dt>Lineage</dt>
                    <dd>
                      <a href={href({ page: 'lineage', kind: 'model_version', id: v.id })}>
                        Show the lineage graph
                      </a>
                    </dd>
                    <dt>Created</dt>
                    <dd>
                      <Time iso={v.createdAt} />
                    </dd>
                  </dl>
                </section>
                <section aria-labelledby="artifact">
                  <h2 id="artifact">Artifact</h2>
                  <dl className="facts">
                    <dt>URI</dt>
                    <dd>
                      <code data-testid="artifact-uri">{v.artifactUri}</code>{' '}
                      <CopyButton text={v.artifactUri} label="URI" />
                    </dd>
                    <dt>sha256</dt>
                    <dd>
                      <code className="hash" data-testid="artifact-sha256">
                        {v.artifactSha256}
                      </code>{' '}
                      <CopyButton text={v.artifactSha256} label="sha256" />
                    </dd>
                    <dt>Format</dt>
                    <dd>{v.format}</dd>
                  </dl>
                </section>
              </div>

              <h2>Evaluation gates {v.evaluation && <GateSummary version={v} />}</h2>
              {v.evaluation ? (
                <Gates report={v.evaluation} />
              ) : (
                <Empty title="No evaluation report">This version was not evaluated (yet).</Empty>
              )}

              <h2>Metrics against the champion</h2>
              {v.evaluation ? (
                <>
                  <p className="muted">
                    Scored on the same holdout{v.evaluation.candidate.golden ? ' and golden set' : ''} as the
                    champion of the time.
                  </p>
                  <MetricsAgainstChampion report={v.evaluation} />
                </>
              ) : Object.keys(v.metrics).length > 0 ? (
                <dl className="facts">
                  {Object.entries(v.metrics).map(([metric, value]) => (
                    <div key={metric}>
                      <dt>{metric}</dt>
                      <dd>{formatNumber(value)}</dd>
                    </div>
                  ))}
                </dl>
              ) : (
                <Empty title="No metrics yet" />
              )}

              {userTags.length > 0 && (
                <>
                  <h2>Tags</h2>
                  <dl className="facts">
                    {userTags.map(([key, value]) => (
                      <div key={key}>
                        <dt>{key}</dt>
                        <dd>{value}</dd>
                      </div>
                    ))}
                  </dl>
                </>
              )}
            </>
          );
        }}
      </Resource>
    </>
  );
}
