import { z } from 'zod';
import { activeRolloutStates } from '@shepherd/contracts/serving';
import { useDashboard } from '../context.tsx';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Badge, Empty, Resource, StateBadge, Time, describeError } from '../ui.tsx';
import { EndpointSplit, SloLine } from './serving.tsx';

const readiness = z.object({
  status: z.string(),
  checks: z.array(
    z.object({ name: z.string(), ok: z.boolean(), latencyMs: z.number(), detail: z.string().optional() }),
  ),
});

export function OverviewPage() {
  const { api, config } = useDashboard();
  // Each endpoint with its SLO report; one endpoint's failing report does not hide the others.
  const endpoints = useLive(
    'overview:endpoints',
    async () => {
      const list = await api.listEndpoints();
      const slos = await Promise.allSettled(list.map((endpoint) => api.endpointSlo(endpoint.name)));
      return list.map((endpoint, i) => ({ endpoint, slo: slos[i]! }));
    },
    { on: ['endpoint'] },
  );
  const rollouts = useLive('overview:rollouts', () => api.listRollouts({ active: true }), {
    on: ['rollout'],
  });
  const alerts = useLive('overview:alerts', () => api.listAlerts(['firing']), { on: ['alert'] });
  // /readyz is public and answers 503 with the same body when something is down.
  const health = useLive('readyz', async () => {
    const response = await fetch(`${config.apiBaseUrl}/readyz`);
    return readiness.parse(await response.json());
  });

  return (
    <>
      <h1>Overview</h1>
      <div className="grid-2">
        <section aria-labelledby="overview-endpoints">
          <h2 id="overview-endpoints">Endpoints</h2>
          <Resource live={endpoints} what="Endpoints">
            {(list) =>
              list.length === 0 ? (
                <Empty title="No endpoints yet">Deploy a model to serve predictions.</Empty>
              ) : (
                <ul className="cards" data-testid="overview-endpoints">
                  {list.map(({ endpoint, slo }) => (
                    <li key={endpoint.name} className="card">
                      <h3>
                        {endpoint.name} <span className="muted small">{endpoint.modelName}</span>
                      </h3>
                      <EndpointSplit endpoint={endpoint} />
                      {slo.status === 'fulfilled' ? (
                        <SloLine slo={slo.value} />
                      ) : (
                        <p className="small muted">
                          SLO report unavailable: {describeError(slo.reason).detail}
                        </p>
                      )}
                    </li>
                  ))}
                </ul>
              )
            }
          </Resource>
        </section>
        <section aria-labelledby="overview-alerts">
          <h2 id="overview-alerts">Firing alerts</h2>
          <Resource live={alerts} what="Alerts">
            {(all) => {
              const firing = all.filter((alert) => alert.state === 'firing');
              return firing.length === 0 ? (
                <Empty title="No alerts firing" />
              ) : (
                <ul className="plain-list">
                  {firing.map((alert) => (
                    <li key={alert.id}>
                      <StateBadge state={alert.severity} />{' '}
                      <a href={href({ page: 'alert', id: alert.id })}>{alert.summary}</a>{' '}
                      <span className="muted small">
                        <Time iso={alert.lastFiredAt} />
                      </span>
                    </li>
                  ))}
                  <li>
                    <a href={href({ page: 'alerts' })}>All alerts</a>
                  </li>
                </ul>
              );
            }}
          </Resource>
        </section>
        <section aria-labelledby="overview-rollouts">
          <h2 id="overview-rollouts">Rollouts in progress</h2>
          <Resource live={rollouts} what="Rollouts">
            {(list) => {
              const active = list.filter((rollout) => activeRolloutStates.includes(rollout.state));
              return active.length === 0 ? (
                <Empty title="No rollout in progress" />
              ) : (
                <ul className="plain-list">
                  {active.map((rollout) => (
                    <li key={rollout.id}>
                      <a href={href({ page: 'rollout', id: rollout.id })}>
                        {rollout.endpoint}: {rollout.model} v{rollout.candidate.version}
                      </a>{' '}
                      <StateBadge state={rollout.state} /> at {rollout.weight}%
                    </li>
                  ))}
                </ul>
              );
            }}
          </Resource>
        </section>
        <section aria-labelledby="overview-platform">
          <h2 id="overview-platform">Platform</h2>
          <Resource live={health} what="Platform health">
            {({ checks }) =>
              checks.length === 0 ? (
                <Empty title="No dependency checks reported" />
              ) : (
                <ul className="plain-list" data-testid="platform-health">
                  {checks.map((check) => (
                    <li key={check.name}>
                      <Badge tone={check.ok ? 'good' : 'bad'}>{check.ok ? 'healthy' : 'down'}</Badge>{' '}
                      {check.name}{' '}
                      <span className="muted small">{check.ok ? `${check.latencyMs} ms` : check.detail}</span>
                    </li>
                  ))}
                </ul>
              )
            }
          </Resource>
        </section>
      </div>
    </>
  );
}
