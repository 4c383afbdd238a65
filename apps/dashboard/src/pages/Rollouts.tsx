import { activeRolloutStates } from '@shepherd/contracts/serving';
import type { EndpointConfig, RolloutAction, RolloutView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { temporalWorkflowUrl } from '../links.ts';
import { useLive, type Live } from '../live.ts';
import { href } from '../router.ts';
import {
  ConfirmButton,
  Empty,
  ExternalLink,
  Resource,
  StateBadge,
  Time,
  formatDuration,
  formatNumber,
} from '../ui.tsx';
import { EndpointSplit } from './serving.tsx';

const active: string[] = [...activeRolloutStates];

/**
 * What a rollout did to traffic, in words, once it has ended. The rollout record keeps the weight of
 * its last step after a rollback, so the traffic itself is read from the endpoint, never from here.
 */
function outcome(rollout: RolloutView): string {
  if (rollout.state === 'succeeded') return `v${rollout.candidate.version} promoted to champion`;
  return `v${rollout.candidate.version} taken out of traffic`;
}

/** The endpoint's traffic when it is still this rollout's (same candidate), else undefined. */
function servingNow(rollout: RolloutView, endpoints: readonly EndpointConfig[] | undefined) {
  const endpoint = endpoints?.find((item) => item.name === rollout.endpoint);
  return endpoint?.candidate?.versionId === rollout.candidate.versionId ? endpoint : undefined;
}

export function RolloutsPage() {
  const { api } = useDashboard();
  const rollouts = useLive('rollouts', () => api.listRollouts(), { on: ['rollout', 'endpoint'] });
  const endpoints = useLive('endpoints', () => api.listEndpoints(), { on: ['endpoint'] });
  const endpointList = endpoints.status === 'ready' ? endpoints.data : undefined;
  return (
    <>
      <h1>Rollouts</h1>
      <Resource live={rollouts} what="Rollouts">
        {(rollouts) =>
          rollouts.length === 0 ? (
            <Empty title="No rollouts yet">
              A rollout starts when a candidate version is sent to an endpoint.
            </Empty>
          ) : (
            <table data-testid="rollouts-table">
              <thead>
                <tr>
                  <th scope="col">Rollout</th>
                  <th scope="col">State</th>
                  <th scope="col">Traffic now</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {rollouts.map((rollout) => (
                  <tr key={rollout.id}>
                    <th scope="row">
                      <a href={href({ page: 'rollout', id: rollout.id })}>
                        {rollout.endpoint}: {rollout.model} v{rollout.candidate.version}
                      </a>
                    </th>
                    <td>
                      <StateBadge state={rollout.state} />
                    </td>
                    <td>
                      <RolloutTraffic rollout={rollout} endpoints={endpointList} />
                    </td>
                    <td>
                      <Time iso={rollout.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Resource>
    </>
  );
}

function RolloutTraffic({
  rollout,
  endpoints,
}: {
  rollout: RolloutView;
  endpoints: readonly EndpointConfig[] | undefined;
}) {
  if (!active.includes(rollout.state)) return <span className="small muted">ended: {outcome(rollout)}</span>;
  const endpoint = servingNow(rollout, endpoints);
  return endpoint ? (
    <EndpointSplit endpoint={endpoint} />
  ) : (
    <span className="small">step weight {rollout.weight}%</span>
  );
}

function StepTimeline({ rollout }: { rollout: RolloutView }) {
  if (rollout.steps.length === 0) return <Empty title="No steps reported" />;
  const current = rollout.step;
  return (
    <ol className="timeline" data-testid="rollout-steps">
      {rollout.steps.map((step, index) => {
        const analyses = rollout.analyses.filter((analysis) => analysis.step === index);
        const status = index < current ? 'done' : index === current ? 'current' : 'next';
        return (
          <li
            key={index}
            className={`step step-${status}`}
            aria-current={status === 'current' ? 'step' : undefined}
          >
            <strong>
              Step {index + 1}: {step.weight}%
            </strong>{' '}
            <span className="muted">bake {formatDuration(step.bakeSeconds)}</span>
            {step.manualApproval && <span className="muted"> · needs approval</span>}
            {analyses.length > 0 && (
              <table className="nested">
                <thead>
                  <tr>
                    <th scope="col">Analysis</th>
                    <th scope="col">Check</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">Value</th>
                    <th scope="col">Threshold</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {analyses.flatMap((analysis, n) =>
                    analysis.checks.map((check) => (
                      <tr key={`${n}:${check.name}`}>
                        <td>
                          <StateBadge state={analysis.verdict} /> <Time iso={analysis.at} />
                        </td>
                        <td>{check.name.replace(/_/g, ' ')}</td>
                        <td>
                          <StateBadge state={check.outcome} />
                        </td>
                        <td className="number">{formatNumber(check.value)}</td>
                        <td className="number">{formatNumber(check.threshold)}</td>
                        <td>{check.detail}</td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            )}
          </li>
        );
      })}
    </ol>
  );
}

const actions: {
  action: RolloutAction;
  label: string;
  when: string[];
  danger?: boolean;
  askReason?: boolean;
  explain: string;
}[] = [
  {
    action: 'approve',
    label: 'Approve step',
    when: ['awaiting_approval'],
    explain:
      'The candidate moves to its next traffic step. Someone other than who started the rollout must approve.',
  },
  {
    action: 'pause',
    label: 'Pause',
    when: ['running'],
    explain: 'Traffic stays where it is and the bake clock stops.',
  },
  { action: 'resume', label: 'Resume', when: ['paused'], explain: 'The rollout carries on from this step.' },
  {
    action: 'promote',
    label: 'Promote now',
    when: active,
    explain: 'The candidate becomes champion at once, skipping the remaining steps.',
  },
  {
    action: 'abort',
    label: 'Abort',
    when: active,
    danger: true,
    askReason: true,
    explain: 'The candidate gets no more traffic; the champion serves 100% at once.',
  },
];

/**
 * What the endpoint serves, read from the endpoint itself: after a rollback the rollout record still
 * holds its last step's weight, which the endpoint no longer serves.
 */
function ServingNow({ rollout, endpoints }: { rollout: RolloutView; endpoints: Live<EndpointConfig[]> }) {
  const endpoint =
    endpoints.status === 'ready' ? endpoints.data.find((e) => e.name === rollout.endpoint) : undefined;
  return (
    <section aria-label="Traffic now" data-testid="serving-now">
      {endpoint ? (
        <>
          <p className="small muted">
            {rollout.endpoint} serves now
            {active.includes(rollout.state) && (
              <>
                {' '}
                · rollout at step {rollout.step + 1}, {rollout.weight}%
              </>
            )}
            {!active.includes(rollout.state) && <> · rollout ended: {outcome(rollout)}</>}
          </p>
          <EndpointSplit endpoint={endpoint} />
        </>
      ) : endpoints.status === 'loading' ? (
        <p className="small muted">Loading the endpoint’s traffic…</p>
      ) : (
        <p className="small muted">The endpoint’s traffic is unavailable.</p>
      )}
    </section>
  );
}

export function RolloutPage({ id }: { id: string }) {
  const { api, config } = useDashboard();
  const rollout = useLive(`rollout:${id}`, () => api.getRollout(id), { on: ['rollout', 'endpoint'] });
  const endpoints = useLive('endpoints', () => api.listEndpoints(), { on: ['endpoint'] });
  return (
    <>
      <p className="breadcrumbs">
        <a href={href({ page: 'rollouts' })}>Rollouts</a> / {id.slice(0, 8)}
      </p>
      <Resource live={rollout} what="Rollout">
        {(r) => (
          <>
            <h1>
              {r.endpoint}: {r.model} v{r.candidate.version} <StateBadge state={r.state} />
            </h1>
            <ServingNow rollout={r} endpoints={endpoints} />
            <div className="actions" data-testid="rollout-actions">
              {actions
                .filter((item) => item.when.includes(r.state))
                .map((item) => (
                  <ConfirmButton
                    key={item.action}
                    label={item.label}
                    title={`${item.label}: ${r.endpoint}`}
                    description={item.explain}
                    confirmLabel={item.label}
                    tone={item.danger ? 'danger' : 'normal'}
                    askReason={item.askReason ?? false}
                    onConfirm={async (reason) => {
                      await api.rolloutAction(r.id, item.action, reason || undefined);
                      rollout.refresh();
                      endpoints.refresh();
                    }}
                  />
                ))}
              <ConfirmButton
                label="Roll back endpoint"
                title={`Roll back ${r.endpoint}`}
                description="The previous champion takes 100% of the traffic at once; this is audited and alerts on-call."
                confirmLabel="Roll back"
                tone="danger"
                askReason
                onConfirm={async (reason) => {
                  await api.rollback(r.endpoint, reason);
                  rollout.refresh();
                  endpoints.refresh();
                }}
              />
            </div>
            {r.reasons.length > 0 && (
              <ul className="state state-error">
                {r.reasons.map((reason) => (
                  <li key={reason}>{reason}</li>
                ))}
              </ul>
            )}
            <h2>Steps</h2>
            <StepTimeline rollout={r} />
            <dl className="facts">
              <dt>Started</dt>
              <dd>
                <Time iso={r.createdAt} /> by {r.startedBy}
              </dd>
              {r.finishedAt && (
                <>
                  <dt>Finished</dt>
                  <dd>
                    <Time iso={r.finishedAt} />
                  </dd>
                </>
              )}
              <dt>Workflow</dt>
              <dd>
                <ExternalLink href={temporalWorkflowUrl(config, r.workflowId)}>
                  <code>{r.workflowId}</code>
                </ExternalLink>
              </dd>
            </dl>
          </>
        )}
      </Resource>
    </>
  );
}
