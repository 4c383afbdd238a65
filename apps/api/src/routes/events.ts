import type { ServerResponse } from 'node:http';
import { and, asc, eq, gt, gte, lte, max, notInArray } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ShepherdError } from '@shepherd/core/errors';
import type { Logger } from '@shepherd/core/logger';
import { slug } from '@shepherd/contracts/registry';
import type { Database } from '@shepherd/db/client';
import { auditEvents } from '@shepherd/db/schema';
import { allows } from '@shepherd/registry/permissions';
import { authenticate, type Principal } from '@shepherd/registry/tokens';
import { Authenticator, bearerToken } from '../auth/authenticate.ts';
import type { OidcVerifier } from '../auth/oidc.ts';
import type { RouteDeps } from './context.ts';

/**
 * `GET /v1/projects/{project}/events`: the project's domain events as Server-Sent Events.
 *
 * It lives outside the route table on purpose: the table's routes answer one JSON body, feed the
 * OpenAPI document, and are fuzzed by schemathesis, which would wait on an endless stream. It is
 * authenticated the same way as a table route (a Shepherd API token, or an OIDC bearer token when an
 * issuer is configured) and authorised with `read`, from the `Authorization: Bearer …` header only.
 * There is no `?access_token=`: a token in a URL ends up in access logs, proxies and browser
 * history, and the dashboard reads the stream with `fetch` (which sends headers) rather than
 * `EventSource` (which cannot).
 *
 * The stream:
 * - `event: ready`, once, when the subscription is in place; its `id` is the position the stream
 *   continues from, so a client that reconnects with it as `Last-Event-ID` misses nothing even if no
 *   audit event arrived in between;
 * - `event: audit` with `id: <audit id>` and `{id, action, subjectKind, subjectId, createdAt}` for each
 *   new audit entry (every registry, deployment, token and alert action writes one);
 * - `event: heartbeat` every 15 s, so clients and proxies can tell a quiet stream from a dead one;
 *   the token is checked again each time, and the stream of a token that was revoked, expired (an
 *   OIDC token's `exp` included) or lost its role in the project ends;
 * - `event: reset` when a reconnect missed more than can be replayed: reload everything.
 *
 * `Last-Event-ID` (a header, as SSE clients send it) replays the entries after that id first.
 */

export const auditEventSummary = z.object({
  id: z.number().int(),
  action: z.string(),
  subjectKind: z.string(),
  subjectId: z.string(),
  createdAt: z.string(),
});
export type AuditEventSummary = z.infer<typeof auditEventSummary>;

export interface EventStreamOptions {
  /** How often the audit table is read for new entries, per project with listeners. */
  pollIntervalMs?: number;
  heartbeatMs?: number;
  /**
   * How far back each poll also looks for entries committed late: an entry whose transaction
   * committed after one with a higher id (an audit write that does not take the project's chain
   * lock, e.g. feature-view registration) would otherwise be skipped by an id cursor alone.
   */
  lateCommitWindowMs?: number;
  /** Entries a reconnect may replay; more than that is a `reset`. */
  maxReplay?: number;
  /** Open streams per API process; a stream holds a socket and a share of the poller. */
  maxStreams?: number;
  /** Bytes a slow client may leave unread before its stream is closed (it reconnects and replays). */
  maxBufferedBytes?: number;
}

const defaults: Required<EventStreamOptions> = {
  pollIntervalMs: 500,
  heartbeatMs: 15_000,
  lateCommitWindowMs: 15_000,
  maxReplay: 1000,
  maxStreams: 1000,
  maxBufferedBytes: 1024 * 1024,
};

const pageSize = 500;
/** Ids remembered for the late-commit look: each is a bound parameter of that query. */
const maxRecent = 20_000;

const summaryColumns = {
  id: auditEvents.id,
  action: auditEvents.action,
  subjectKind: auditEvents.subjectKind,
  subjectId: auditEvents.subjectId,
  createdAt: auditEvents.createdAt,
};

type Row = { id: number; action: string; subjectKind: string; subjectId: string; createdAt: Date };

const summary = (row: Row): AuditEventSummary => ({
  id: row.id,
  action: row.action,
  subjectKind: row.subjectKind,
  subjectId: row.subjectId,
  createdAt: row.createdAt.toISOString(),
});

type Listener = (rows: readonly Row[]) => void;

/**
 * One poller per project, however many streams watch it: the table is read every poll interval
 * while anyone listens and not at all otherwise. Entries are found by id above a cursor; within a
 * project, audit writes take turns under the chain's advisory lock until they commit, so ids commit
 * in order. Writes that skip the lock are caught by a second look at the recent past.
 */
