import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@shepherd/core/logger';
import { ensureProject } from '@shepherd/registry/projects';
import { openTestDatabase } from '@shepherd/testing/database';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';
import { OidcVerifier, type OidcConfig } from '../src/auth/oidc.ts';
import { installErrorHandling } from '../src/errors.ts';
import { registerEventRoutes } from '../src/routes/events.ts';

/** An identity provider as far as a resource server sees one: discovery and a JWKS over HTTP. */
async function jwksServer(publicJwk: JWK) {
  const server: Server = createServer((request, response) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    response.setHeader('content-type', 'application/json');
    if (request.url === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    } else if (request.url === '/jwks') {
      response.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      response.statusCode = 404;
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Reads an event stream's frames as text until one names the wanted event, or the stream ends. */
async function openEvents(url: string, token: string) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  if (response.status !== 200) {
    return { open: false, status: response.status, body: await response.text() } as const;
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let ended = false;
  const events = () => [...text.matchAll(/^event: (\S+)$/gm)].map((match) => match[1]!);
  /** Resolves with the events so far once `wanted` has arrived (or false if the stream ended first). */
  const until = async (wanted: (names: string[]) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!wanted(events())) {
      if (ended) return false;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`waited ${timeoutMs} ms; got ${events().join(', ')}`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
      ]);
      clearTimeout(timer);
      if (chunk === 'timeout') continue;
      if (chunk.done) ended = true;
      else text += chunk.value;
    }
    return true;
  };
  return {
    open: true,
    status: 200,
    text: () => text,
    events,
    until,
    ended: () => ended,
    close: () => controller.abort(),
  } as const;
}

/** The event stream takes OIDC bearer tokens through the same path as every table route. */
describe('event stream with OIDC bearer tokens', { timeout: 30_000 }, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let idp: Awaited<ReturnType<typeof jwksServer>>;
  let key: { privateKey: CryptoKey; kid: string };
  let stranger: CryptoKey;
  let config: OidcConfig;
  let app: ReturnType<typeof buildApp>;
  let baseUrl: string;
  const logLines: string[] = [];
  const closers: (() => unknown)[] = [];
  const audience = `shepherd-${randomUUID().slice(0, 8)}`;
  const slug = `sse-oidc-${randomUUID().slice(0, 8)}`;
  const otherSlug = `sse-oidc-other-${randomUUID().slice(0, 8)}`;
  const now = () => Math.floor(Date.now() / 1000);

  const token = (grants: string[], claims: JWTPayload = {}, signWith: CryptoKey = key.privateKey) =>
    new SignJWT({
      iss: config.issuer,
      aud: audience,
      sub: 'dana@example.com',
      iat: now(),
      exp: now() + 300,
      shepherd_roles: grants,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .sign(signWith);

  const listen = async (server: FastifyInstance) => {
    await server.listen({ host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    database = await openTestDatabase();
    const pair = await generateKeyPair('ES256');
    const kid = randomUUID();
    key = { privateKey: pair.privateKey, kid };
    stranger = (await generateKeyPair('ES256')).privateKey;
    idp = await jwksServer({ ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' });
    // No clock leeway: the expiry test below must not wait 30 s for it.
    config = {
      issuer: idp.issuer,
      audience,
      roleClaim: 'shepherd_roles',
      algorithms: ['ES256'],
      clockToleranceSeconds: 0,
    };
    await ensureProject(database.db, slug);
    await ensureProject(database.db, otherSlug);
    // Everything the API logs, at the most verbose level, to look for tokens in it afterwards.
    const logger = createLogger(
      'api',
      'trace',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          logLines.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    app = buildApp({
      logger,
      readiness: [],
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
      oidc: new OidcVerifier(database.db, config),
    });
    baseUrl = await listen(app);
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await app?.close();
    await idp?.close();
    await database?.dispose();
  });

  it('streams the project’s audit events to an OIDC viewer, and keeps the token out of the logs', async () => {
    const viewer = await token([`${slug}:viewer`]);
    const stream = await openEvents(`${baseUrl}/v1/projects/${slug}/events`, viewer);
    expect(stream.status).toBe(200);
    if (!stream.open) return;
    closers.push(stream.close);
    expect(await stream.until((names) => names.includes('ready'), 5000)).toBe(true);

    // A change by another OIDC user (an ML engineer) arrives on the viewer's stream.
    const engineer = await token([`${slug}:ml-engineer`], { sub: 'erin@example.com' });
    const created = await fetch(`${baseUrl}/v1/projects/${slug}/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${engineer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `m-${randomUUID().slice(0, 8)}` }),
    });
    expect(created.status).toBe(201);
    expect(await stream.until((names) => names.includes('audit'), 5000)).toBe(true);
    expect(stream.text()).toMatch(/"action":"model.created"/);

    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [viewer, engineer]) {
      expect(logLines.join('')).not.toContain(secret);
      // The signature alone is what would let someone replay the token.
      expect(logLines.join('')).not.toContain(secret.split('.')[2]!);
    }
  });

  it('refuses a token without a role in the project (404), a forged, an expired one (401), and one in the URL', async () => {
    const foreign = await openEvents(
      `${baseUrl}/v1/projects/${slug}/events`,
      await token([`${otherSlug}:admin`]),
    );
    expect(foreign.status).toBe(404);
    expect(!foreign.open && JSON.parse(foreign.body)).toMatchObject({
      error: { code: 'not_found', message: `project '${slug}' does not exist` },
    });

    const forged = await openEvents(
      `${baseUrl}/v1/projects/${slug}/events`,
      await token([`${slug}:admin`], {}, stranger),
    );
    expect(forged.status).toBe(401);

    const expired = await openEvents(
      `${baseUrl}/v1/projects/${slug}/events`,
      await token([`${slug}:viewer`], { iat: now() - 600, exp: now() - 60 }),
    );
    expect(expired.status).toBe(401);

    // Only the header counts: a token in the query string is no token at all.
    const inUrl = await fetch(
      `${baseUrl}/v1/projects/${slug}/events?access_token=${await token([`${slug}:viewer`])}`,
    );
    expect(inUrl.status).toBe(401);
    await inUrl.body?.cancel();
  });

  it('ends the stream at the first heartbeat after the OIDC token expires', async () => {
    const server = Fastify({ loggerInstance: quietLogger() as FastifyBaseLogger });
    installErrorHandling(server);
    registerEventRoutes(
      server,
      { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
      { heartbeatMs: 200 },
      new OidcVerifier(database.db, config),
    );
    const url = await listen(server);
    closers.push(() => server.close());

    const lasting = await openEvents(`${url}/v1/projects/${slug}/events`, await token([`${slug}:viewer`]));
    const brief = await openEvents(
      `${url}/v1/projects/${slug}/events`,
      await token([`${slug}:viewer`], { exp: now() + 2 }),
    );
    if (!lasting.open || !brief.open) throw new Error('both streams should open');
    closers.push(lasting.close, brief.close);

    // Valid tokens get heartbeats; the short-lived one's stream ends once it expired.
    expect(await brief.until((names) => names.includes('heartbeat'), 5000)).toBe(true);
    expect(await brief.until(() => false, 6000).catch(() => 'still open')).toBe(false);
    expect(brief.ended()).toBe(true);
    const beats = lasting.events().filter((name) => name === 'heartbeat').length;
    expect(
      await lasting.until((names) => names.filter((name) => name === 'heartbeat').length > beats + 1, 2000),
    ).toBe(true);
  });
});
