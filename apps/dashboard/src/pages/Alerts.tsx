import { useState } from 'react';
import type { AlertAction, AlertView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Empty, ErrorState, Resource, StateBadge, Time } from '../ui.tsx';

const states = ['firing', 'acknowledged', 'resolved', 'all'] as const;

function AlertActions({ alert, onDone }: { alert: AlertView; onDone: () => void }) {
  const { api } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const act = (action: AlertAction) => {
    setBusy(true);
    api.alertAction(alert.id, action).then(
      () => {
        setBusy(false);
        setError(undefined);
        onDone();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <div className="actions">
      {alert.state === 'firing' && (
        <button type="button" disabled={busy} onClick={() => act('ack')}>
          Acknowledge
        </button>
      )}
      {alert.state !== 'resolved' && (
        <button type="button" disabled={busy} onClick={() => act('resolve')}>
          Resolve
        </button>
      )}
      {error !== undefined && <ErrorState error={error} />}
    </div>
  );
}

export function AlertsPage() {
  const { api } = useDashboard();
  const [filter, setFilter] = useState<(typeof states)[number]>('firing');
  const alerts = useLive('alerts', () => api.listAlerts());
  return (
    <>
      <h1>Alerts</h1>
      <fieldset className="filter">
        <legend>Show</legend>
        {states.map((state) => (
          <label key={state}>
            <input
              type="radio"
              name="alert-state"
              checked={filter === state}
              onChange={() => setFilter(state)}
            />{' '}
            {state}
          </label>
        ))}
      </fieldset>
      <Resource live={alerts} what="Alerts">
        {(all) => {
          const shown = filter === 'all' ? all : all.filter((alert) => alert.state === filter);
          return shown.length === 0 ? (
            <Empty title={filter === 'all' ? 'No alerts' : `No ${filter} alerts`} />
          ) : (
            <table data-testid="alerts-table">
              <thead>
                <tr>
                  <th scope="col">Alert</th>
                  <th scope="col">Severity</th>
                  <th scope="col">State</th>
                  <th scope="col">Fired</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((alert) => (
                  <tr key={alert.id}>
                    <th scope="row">
                      {alert.summary}
                      <div className="muted small">
                        {alert.source} · {alert.kind}
                        {alert.occurrences > 1 ? ` · ×${alert.occurrences}` : ''} ·{' '}
                        <a href={href({ page: 'lineage', kind: 'alert', id: alert.id })}>trace lineage</a> ·
                        runbook <code>{alert.runbook}</code>
                      </div>
                    </th>
                    <td>
                      <StateBadge state={alert.severity} />
                    </td>
                    <td>
                      <StateBadge state={alert.state} />
                      {alert.acknowledgedBy && <div className="muted small">by {alert.acknowledgedBy}</div>}
                    </td>
                    <td>
                      <Time iso={alert.lastFiredAt} />
                    </td>
                    <td>
                      <AlertActions alert={alert} onDone={alerts.refresh} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Resource>
    </>
  );
}
