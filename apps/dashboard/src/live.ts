import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from './context.tsx';

export type Live<T> =
  | { status: 'loading'; data?: undefined; error?: undefined; refresh: () => void }
  | { status: 'error'; data?: undefined; error: unknown; refresh: () => void }
  /** `error` is set when a refresh failed after data had arrived: the data shown is stale. */
  | { status: 'ready'; data: T; error?: unknown; updatedAt: Date; refresh: () => void };

/**
 * Data that stays current: loads on mount and whenever `key` changes, then again every poll
 * interval while the tab is visible. This is the one place live updates come from: when the API
 * streams events (`GET /v1/projects/{p}/events`), it becomes "reload when an event names this
 * resource" and no page changes.
 */
export function useLive<T>(key: string, load: () => Promise<T>, options: { poll?: boolean } = {}): Live<T> {
  const { config } = useDashboard();
  const [state, setState] = useState<
    | { status: 'loading'; key: string }
    | { status: 'error'; key: string; error: unknown }
    | { status: 'ready'; key: string; data: T; error?: unknown; updatedAt: Date }
  >({ status: 'loading', key });
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const run = useCallback(() => {
    const mine = ++generation.current;
    loadRef.current().then(
      (data) => {
        if (mine === generation.current) setState({ status: 'ready', key, data, updatedAt: new Date() });
      },
      (error: unknown) => {
        if (mine !== generation.current) return;
        setState((previous) =>
          previous.status === 'ready' && previous.key === key
            ? { ...previous, error }
            : { status: 'error', key, error },
        );
      },
    );
  }, [key]);

  useEffect(() => {
    setState({ status: 'loading', key });
    run();
    if (options.poll === false) return () => void generation.current++;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, config.pollIntervalMs);
    return () => {
      clearInterval(timer);
      generation.current++;
    };
  }, [key, run, options.poll, config.pollIntervalMs]);

  // A key change renders once before the effect resets the state: never show another key's data.
  if (state.key !== key || state.status === 'loading') return { status: 'loading', refresh: run };
  if (state.status === 'error') return { status: 'error', error: state.error, refresh: run };
  return {
    status: 'ready',
    data: state.data,
    error: state.error,
    updatedAt: state.updatedAt,
    refresh: run,
  };
}
