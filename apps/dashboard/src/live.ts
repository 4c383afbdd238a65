import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { useDashboard } from './context.tsx';
import type { AuditEventSummary, StreamStatus } from './event-stream.ts';

export type Live<T> =
  | { status: 'loading'; data?: undefined; error?: undefined; refresh: () => void }
  | { status: 'error'; data?: undefined; error: unknown; refresh: () => void }
  /** `error` is set when a refresh failed after data had arrived: the data shown is stale. */
  | { status: 'ready'; data: T; error?: unknown; updatedAt: Date; refresh: () => void };

/** What the event stream tells pages: an audit event, or "anything may have changed" (after a reset). */
export type LiveSignal = { type: 'audit'; event: AuditEventSummary } | { type: 'reset' };

export interface LiveEvents {
  status: StreamStatus;
  subscribe: (listener: (signal: LiveSignal) => void) => () => void;
}

/** Provided by the signed-in layout; absent (null) means no stream: pages poll. */
export const LiveEventsContext = createContext<LiveEvents | null>(null);

export const useLiveEvents = () => useContext(LiveEventsContext);

/** A listener registry the layout feeds from the event stream. */
export function createLiveSignals() {
  const listeners = new Set<(signal: LiveSignal) => void>();
  return {
    emit: (signal: LiveSignal) => {
      for (const listener of listeners) listener(signal);
    },
    subscribe: (listener: (signal: LiveSignal) => void) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

export interface LiveOptions {
  /**
   * When to poll: `always` (default) for data that also changes without an audit event (serving
   * stats, lag, alert repeat counts); `fallback` for data whose every change is an audit event (the
   * audit log), polled only while the event stream is not live; `false` never.
   */
  poll?: 'always' | 'fallback' | false;
  /** Subject kinds (`alert`, `rollout`, …) whose audit events reload this data at once; `*` for any. */
  on?: readonly string[];
}

/** Events of a burst (a rollout step writes several) reload once. */
const eventDebounceMs = 150;

export const matchesSubject = (on: readonly string[], event: AuditEventSummary) =>
  on.includes('*') || on.includes(event.subjectKind);

/**
 * Data that stays current: loads on mount and whenever `key` changes, reloads when an audit event
 * of a kind in `on` arrives over the event stream, and polls per `poll`. The one place live updates
 * come from.
 */
export function useLive<T>(key: string, load: () => Promise<T>, options: LiveOptions = {}): Live<T> {
  const { config } = useDashboard();
  const events = useLiveEvents();
  const [state, setState] = useState<
    | { status: 'loading'; key: string }
    | { status: 'error'; key: string; error: unknown }
    | { status: 'ready'; key: string; data: T; error?: unknown; updatedAt: Date }
  >({ status: 'loading', key });
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const poll = options.poll ?? 'always';
  const on = options.on ?? [];
  const onKey = on.join(',');

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
    return () => void generation.current++;
  }, [key, run]);

  // Polling: always, or while the stream is not live for data the stream covers.
  const streamLive = events?.status === 'live';
  const polling = poll === 'always' || (poll === 'fallback' && !streamLive);
  useEffect(() => {
    if (!polling) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, config.pollIntervalMs);
    return () => clearInterval(timer);
  }, [polling, run, config.pollIntervalMs]);

  // Changes made while the stream was connecting are not replayed: catch up once it is live.
  const wasLive = useRef(streamLive);
  useEffect(() => {
    if (streamLive && !wasLive.current && poll === 'fallback') run();
    wasLive.current = streamLive;
  }, [streamLive, poll, run]);

  useEffect(() => {
    if (!events || onKey === '') return;
    const kinds = onKey.split(',');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = events.subscribe((signal) => {
      if (signal.type === 'audit' && !matchesSubject(kinds, signal.event)) return;
      clearTimeout(timer);
      timer = setTimeout(run, eventDebounceMs);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [events, onKey, run]);

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
