import { activeRolloutStates } from '@shepherd/contracts/serving';
import type { RolloutAction, RolloutView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { temporalWorkflowUrl } from '../links.ts';
import { useLive } from '../live.ts';
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
import { TrafficSplit } from './serving.tsx';

const active: string[] = [...activeRolloutStates];

/**
 * The candidate's share now: the rollout's last step while it runs; once it has ended, all traffic
 * went to the candidate (succeeded) or back to the champion (anything else).
 */
export function currentWeight(rollout: RolloutView): number {
  if (active.includes(rollout.state)) return rollout.weight;
  return rollout.state === 'succeeded' ? 100 : 0;
}

export function RolloutsPage() {
  const { api } = useDashboard();
  const rollouts = useLive('rollouts', () => api.listRollouts());
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
                  <th scope="col">Traffic</th>
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
                      <TrafficSplit
                        champion={rollout.champion?.version}
                        candidate={rollout.candidate.version}
                        candidateWeight={currentWeight(rollout)}
                        mode={rollout.mode}
                      />
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

export function RolloutPage({ id }: { id: string }) {
  const { api, config } = useDashboard();
  const rollout = useLive(`rollout:${id}`, () => api.getRollout(id));
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
            <TrafficSplit
              champion={r.champion?.version}
              candidate={r.candidate.version}
              candidateWeight={currentWeight(r)}
              mode={r.mode}
            />
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