class ProjectFeed {
  private readonly listeners = new Set<Listener>();
  private cursor = 0;
  /** Ids delivered (or present at start) within the late-commit window, with their creation time. */
  private readonly recent = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly projectId: string,
    private readonly options: Required<EventStreamOptions>,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly onIdle: () => void,
  ) {}

  /**
   * Resolves once the listener is attached, with the position it receives entries after; undefined
   * when the feed stopped meanwhile (its last listener left): the caller takes a fresh feed.
   */
  async subscribe(listener: Listener): Promise<number | undefined> {
    this.started ??= this.start().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    await this.started;
    if (this.stopped) return undefined;
    this.listeners.add(listener);
    return this.cursor;
  }

  unsubscribe(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
  }

  private async start(): Promise<void> {
    const since = new Date(Date.now() - this.options.lateCommitWindowMs);
    const [[top], recent] = await Promise.all([
      this.db
        .select({ id: max(auditEvents.id) })
        .from(auditEvents)
        .where(eq(auditEvents.projectId, this.projectId)),
      this.db
        .select({ id: auditEvents.id, createdAt: auditEvents.createdAt })
        .from(auditEvents)
        .where(and(eq(auditEvents.projectId, this.projectId), gte(auditEvents.createdAt, since))),
    ]);
    this.cursor = top?.id ?? 0;
    for (const row of recent) this.recent.set(row.id, row.createdAt.getTime());
    this.schedule(this.options.pollIntervalMs);
  }

  private stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.onIdle();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    let more = false;
    try {
      more = await this.poll();
    } catch (err) {
      // The database may be restarting: listeners keep their streams and the next poll tries again.
      this.logger.warn({ err, projectId: this.projectId }, 'reading new audit events failed');
    }
    this.schedule(more ? 0 : this.options.pollIntervalMs);
  }

  /** Delivers what committed since the last poll; true when a full page suggests there is more. */
  private async poll(): Promise<boolean> {
    const since = Date.now() - this.options.lateCommitWindowMs;
    for (const [id, createdAt] of this.recent) if (createdAt < since) this.recent.delete(id);
    // Each poll skips the ids it has seen; an unusually busy window skips the second look instead.
    const lookBack = this.recent.size <= maxRecent;
    const [fresh, late] = await Promise.all([
      this.db
        .select(summaryColumns)
        .from(auditEvents)
        .where(and(eq(auditEvents.projectId, this.projectId), gt(auditEvents.id, this.cursor)))
        .orderBy(asc(auditEvents.id))
        .limit(pageSize),
      this.db
        .select(summaryColumns)
        .from(auditEvents)
        .where(
          and(
            eq(auditEvents.projectId, this.projectId),
            lte(auditEvents.id, this.cursor),
            gte(auditEvents.createdAt, new Date(since)),
            notInArray(auditEvents.id, [...this.recent.keys()]),
          ),
        )
        .orderBy(asc(auditEvents.id))
        .then((rows) => (lookBack ? rows : [])),
    ]);
    const rows = [...late, ...fresh];
    for (const row of rows) this.recent.set(row.id, row.createdAt.getTime());
    const last = fresh.at(-1);
    if (last) this.cursor = last.id;
    if (rows.length > 0) for (const listener of this.listeners) listener(rows);
    return fresh.length === pageSize;
  }
}

/** The feeds of every project someone listens to, created on first listener and dropped on last. */
export class AuditFeeds {
  private readonly feeds = new Map<string, ProjectFeed>();

