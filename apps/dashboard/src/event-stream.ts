import { z } from 'zod';
import { SseParser } from './sse.ts';

/**
 * The control plane's event stream (`GET /v1/projects/{p}/events`), read with `fetch` rather than
 * `EventSource`: EventSource cannot send the `Authorization` header, and the alternative, a token in
 * the URL, would land in proxy and access logs. fetch streaming works in every browser the dashboard
 * supports; this module adds what EventSource would have done: parsing, reconnecting with
 * `Last-Event-ID`, and noticing a dead connection (no heartbeat).
 */

export const auditEventSummary = z.object({
  id: z.number(),
  action: z.string(),
  subjectKind: z.string(),
  subjectId: z.string(),
  createdAt: z.string(),
});
export type AuditEventSummary = z.infer<typeof auditEventSummary>;

/**
 * - connecting: the first attempt is under way;
 * - live: events arrive as they happen;
 * - reconnecting: the connection dropped; it is retried with backoff (pages poll meanwhile);
 * - unavailable: the API has no event stream or refused the token: pages poll, nothing is retried.
 */
export type StreamStatus = 'connecting' | 'live' | 'reconnecting' | 'unavailable';

export interface EventStreamOptions {
  url: string;
  token: string;
  onAudit: (event: AuditEventSummary) => void;
  /** More was missed than the server could replay: everything shown may be stale. */
  onReset: () => void;
  onStatus: (status: StreamStatus, detail?: string) => void;
  /** The server sends a heartbeat every 15 s; this much silence means the connection is dead. */
  silenceTimeoutMs?: number;
  /** Backoff bounds between reconnects. */
  minRetryMs?: number;
  maxRetryMs?: number;
  fetch?: typeof fetch;
}

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** Opens the stream and keeps it open until the returned function is called. */
export function openEventStream(options: EventStreamOptions): () => void {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const silenceTimeoutMs = options.silenceTimeoutMs ?? 45_000;
  const minRetryMs = options.minRetryMs ?? 1000;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  let stopped = false;
  let controller: AbortController | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let lastEventId: string | undefined;
  let failures = 0;
  let serverRetryMs: number | undefined;

  /** One connection, until it ends; resolves with whether to try again. */
  async function connect(): Promise<boolean> {
    controller = new AbortController();
    const abort = controller;
    let silence: ReturnType<typeof setTimeout> | undefined;
    const awake = () => {
      clearTimeout(silence);
      silence = setTimeout(() => abort.abort(), silenceTimeoutMs);
    };
    try {
      awake();
      const response = await doFetch(options.url, {
        headers: {
          authorization: `Bearer ${options.token}`,
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
        cache: 'no-store',
        signal: abort.signal,
      });
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        const parsed = errorBody.safeParse(safeJson(text));
        const message = parsed.success ? parsed.data.error.message : `answered ${response.status}`;
        // No such route (an older API), or a token it refuses: polling is all there is.
        if (response.status === 404 || response.status === 401 || response.status === 403) {
          options.onStatus('unavailable', message);
          return false;
        }
        throw new Error(message);
      }
      const parser = new SseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        awake();
        for (const event of parser.push(chunk.value)) {
          if (event.event === 'ready') {
            failures = 0;
            options.onStatus('live');
          } else if (event.event === 'audit') {
            const parsed = auditEventSummary.safeParse(safeJson(event.data));
            if (parsed.success) options.onAudit(parsed.data);
          } else if (event.event === 'reset') {
            options.onReset();
          }
        }
        lastEventId = parser.lastEventId ?? lastEventId;
        serverRetryMs = parser.retryMs ?? serverRetryMs;
      }
    } catch {
      // Dropped, aborted for silence, or unreachable: all retried below.
    } finally {
      clearTimeout(silence);
    }
    return !stopped;
  }

  async function run(): Promise<void> {
    while (!stopped) {
      if (!(await connect())) return;
      if (stopped) return;
      failures += 1;
      options.onStatus('reconnecting');
      // Exponential backoff with jitter, so a restarted API is not met by every tab at once.
      const base = Math.max(serverRetryMs ?? 0, minRetryMs);
      const delay = Math.min(maxRetryMs, base * 2 ** Math.min(failures - 1, 10)) * (0.5 + Math.random() / 2);
      await new Promise<void>((resolve) => (retryTimer = setTimeout(resolve, delay)));
    }
  }

  options.onStatus('connecting');
  void run();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    controller?.abort();
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
