import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents } from '@shepherd/db/schema';
import { raiseAlert } from '@shepherd/registry/alerts';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken, revokeToken } from '@shepherd/registry/tokens';
import { openTestDatabase } from '@shepherd/testing/database';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';
import { installErrorHandling } from '../src/errors.ts';
import { auditEventSummary, registerEventRoutes } from '../src/routes/events.ts';

interface ServerSentEvent {
  event: string;
  id?: string;
  data: string;
}

/** A minimal SSE reader over fetch: what the dashboard does, without its reconnect logic. */
async function openStream(url: string, token: string, lastEventId?: string) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'text/event-stream',
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    },
    signal: controller.signal,
  });
  // The body of a stream never ends: read it only to explain a refusal.
  if (response.status !== 200) throw new Error(`${response.status}: ${await response.text()}`);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let ended = false;
  const received: ServerSentEvent[] = [];

  const parseBuffered = () => {
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: ServerSentEvent = { event: 'message', data: '' };
      let hasField = false;
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon === 0) continue;
        const field = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
        else if (field === 'data') event.data = event.data ? `${event.data}\n${value}` : value;
        else continue;
        hasField = true;
      }
      if (hasField && (event.data !== '' || event.id !== undefined)) received.push(event);
    }
  };

  /** Reads until an event matches (returning it and everything before it), or the deadline passes. */
  const until = async (match: (event: ServerSentEvent) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      const index = received.findIndex((event, i) => i >= seen && match(event));
      if (index >= 0) return received.slice(0, index + 1);
      seen = received.length;
      const left = deadline - Date.now();
      if (ended || left <= 0) {
        throw new Error(
          `no matching event within ${timeoutMs} ms${ended ? ' (stream ended)' : ''}; got ${JSON.stringify(received)}`,
        );
      }
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      if (chunk.done) ended = true;
      else buffer += chunk.value;
      parseBuffered();
    }
  };

  /** Resolves when the server ends the stream. */
  const end = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ended && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) ended = true;
    }
    return ended;
  };

  return { received, until, end, close: () => controller.abort() };
}

const audit = (event: ServerSentEvent) => auditEventSummary.parse(JSON.parse(event.data));

