import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { predictResponse } from '@shepherd/contracts/serving';

export interface LoadOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8081. */
  baseUrl: string;
  endpoint: string;
  token: string;
  /** Requests started per second, on a fixed schedule whatever the answers take (open loop). */
  ratePerSecond: number;
  /** Stop after this long; `stop()` ends the run earlier. Default: until stopped. */
  durationMs?: number;
  /** Entities cycled through in order: `${entityPrefix}${i}` for i < entities. */
  entities: number;
  entityPrefix?: string;
  /** Real entity ids (e.g. cards seen by the feature store), used instead of the prefix when given. */
  entityIds?: readonly string[];
  /** Features sent with an entity's row; undefined sends none (all from the online store). */
  features?: (entityId: string, index: number) => Record<string, number | boolean | null> | undefined;
  /** Answers slower than this count as failed (status 0). */
  timeoutMs?: number;
}

export interface LoadResult {
  /** The request's number in the schedule (0, 1, …): entity `index % entities` was asked about. */
  index: number;
  /** When the request was scheduled, ms since the run started. */
  atMs: number;
  entityId: string;
  /** HTTP status; 0 when there was no answer (connection refused, timeout). */
  status: number;
  /** From the scheduled start to the complete answer, so queueing in the client counts too. */
  latencyMs: number;
  version: number | null;
  role: string | null;
  /** The gateway's id of the answer (what a delayed label names), null when there was none. */
  predictionId: string | null;
  errorCode: string | null;
}

export interface LoadSummary {
  requests: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  errorCodes: Record<string, number>;
  /** version → requests it answered. */
  versions: Record<string, number>;
  durationMs: number;
  achievedRatePerSecond: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

export interface LoadRun {
  /** Every answered request so far, in completion order. */
  readonly results: readonly LoadResult[];
  /** Stops scheduling, waits for the requests in flight and summarizes. */
  stop(): Promise<LoadSummary>;
  /** Resolves with the summary when `durationMs` is over (or `stop` was called). */
  done: Promise<LoadSummary>;
}

const errorEnvelope = z.object({ error: z.object({ code: z.string() }) });

/** Exact percentile of a sorted list (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function summarize(results: readonly LoadResult[], durationMs: number): LoadSummary {
  const statuses: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  const versions: Record<string, number> = {};
  let ok = 0;
  for (const result of results) {
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    if (result.status === 200) ok += 1;
    if (result.errorCode !== null) errorCodes[result.errorCode] = (errorCodes[result.errorCode] ?? 0) + 1;
    if (result.version !== null) versions[result.version] = (versions[result.version] ?? 0) + 1;
  }
  const latencies = results.map((result) => result.latencyMs).sort((a, b) => a - b);
  return {
    requests: results.length,
    ok,
    failed: results.length - ok,
    statuses,
    errorCodes,
    versions,
    durationMs,
    achievedRatePerSecond: durationMs > 0 ? (results.length * 1000) / durationMs : 0,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? null,
  };
}

/**
 * A load generator for tests, drills and benchmarks: single-row predict requests at a fixed rate
 * over a set of entities, each result recorded (status, latency, version). The schedule is open
 * loop: a slow answer does not delay the next request, so latency figures include the queueing a
 * real client population would see.
 */
export function startLoad(options: LoadOptions): LoadRun {
  if (!(options.ratePerSecond > 0)) throw new Error('ratePerSecond must be positive');
  if (!(options.entities >= 1)) throw new Error('entities must be at least 1');
  const url = `${options.baseUrl.replace(/\/$/, '')}/v1/endpoints/${encodeURIComponent(options.endpoint)}/predict`;
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  const prefix = options.entityPrefix ?? 'entity-';
  const intervalMs = 1000 / options.ratePerSecond;
  const results: LoadResult[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let finish: (summary: LoadSummary) => void = () => undefined;
  const done = new Promise<LoadSummary>((resolve) => (finish = resolve));

  const fire = (index: number, scheduledAt: number) => {
    const entityIndex = index % options.entities;
    const entityId = options.entityIds?.[entityIndex % options.entityIds.length] ?? `${prefix}${entityIndex}`;
    const features = options.features?.(entityId, entityIndex);
    const body = JSON.stringify(features === undefined ? { entityId } : { entityId, features });
    const request = (async () => {
      let status = 0;
      let version: number | null = null;
      let role: string | null = null;
      let predictionId: string | null = null;
      let errorCode: string | null = null;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        status = response.status;
        const json: unknown = await response.json();
        if (status === 200) {
          const prediction = predictResponse.parse(json).predictions[0];
          version = prediction?.version ?? null;
          role = prediction?.role ?? null;
          predictionId = prediction?.predictionId ?? null;
        } else {
          errorCode = errorEnvelope.safeParse(json).data?.error.code ?? 'unparseable';
        }
      } catch (err) {
        status = 0;
        errorCode = err instanceof Error ? err.name : 'error';
      }
      results.push({
        index,
        atMs: scheduledAt - started,
        entityId,
        status,
        latencyMs: performance.now() - scheduledAt,
        version,
        role,
        predictionId,
        errorCode,
      });
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  // Fire everything due, then sleep until the next one is; setTimeout's ~1 ms grain is absorbed by
  // sending every request whose scheduled time has passed (each timed from its schedule, not its send).
  const tick = () => {
    if (stopped) return;
    const now = performance.now();
    if (options.durationMs !== undefined && now - started >= options.durationMs) {
      void stop();
      return;
    }
    while (started + sent * intervalMs <= now) {
      if (options.durationMs !== undefined && sent * intervalMs >= options.durationMs) break;
      fire(sent, started + sent * intervalMs);
      sent += 1;
    }
    const next = started + sent * intervalMs - performance.now();
    timer = setTimeout(tick, Math.max(0, Math.min(next, 50)));
  };

  let stopping: Promise<LoadSummary> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      clearTimeout(timer);
      const elapsed = performance.now() - started;
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      const summary = summarize(results, elapsed);
      finish(summary);
      return summary;
    })());

  tick();
  return { results, stop, done };
}

/** Runs a load for `durationMs` and returns its summary. */
export function runLoad(options: LoadOptions & { durationMs: number }): Promise<LoadSummary> {
  return startLoad(options).done;
}