  constructor(
    private readonly db: Database,
    private readonly options: Required<EventStreamOptions>,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** Attaches a listener to the project's feed; `position` is the id it receives entries after. */
  async subscribe(
    projectId: string,
    listener: Listener,
  ): Promise<{ position: number; unsubscribe: () => void }> {
    for (;;) {
      const feed = this.feed(projectId);
      const position = await feed.subscribe(listener);
      if (position !== undefined) return { position, unsubscribe: () => feed.unsubscribe(listener) };
    }
  }

  private feed(projectId: string): ProjectFeed {
    const existing = this.feeds.get(projectId);
    if (existing) return existing;
    const created = new ProjectFeed(this.db, projectId, this.options, this.logger, () => {
      if (this.feeds.get(projectId) === created) this.feeds.delete(projectId);
    });
    this.feeds.set(projectId, created);
    return created;
  }
}

const projectParams = z.object({ project: slug });
const lastEventId = z
  .string()
  .regex(/^\d{1,15}$/, 'must be the id of an audit event (a non-negative integer)')
  .transform(Number);

/** The same checks a table route with permission `read` makes (route.ts `authorize`), in the same order. */
async function authorizeStream(
  auth: Authenticator,
  request: FastifyRequest,
): Promise<{ principal: Principal; token: string }> {
  const token = bearerToken(request);
  const params = projectParams.safeParse(request.params);
  const principal = await auth.principal(token, params.success ? params.data.project : undefined);
  if (!params.success) {
    throw new ShepherdError('validation_failed', `params.project: ${params.error.issues[0]?.message}`);
  }
  if (params.data.project !== principal.project.slug) {
    throw new ShepherdError('not_found', `project '${params.data.project}' does not exist`);
  }
  if (!allows(principal.role, 'read')) {
    throw new ShepherdError('forbidden', `role ${principal.role} may not read events (needs read)`);
  }
  return { principal, token };
}

function frame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The audit event stream: a client ends it by closing the connection, which is no abort. */
export const eventStreamRoute = '/v1/projects/:project/events';

export function registerEventRoutes(
  app: FastifyInstance,
  deps: RouteDeps,
  overrides: EventStreamOptions = {},
  oidc?: OidcVerifier,
): void {
  const options = { ...defaults, ...overrides };
  // Uncached, unlike the route table's: a stream is opened rarely and its token is rechecked on purpose.
  const auth = new Authenticator((token) => authenticate(deps.db, token), oidc);
  const feeds = new AuditFeeds(deps.db, options, app.log);
  const open = new Set<ServerResponse>();

  // Streams never end by themselves: end them so the server can close (clients reconnect elsewhere).
  app.addHook('preClose', async () => {
    for (const response of open) response.end();
  });

  app.get(eventStreamRoute, async (request, reply) => {
    const { principal, token } = await authorizeStream(auth, request);
    const header = request.headers['last-event-id'];
    const resumeFrom = header === undefined ? undefined : lastEventId.safeParse(header);
    if (resumeFrom && !resumeFrom.success) {
      throw new ShepherdError(
        'validation_failed',
        `headers.last-event-id: ${resumeFrom.error.issues[0]?.message}`,
      );
    }
    if (open.size >= options.maxStreams) {
      throw new ShepherdError('upstream_unavailable', 'too many event streams are open; retry later');
    }

    const response = reply.raw;
    let closed = false;
    // Set once the stream is ready; cleanup may run before that.
    let heartbeat: NodeJS.Timeout | undefined = undefined;
    // Entries the feed delivers while a replay is being read are held, then sent unless replayed.
    let held: Row[] | undefined = resumeFrom ? [] : undefined;
    const write = (chunk: string) => {
      if (closed) return;
      response.write(chunk);
      // A client that stopped reading gets its stream closed rather than an unbounded buffer.
      if (response.writableLength > options.maxBufferedBytes) response.end();
    };
    const send = (rows: readonly Row[]) => {
      for (const row of rows) write(frame('audit', summary(row), row.id));
    };
    const listener: Listener = (rows) => (held ? held.push(...rows) : send(rows));

    let subscription: Awaited<ReturnType<AuditFeeds['subscribe']>>;
    try {
      subscription = await feeds.subscribe(principal.project.id, listener);
    } catch (err) {
      throw new ShepherdError('upstream_unavailable', 'the audit log cannot be read right now', {
        cause: err,
      });
    }
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      open.delete(response);
      subscription.unsubscribe();
    };
    reply.hijack();
    // The client may have gone while the feed started; 'close' would not fire again.
    if (!response.socket || response.socket.destroyed) {
      cleanup();
      return;
    }
    open.add(response);
    response.on('close', cleanup);
    let position = subscription.position;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
    });
    write('retry: 2000\n\n');

    try {
      if (resumeFrom?.success) {
        const missed = await deps.db
          .select(summaryColumns)
          .from(auditEvents)
          .where(and(eq(auditEvents.projectId, principal.project.id), gt(auditEvents.id, resumeFrom.data)))
          .orderBy(asc(auditEvents.id))
          .limit(options.maxReplay + 1);
        const replayed = new Set<number>();
        if (missed.length > options.maxReplay) {
          write(frame('reset', { reason: `more than ${options.maxReplay} events were missed` }));
        } else {
          send(missed);
          for (const row of missed) replayed.add(row.id);
        }
        const pending = held ?? [];
        held = undefined;
        send(pending.filter((row) => !replayed.has(row.id)));
        position = Math.max(position, resumeFrom.data, missed.at(-1)?.id ?? 0);
      }
    } catch (err) {
      request.log.warn({ err }, 'replaying missed audit events failed');
      response.end();
      return;
    }
    write(frame('ready', { lastEventId: position }, position));
    // Each heartbeat checks the token again: a stream outlives no revocation or expiry by more
    // than one heartbeat. The client's reconnect then gets the 401.
    heartbeat = setInterval(() => {
      auth.stillValid(token, principal.project.slug).then(
        (still) => {
          if (still) write(frame('heartbeat', { at: new Date().toISOString() }));
          else response.end();
        },
        (err: unknown) => {
          // The database or the identity provider is briefly away: keep the stream, check again next time.
          request.log.warn({ err }, 'rechecking an event stream token failed');
          write(frame('heartbeat', { at: new Date().toISOString() }));
        },
      );
    }, options.heartbeatMs);
  });
}
