import { useState } from 'react';
import type { AlertState } from '@shepherd/contracts/alerts';
import { denied, type AlertView, type EndpointConfig } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { runbookUrl, temporalWorkflowUrl } from '../links.ts';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { ConfirmButton, Empty, ExternalLink, Resource, StateBadge, Time, formatNumber } from '../ui.tsx';

const filters: { name: string; label: string; states: AlertState[] }[] = [
  { name: 'open', label: 'open', states: ['firing', 'acknowledged'] },
  { name: 'firing', label: 'firing', states: ['firing'] },
  { name: 'acknowledged', label: 'acknowledged', states: ['acknowledged'] },
  { name: 'resolved', label: 'resolved', states: ['resolved'] },
  { name: 'all', label: 'all', states: [] },
];

/** Alerts change by on-call actions (audited) and by repeats (not audited): events and polling both. */
const alertEvents = ['alert'];

export function Runbook({ path }: { path: string }) {
  const { config } = useDashboard();
  const url = runbookUrl(config, path);
  return url ? (
    <ExternalLink href={url}>runbook</ExternalLink>
  ) : (
    <span>
      runbook <code>{path}</code>
    </span>
  );
}

/** What the alert is about, linked to where it lives in the dashboard. */
export function AlertSubject({
  alert,
  endpoints,
}: {
  alert: AlertView;
  endpoints: readonly EndpointConfig[] | undefined;
}) {
  const { kind, id } = alert.subject;
  if (kind === 'rollout') {
    return <a href={href({ page: 'rollout', id })}>rollout {id.slice(0, 8)}</a>;
  }
  if (kind === 'deployment') {
    const fromDetails = typeof alert.details['endpoint'] === 'string' ? alert.details['endpoint'] : undefined;
    const name = endpoints?.find((endpoint) => endpoint.id === id)?.name ?? fromDetails;
    return name ? (
      <a href={href({ page: 'slos', endpoint: name })}>endpoint {name}</a>
    ) : (
      <span>
        endpoint <code>{id.slice(0, 8)}</code>
      </span>
    );
  }
  if (kind === 'model_version' || kind === 'feature_view' || kind === 'training_set') {
    return (
      <a href={href({ page: 'lineage', kind, id })}>
        {kind.replace(/_/g, ' ')} {id.slice(0, 8)}
      </a>
    );
  }
  return (
    <span>
      {kind.replace(/_/g, ' ')} <code>{id.slice(0, 12)}</code>
    </span>
  );
}

/** Acknowledge and resolve, each behind a confirmation with an optional note for the audit log. */
export function AlertMoves({ alert, onDone }: { alert: AlertView; onDone: () => void }) {
  const { api } = useDashboard();
  const notAllowed = denied(api.session.role, 'write');
  return (
    <>
      {alert.state === 'firing' && (
        <ConfirmButton
          label="Acknowledge"
          title={`Acknowledge: ${alert.summary}`}
          description="On-call is on it: the alert stops paging and webhooks hear of it. It stays open until resolved."
          confirmLabel="Acknowledge"
          askReason="optional"
          reasonLabel="Note"
          disabledReason={notAllowed}
          onConfirm={async (note) => {
            await api.moveAlert(alert.id, 'ack', note || undefined);
            onDone();
          }}
        />
      )}
      {alert.state !== 'resolved' && (
        <ConfirmButton
          label="Resolve"
          title={`Resolve: ${alert.summary}`}
          description="The problem is over. If the signal fires again, a new alert opens."
          confirmLabel="Resolve"
          askReason="optional"
          reasonLabel="Note"
          disabledReason={notAllowed}
          onConfirm={async (note) => {
            await api.moveAlert(alert.id, 'resolve', note || undefined);
            onDone();
          }}
        />
      )}
    </>
  );
}

