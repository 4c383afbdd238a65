import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError, isMissingRoute } from './api.ts';
import type { Live } from './live.ts';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function describeError(error: unknown): { title: string; detail: string; requestId?: string } {
  if (error instanceof ApiError) {
    const title =
      error.status === 0
        ? 'The API cannot be reached'
        : error.status === 401
          ? 'Your token was not accepted'
          : error.status === 403
            ? 'Your token’s role may not see this'
            : error.status === 404
              ? 'Not found'
              : error.status === 429
                ? 'Too many requests'
                : `The API answered ${error.status}`;
    return { title, detail: error.message, ...(error.requestId ? { requestId: error.requestId } : {}) };
  }
  return { title: 'Something went wrong', detail: error instanceof Error ? error.message : String(error) };
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { title, detail, requestId } = describeError(error);
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <p>{detail}</p>
      {requestId && <p className="muted">request id {requestId}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <p>{children}</p>}
    </div>
  );
}

/** A planned API route that the running control plane does not serve yet. */
export function NotYetAvailable({ what }: { what: string }) {
  return (
    <div className="state state-empty" data-testid="not-available">
      <strong>{what}: not available yet</strong>
      <p>This control plane does not serve {what.toLowerCase()} yet. The page fills in once it does.</p>
    </div>
  );
}

/**
 * The loading / error / not-yet-available / data branches every page needs, in one place. A failed
 * refresh keeps the last data on screen with a notice rather than blanking the page.
 */
export function Resource<T>({
  live,
  what,
  children,
}: {
  live: Live<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (live.status === 'loading') return <Loading what={what.toLowerCase()} />;
  if (live.status === 'error') {
    if (isMissingRoute(live.error)) return <NotYetAvailable what={what} />;
    return <ErrorState error={live.error} onRetry={live.refresh} />;
  }
  return (
    <>
      {live.error !== undefined && (
        <p className="stale" role="status">
          Showing data from {formatTime(live.updatedAt.toISOString())}: the last refresh failed (
          {describeError(live.error).detail}).
        </p>
      )}
      {children(live.data)}
    </>
  );
}

export function Badge({
  tone,
  children,
}: {
  tone: 'good' | 'bad' | 'warn' | 'info' | 'muted';
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

const stateTones: Record<string, 'good' | 'bad' | 'warn' | 'info' | 'muted'> = {
  production: 'good',
  validated: 'info',
  canary: 'warn',
  validating: 'info',
  registered: 'muted',
  rejected: 'bad',
  failed: 'bad',
  rolled_back: 'bad',
  archived: 'muted',
  running: 'info',
  awaiting_approval: 'warn',
  paused: 'warn',
  succeeded: 'good',
  aborted: 'bad',
  firing: 'bad',
  acknowledged: 'warn',
  resolved: 'good',
  passed: 'good',
  inconclusive: 'muted',
  skipped: 'muted',
  critical: 'bad',
  warning: 'warn',
  info: 'info',
  drifted: 'bad',
  stable: 'good',
  stopped: 'muted',
  delivered: 'good',
  pending: 'info',
};

export function StateBadge({ state }: { state: string }) {
  return <Badge tone={stateTones[state] ?? 'muted'}>{state.replace(/_/g, ' ')}</Badge>;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function Time({ iso }: { iso: string | null | undefined }) {
  return iso ? <time dateTime={iso}>{formatTime(iso)}</time> : <span className="muted">—</span>;
}

export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) return '—';
  if (Number.isInteger(value)) return value.toLocaleString();
  return value.toFixed(digits);
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export function Delta({
  value,
  greaterIsBetter = true,
}: {
  value: number | null;
  greaterIsBetter?: boolean;
}) {
  if (value === null) return <span className="muted">—</span>;
  const better = greaterIsBetter ? value > 0 : value < 0;
  const tone = value === 0 ? 'muted' : better ? 'good' : 'bad';
  return (
    <span className={`delta delta-${tone}`}>
      {value > 0 ? '+' : value < 0 ? '−' : '±'}
      {Math.abs(value).toFixed(4)}
    </span>
  );
}

/** Copies text; says so for a moment. Long hashes and URIs are easier to copy than to select. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className="link-button small"
      aria-label={`Copy ${label}`}
      onClick={() => {
        navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => undefined,
        );
      }}
    >
      {copied ? 'copied' : 'copy'}
    </button>
  );
}

/**
 * Asks before an action that changes production (approve, abort, roll back…): a modal dialog that
 * takes focus, closes with Escape, and optionally asks for a reason.
 */
export function ConfirmButton({
  label,
  title,
  description,
  confirmLabel,
  tone = 'normal',
  askReason = false,
  reasonLabel = 'Reason',
  onConfirm,
  disabled,
  disabledReason,
}: {
  label: string;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  tone?: 'normal' | 'danger';
  /** Ask for a reason (or note) in the dialog: required, optional, or not at all. */
  askReason?: boolean | 'optional';
  reasonLabel?: string;
  onConfirm: (reason: string) => Promise<unknown>;
  disabled?: boolean;
  /** Why the button is disabled, e.g. the token's role lacks the permission; shown as its title. */
  disabledReason?: string | undefined;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const close = () => {
    dialog.current?.close();
    setError(undefined);
    setReason('');
  };
  return (
    <>
      <button
        type="button"
        className={tone === 'danger' ? 'danger' : undefined}
        disabled={disabled || disabledReason !== undefined}
        title={disabledReason}
        onClick={() => dialog.current?.showModal()}
      >
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} onClose={() => setError(undefined)}>
        <form
          method="dialog"
          onSubmit={(event) => {
            event.preventDefault();
            setBusy(true);
            onConfirm(reason.trim()).then(
              () => {
                setBusy(false);
                close();
              },
              (err: unknown) => {
                setBusy(false);
                setError(err);
              },
            );
          }}
        >
          <h2 id={titleId}>{title}</h2>
          <div>{description}</div>
          {askReason && (
            <label className="field">
              {askReason === 'optional' ? `${reasonLabel} (optional)` : reasonLabel}
              <input
                required={askReason === true}
                maxLength={2000}
                value={reason}
                onChange={(event) => setReason(event.target.value)}
              />
            </label>
          )}
          {error !== undefined && <ErrorState error={error} />}
          <div className="actions">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" className={tone === 'danger' ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : confirmLabel}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

export function ExternalLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {children}
      <span className="visually-hidden"> (opens in a new tab)</span> ↗
    </a>
  );
}
