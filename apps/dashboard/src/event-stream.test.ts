import { describe, expect, it } from 'vitest';
import { openEventStream, type AuditEventSummary, type StreamStatus } from './event-stream.ts';

/** A server the test drives: each request gets a stream the test writes to and can end. */
function fakeServer() {
  const requests: { headers: Record<string, string>; signal: AbortSignal }[] = [];
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  let refuse: Response | undefined;
  const encoder = new TextEncoder();
  const fetch = (async (_url: string, init: RequestInit) => {
    requests.push({ headers: init.headers as Record<string, string>, signal: init.signal! });
    if (refuse) return refuse.clone();
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        streams.push(controller);
        init.signal?.addEventListener('abort', () => controller.error(new Error('aborted')));
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }) as typeof globalThis.fetch;
  return {
    fetch,
    requests,
    write: (text: string) => streams.at(-1)!.enqueue(encoder.encode(text)),
    end: () => streams.at(-1)!.close(),
    refuseWith: (response: Response) => (refuse = response),
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

const audit = (id: number) =>
  `id: ${id}\nevent: audit\ndata: ${JSON.stringify({ id, action: 'alert.acknowledged', subjectKind: 'alert', subjectId: 'a', createdAt: '2026-01-01T00:00:00Z' })}\n\n`;

describe('openEventStream', () => {
  it('goes live, delivers audit events, and resumes from the last id after a drop', async () => {
    const server = fakeServer();
    const statuses: StreamStatus[] = [];
    const received: AuditEventSummary[] = [];
    const close = openEventStream({
      url: '/v1/projects/p/events',
      token: 'shp_x',
      fetch: server.fetch,
      minRetryMs: 1,
      onAudit: (event) => received.push(event),
      onReset: () => undefined,
      onStatus: (status) => statuses.push(status),
    });
    try {
      await until(() => server.requests.length === 1);
      expect(server.requests[0]!.headers).toMatchObject({ authorization: 'Bearer shp_x' });
      expect(server.requests[0]!.headers['last-event-id']).toBeUndefined();
      server.write('retry: 1\n\nid: 41\nevent: ready\ndata: {"lastEventId":41}\n\n');
      await until(() => statuses.at(-1) === 'live');
      server.write(audit(42) + audit(43));
      await until(() => received.length === 2);
      expect(received.map((event) => event.id)).toEqual([42, 43]);

      server.end();
      await until(() => server.requests.length === 2);
      expect(server.requests[1]!.headers['last-event-id']).toBe('43');
      server.write('id: 43\nevent: ready\ndata: {}\n\n');
      await until(() => statuses.at(-1) === 'live');
      expect(statuses).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    } finally {
      close();
    }
  });

  it('reconnects when the stream falls silent (no heartbeat)', async () => {
    const server = fakeServer();
    const close = openEventStream({
      url: '/events',
      token: 'shp_x',
      fetch: server.fetch,
      minRetryMs: 1,
      silenceTimeoutMs: 50,
      onAudit: () => undefined,
      onReset: () => undefined,
      onStatus: () => undefined,
    });
    try {
      await until(() => server.requests.length === 1);
      server.write('id: 5\nevent: ready\ndata: {}\n\n');
      await until(() => server.requests.length === 2);
      expect(server.requests[0]!.signal.aborted).toBe(true);
      expect(server.requests[1]!.headers['last-event-id']).toBe('5');
    } finally {
      close();
    }
  });

  it('gives up on a control plane without the route, leaving pages to poll', async () => {
    const server = fakeServer();
    server.refuseWith(
      new Response(JSON.stringify({ error: { code: 'not_found', message: 'no route for GET /events' } }), {
        status: 404,
      }),
    );
    const statuses: [StreamStatus, string | undefined][] = [];
    const close = openEventStream({
      url: '/events',
      token: 'shp_x',
      fetch: server.fetch,
      minRetryMs: 1,
      onAudit: () => undefined,
      onReset: () => undefined,
      onStatus: (status, detail) => statuses.push([status, detail]),
    });
    try {
      await until(() => statuses.length === 2);
      expect(statuses[1]).toEqual(['unavailable', 'no route for GET /events']);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(server.requests).toHaveLength(1);
    } finally {
      close();
    }
  });

  it('passes a reset on', async () => {
    const server = fakeServer();
    let resets = 0;
    const close = openEventStream({
      url: '/events',
      token: 'shp_x',
      fetch: server.fetch,
      onAudit: () => undefined,
      onReset: () => (resets += 1),
      onStatus: () => undefined,
    });
    try {
      await until(() => server.requests.length === 1);
      server.write('event: reset\ndata: {"reason":"too many"}\n\n');
      await until(() => resets === 1);
    } finally {
      close();
    }
  });
});