export function AlertsPage() {
  const { api } = useDashboard();
  const [filterName, setFilterName] = useState('open');
  const filter = filters.find((item) => item.name === filterName) ?? filters[0]!;
  const alerts = useLive(`alerts:${filter.name}`, () => api.listAlerts(filter.states), { on: alertEvents });
  // Only to name deployments; a failure here leaves the ids shown.
  const endpoints = useLive('endpoints', () => api.listEndpoints(), { on: ['endpoint'] });
  return (
    <>
      <h1>Alerts</h1>
      <fieldset className="filter">
        <legend>Show</legend>
        {filters.map((item) => (
          <label key={item.name}>
            <input
              type="radio"
              name="alert-state"
              checked={filter.name === item.name}
              onChange={() => setFilterName(item.name)}
            />{' '}
            {item.label}
          </label>
        ))}
      </fieldset>
      <Resource live={alerts} what="Alerts">
        {(shown) =>
          shown.length === 0 ? (
            <Empty title={filter.name === 'all' ? 'No alerts' : `No ${filter.label} alerts`}>
              Alerts open when drift, SLO burn, parity or a failed rollout needs someone.
            </Empty>
          ) : (
            <table data-testid="alerts-table">
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Alert</th>
                  <th scope="col">State</th>
                  <th scope="col">Occurrences</th>
                  <th scope="col">Fired / last fired</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((alert) => (
                  <tr key={alert.id} data-alert-id={alert.id}>
                    <td>
                      <StateBadge state={alert.severity} />
                    </td>
                    <th scope="row">
                      <a href={href({ page: 'alert', id: alert.id })}>{alert.summary}</a>
                      <div className="muted small">
                        {alert.kind.replace(/_/g, ' ')} · {alert.source} ·{' '}
                        <AlertSubject
                          alert={alert}
                          endpoints={endpoints.status === 'ready' ? endpoints.data : undefined}
                        />{' '}
                        · <Runbook path={alert.runbook} />
                      </div>
                    </th>
                    <td>
                      <StateBadge state={alert.state} />
                      {alert.state === 'acknowledged' && alert.acknowledgedBy && (
                        <div className="muted small">by {alert.acknowledgedBy}</div>
                      )}
                      {alert.state === 'resolved' && alert.resolvedBy && (
                        <div className="muted small">by {alert.resolvedBy}</div>
                      )}
                    </td>
                    <td className="number">{formatNumber(alert.occurrences)}</td>
                    <td className="small">
                      <Time iso={alert.firedAt} />
                      {alert.lastFiredAt !== alert.firedAt && (
                        <div className="muted">
                          last <Time iso={alert.lastFiredAt} />
                        </div>
                      )}
                    </td>
                    <td>
                      <div className="actions">
                        <AlertMoves alert={alert} onDone={alerts.refresh} />
                      </div>
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

const remedies = [
  {
    remedy: 'rollback' as const,
    label: 'Roll back endpoint',
    danger: true,
    explain:
      'Stops the endpoint’s rollout in progress, or restores the previous champion to 100% of the traffic. Acknowledges this alert.',
  },
  {
    remedy: 'retrain' as const,
    label: 'Retrain',
    danger: false,
    explain:
      'Retrains the endpoint’s champion as it was trained; the new version is gated and canaried on the endpoint. Acknowledges this alert.',
  },
];

/** One alert: everything about it, its notifications, and what on-call can do. */
export function AlertPage({ id }: { id: string }) {
  const { api, config } = useDashboard();
  const alert = useLive(`alert:${id}`, () => api.getAlert(id), { on: alertEvents });
  const endpoints = useLive('endpoints', () => api.listEndpoints(), { on: ['endpoint'] });
  const deliveries = useLive(`alert:${id}:deliveries`, () => api.alertDeliveries(id), { on: alertEvents });
  const notAllowed = denied(api.session.role, 'write');
  return (
    <>
      <p className="breadcrumbs">
        <a href={href({ page: 'alerts' })}>Alerts</a> / {id.slice(0, 8)}
      </p>
      <Resource live={alert} what="Alert">
        {(a) => {
          const remedy = a.details['remedy'] as
            { action?: string; workflowId?: string; by?: string } | undefined;
          const { remedy: _remedy, ...details } = a.details;
          return (
            <>
              <h1>
                {a.summary} <StateBadge state={a.severity} /> <StateBadge state={a.state} />
              </h1>
              <div className="actions" data-testid="alert-actions">
                <AlertMoves alert={a} onDone={alert.refresh} />
                {(a.subject.kind === 'deployment' || a.subject.kind === 'rollout') &&
                  a.state !== 'resolved' &&
                  remedies.map((item) => (
                    <ConfirmButton
                      key={item.remedy}
                      label={item.label}
                      title={`${item.label}: ${a.summary}`}
                      description={item.explain}
                      confirmLabel={item.label}
                      tone={item.danger ? 'danger' : 'normal'}
                      askReason={item.danger ? true : 'optional'}
                      disabledReason={notAllowed}
                      onConfirm={async (reason) => {
                        await api.alertRemedy(a.id, item.remedy, reason || undefined);
                        alert.refresh();
                      }}
                    />
                  ))}
              </div>
              <dl className="facts" data-testid="alert-facts">
                <dt>Kind</dt>
                <dd>
                  {a.kind.replace(/_/g, ' ')} <span className="muted">({a.source})</span>
                </dd>
                <dt>About</dt>
                <dd>
                  <AlertSubject
                    alert={a}
                    endpoints={endpoints.status === 'ready' ? endpoints.data : undefined}
                  />
                </dd>
                <dt>Fired</dt>
                <dd>
                  <Time iso={a.firedAt} />, {a.occurrences === 1 ? 'once' : `${a.occurrences} times`} (last{' '}
                  <Time iso={a.lastFiredAt} />)
                </dd>
                {a.acknowledgedAt && (
                  <>
                    <dt>Acknowledged</dt>
                    <dd>
                      <Time iso={a.acknowledgedAt} /> by {a.acknowledgedBy}
                    </dd>
                  </>
                )}
                {a.resolvedAt && (
                  <>
                    <dt>Resolved</dt>
                    <dd>
                      <Time iso={a.resolvedAt} /> by {a.resolvedBy}
                    </dd>
                  </>
                )}
                {remedy?.action && (
                  <>
                    <dt>Remedy</dt>
                    <dd>
                      {remedy.action} by {remedy.by}
                      {remedy.workflowId && (
                        <>
                          {' '}
                          ·{' '}
                          <ExternalLink href={temporalWorkflowUrl(config, remedy.workflowId)}>
                            <code>{remedy.workflowId}</code>
                          </ExternalLink>
                        </>
                      )}
                    </dd>
                  </>
                )}
                <dt>Runbook</dt>
                <dd>
                  <Runbook path={a.runbook} />
                </dd>
                <dt>Dedup key</dt>
                <dd>
                  <code>{a.dedupKey}</code>
                </dd>
                <dt>Lineage</dt>
                <dd>
                  <a href={href({ page: 'lineage', kind: 'alert', id: a.id })}>trace where it came from</a>
                </dd>
              </dl>
              {Object.keys(details).length > 0 && (
                <>
                  <h2>Details</h2>
                  <pre className="details">{JSON.stringify(details, null, 2)}</pre>
                </>
              )}
            </>
          );
        }}
      </Resource>
      <h2>Notifications</h2>
      <Resource live={deliveries} what="Notifications">
        {({ deliveries: list }) =>
          list.length === 0 ? (
            <Empty title="Not sent anywhere">No webhook takes this alert.</Empty>
          ) : (
            <table data-testid="deliveries-table">
              <thead>
                <tr>
                  <th scope="col">Webhook</th>
                  <th scope="col">Event</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last answer</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.map((delivery) => (
                  <tr key={delivery.id}>
                    <th scope="row">{delivery.webhook}</th>
                    <td>{delivery.event}</td>
                    <td>
                      <StateBadge state={delivery.state} />
                    </td>
                    <td className="number">{delivery.attempts}</td>
                    <td className="small">
                      {delivery.lastStatus ?? '—'}{' '}
                      {delivery.lastError && <span className="muted">{delivery.lastError}</span>}
                    </td>
                    <td>
                      <Time iso={delivery.updatedAt} />
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
