import { useState } from 'react';
import type { AuditEventView } from '../api.ts';
import { useDashboard } from '../context.tsx';
import { useLive } from '../live.ts';
import { Badge, Empty, ErrorState, Resource, Time } from '../ui.tsx';

const pageSize = 50;

function Change({ event }: { event: AuditEventView }) {
  if (event.before === null && event.after === null) return <span className="muted">—</span>;
  return (
    <details>
      <summary>before / after</summary>
      <div className="grid-2">
        <pre aria-label="before">{JSON.stringify(event.before, null, 2) ?? 'null'}</pre>
        <pre aria-label="after">{JSON.stringify(event.after, null, 2) ?? 'null'}</pre>
      </div>
    </details>
  );
}

export function AuditPage() {
  const { api } = useDashboard();
  // Older pages are fetched on request and kept; the newest page stays live.
  const [older, setOlder] = useState<AuditEventView[]>([]);
  const [olderError, setOlderError] = useState<unknown>(undefined);
  const [exhausted, setExhausted] = useState(false);
  const latest = useLive('audit', () => api.audit({ limit: pageSize }), {
    // Every entry is an event on the stream: polling is only for when the stream is down.
    on: ['*'],
    poll: 'fallback',
  });
  const verification = useLive('audit:verify', () => api.verifyAudit(), { poll: false });

  return (
    <>
      <h1>Audit log</h1>
      <p>
        Every registry, deployment, token and alert action, newest first. Chain:{' '}
        {verification.status === 'loading' && <span className="muted">verifying…</span>}
        {verification.status === 'error' && <span className="muted">not verified</span>}
        {verification.status === 'ready' &&
          (verification.data.ok ? (
            <Badge tone="good">intact ({verification.data.checked} entries checked)</Badge>
          ) : (
            <Badge tone="bad">
              broken at entry {verification.data.brokenAt}: {verification.data.reason}
            </Badge>
          ))}{' '}
        <button type="button" className="link-button" onClick={verification.refresh}>
          Verify again
        </button>
      </p>
      <Resource live={latest} what="Audit log">
        {({ events }) => {
          const all = [...events, ...older.filter((event) => event.id < (events.at(-1)?.id ?? Infinity))];
          if (all.length === 0) return <Empty title="Nothing has happened in this project yet" />;
          return (
            <>
              <table data-testid="audit-table">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">Action</th>
                    <th scope="col">Subject</th>
                    <th scope="col">Change</th>
                    <th scope="col">Request</th>
                  </tr>
                </thead>
                <tbody>
                  {all.map((event) => (
                    <tr key={event.id}>
                      <td>
                        <Time iso={event.createdAt} />
                      </td>
                      <td>{event.actor}</td>
                      <th scope="row">
                        <code>{event.action}</code>
                      </th>
                      <td>
                        {event.subjectKind} <code className="small">{event.subjectId.slice(0, 12)}</code>
                      </td>
                      <td>
                        <Change event={event} />
                      </td>
                      <td className="muted small">{event.requestId?.slice(0, 8) ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {olderError !== undefined && <ErrorState error={olderError} />}
              {!exhausted && events.length === pageSize && (
                <button
                  type="button"
                  onClick={() => {
                    const beforeId = all.at(-1)?.id;
                    api.audit({ limit: pageSize, ...(beforeId ? { beforeId } : {}) }).then((page) => {
                      setOlderError(undefined);
                      setOlder((previous) => [...previous, ...page.events]);
                      if (page.events.length < pageSize) setExhausted(true);
                    }, setOlderError);
                  }}
                >
                  Older entries
                </button>
              )}
            </>
          );
        }}
      </Resource>
    </>
  );
}