describe('GET /v1/projects/{project}/events (server-sent events)', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let baseUrl: string;
  let projectId: string;
  const slug = `events-${randomUUID().slice(0, 8)}`;
  const otherSlug = `events-other-${randomUUID().slice(0, 8)}`;
  let viewer: string;
  let engineer: string;
  let outsider: string;
  const streams: { close: () => void }[] = [];

  const eventsUrl = (project = slug) => `${baseUrl}/v1/projects/${project}/events`;
  const open = async (token: string, lastEventId?: string) => {
    const stream = await openStream(eventsUrl(), token, lastEventId);
    streams.push(stream);
    return stream;
  };
  const createModel = async (name: string) => {
    const response = await fetch(`${baseUrl}/v1/projects/${slug}/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${engineer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as { id: string };
  };

  beforeAll(async () => {
    database = await openTestDatabase();
    const project = await ensureProject(database.db, slug);
    const other = await ensureProject(database.db, otherSlug);
    projectId = project.id;
    const token = async (projectId: string, name: string, role: 'viewer' | 'ml-engineer' | 'admin') =>
      (await createToken(database.db, { projectId, name, role, createdBy: 'test' })).token;
    viewer = await token(project.id, 'watcher', 'viewer');
    engineer = await token(project.id, 'engineer', 'ml-engineer');
    outsider = await token(other.id, 'outsider', 'admin');
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: {
        db: database.db,
        temporal: undefined as never,
        trainingTaskQueue: `events-${randomUUID()}`,
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await app?.close();
    await database?.dispose();
  });

  it('refuses no token, another project and a malformed Last-Event-ID, in the error envelope', async () => {
    const anonymous = await fetch(eventsUrl());
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'unauthenticated' } });

    const foreign = await fetch(eventsUrl(), { headers: { authorization: `Bearer ${outsider}` } });
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({
      error: { code: 'not_found', message: `project '${slug}' does not exist` },
    });

    const malformed = await fetch(eventsUrl(), {
      headers: { authorization: `Bearer ${viewer}`, 'last-event-id': 'yesterday' },
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'validation_failed' } });
  });

  it('streams a change made through the API as an audit event within a second', async () => {
    const stream = await open(viewer);
    const [ready] = await stream.until((event) => event.event === 'ready', 5000);
    const readyId = Number(ready!.id);

    const model = await createModel(`m-${randomUUID().slice(0, 8)}`);
    // The feed polls every 500 ms: one poll interval and the write to the socket fit in a second.
    const created = (await stream.until((event) => event.event === 'audit', 1000)).at(-1)!;
    expect(audit(created)).toMatchObject({
      action: 'model.created',
      subjectKind: 'model',
      subjectId: model.id,
    });
    expect(Number(created.id)).toBe(audit(created).id);
    expect(audit(created).id).toBeGreaterThan(readyId);

    // An alert fired by a monitor (through the registry, as the worker does) arrives the same way.
    const { alert } = await raiseAlert(
      { db: database.db, projectId, actor: 'test' },
      {
        source: 'pipeline',
        kind: 'stuck_workflow',
        severity: 'warning',
        dedupKey: `stuck:${randomUUID()}`,
        subject: { kind: 'workflow', id: 'wf-1' },
        summary: 'a workflow is stuck',
      },
    );
    const events = await stream.until(
      (event) => event.event === 'audit' && audit(event).subjectId === alert.id,
      1000,
    );
    const actions = events.filter((event) => event.event === 'audit').map((event) => audit(event).action);
    expect(actions).toEqual(['model.created', 'alert.fired']);
  });

  it('replays what a client missed when it reconnects with Last-Event-ID', async () => {
    const first = await open(viewer);
    const [ready] = await first.until((event) => event.event === 'ready', 5000);
    first.close();

    // Made while nobody listened.
    const missed = [await createModel(`missed-a-${randomUUID().slice(0, 6)}`)];
    missed.push(await createModel(`missed-b-${randomUUID().slice(0, 6)}`));

    const resumed = await open(viewer, ready!.id);
    const replay = await resumed.until((event) => event.event === 'ready', 5000);
    const audits = replay.filter((event) => event.event === 'audit').map(audit);
    expect(audits.map((event) => [event.action, event.subjectId])).toEqual(
      missed.map((model) => ['model.created', model.id]),
    );
    expect(audits.every((event) => event.id > Number(ready!.id))).toBe(true);
    // The stream continues from the last replayed entry.
    expect(replay.at(-1)!.id).toBe(String(audits.at(-1)!.id));

    // A fresh client starts from the feed's position (at most one poll behind): no replay.
    const fresh = await open(viewer);
    const start = await fresh.until((event) => event.event === 'ready', 5000);
    expect(start.map((event) => event.event)).toEqual(['ready']);
    expect(Number(start[0]!.id)).toBeGreaterThanOrEqual(Number(ready!.id));
    expect(Number(start[0]!.id)).toBeLessThanOrEqual(audits.at(-1)!.id);

    // And both receive what happens next, once.
    const next = await createModel(`next-${randomUUID().slice(0, 6)}`);
    for (const stream of [resumed, fresh]) {
      const events = await stream.until(
        (event) => event.event === 'audit' && audit(event).subjectId === next.id,
        2000,
      );
      expect(
        events.filter((event) => event.event === 'audit' && audit(event).subjectId === next.id),
      ).toHaveLength(1);
    }
  });

  it('delivers an entry whose transaction commits after a later entry', async () => {
    const stream = await open(viewer);
    await stream.until((event) => event.event === 'ready', 5000);
    let inserted!: () => void;
    let release!: () => void;
    const insertedEarlier = new Promise<void>((resolve) => (inserted = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const subjectId = randomUUID();
    // Written without the audit chain's lock (no product path does that now, but ids are handed out
    // before commit, so the stream must not assume they commit in order).
    const slow = database.db.transaction(async (tx) => {
      await tx.insert(auditEvents).values({
        projectId,
        actor: 'test',
        action: 'feature_view.registered',
        subjectKind: 'feature_view',
        subjectId,
      });
      inserted();
      await released;
    });
    await insertedEarlier;
    const later = await createModel(`later-${randomUUID().slice(0, 6)}`);
    const [laterEvent] = (
      await stream.until((event) => event.event === 'audit' && audit(event).subjectId === later.id, 2000)
    ).slice(-1);
    release();
    await slow;
    const [earlierEvent] = (
      await stream.until((event) => event.event === 'audit' && audit(event).subjectId === subjectId, 2000)
    ).slice(-1);
    expect(audit(earlierEvent!).id).toBeLessThan(audit(laterEvent!).id);
  });

  it('whoami: the token’s project, role and name, and it is in the OpenAPI document', async () => {
    const response = await fetch(`${baseUrl}/v1/whoami`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      project: { slug, name: expect.any(String) },
      role: 'viewer',
      tokenName: 'watcher',
    });
    expect((await fetch(`${baseUrl}/v1/whoami`)).status).toBe(401);
    const document = (await (await fetch(`${baseUrl}/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(document.paths)).toContain('/v1/whoami');
    // The stream is documented in prose, not in the document schemathesis fuzzes.
    expect(Object.keys(document.paths)).not.toContain('/v1/projects/{project}/events');
  });
});

describe('event streams and the server around them', () => {
  it('sends heartbeats and ends open streams when the server closes', async () => {
    const database = await openTestDatabase();
    const app = Fastify({ loggerInstance: quietLogger() as FastifyBaseLogger });
    let closed = false;
    try {
      const slug = `events-hb-${randomUUID().slice(0, 8)}`;
      const project = await ensureProject(database.db, slug);
      const { token } = await createToken(database.db, {
        projectId: project.id,
        name: 'watcher',
        role: 'viewer',
        createdBy: 'test',
      });
      installErrorHandling(app);
      registerEventRoutes(
        app,
        { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
        { heartbeatMs: 100 },
      );
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const stream = await openStream(`http://127.0.0.1:${port}/v1/projects/${slug}/events`, token);
      const events = await stream.until(
        (() => {
          let beats = 0;
          return (event: ServerSentEvent) => event.event === 'heartbeat' && ++beats === 2;
        })(),
        5000,
      );
      expect(events.map((event) => event.event)).toEqual(['ready', 'heartbeat', 'heartbeat']);
      // A revoked token's stream ends at its next heartbeat.
      const { token: doomed, record } = await createToken(database.db, {
        projectId: project.id,
        name: 'doomed',
        role: 'viewer',
        createdBy: 'test',
      });
      const revokedStream = await openStream(`http://127.0.0.1:${port}/v1/projects/${slug}/events`, doomed);
      await revokedStream.until((event) => event.event === 'ready', 5000);
      await revokeToken(database.db, project.id, record.id, 'test');
      expect(await revokedStream.end(5000)).toBe(true);

      // app.close() waits for every connection: it returns only because the stream was ended.
      await app.close();
      closed = true;
      expect(await stream.end(5000)).toBe(true);
    } finally {
      if (!closed) await app.close();
      await database.dispose();
    }
  });
});
