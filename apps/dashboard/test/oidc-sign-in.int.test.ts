import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureProject } from '@shepherd/registry/projects';
import { openTestDatabase } from '@shepherd/testing/database';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../../api/src/app.ts';
import { OidcVerifier, oidcConfigFromEnv } from '../../api/src/auth/oidc.ts';
import { loadApiEnv } from '../../api/src/env.ts';

const dashboardDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const base64url = (bytes: Buffer) => bytes.toString('base64url');

interface User {
  sub: string;
  roles: string[];
}

/**
 * A small OpenID provider, enough for a public client: discovery, an authorize endpoint that signs
 * in `user` and consents at once, a token endpoint that redeems each code once and only with the
 * verifier whose S256 challenge the authorize request carried (RFC 7636), and the JWKS. Redirect
 * URIs are matched exactly, as real providers do.
 */
async function openIdProvider(options: { clientId: string; audience: string }) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const redirectUris = new Set<string>();
  const codes = new Map<
    string,
    { redirectUri: string; challenge: string; nonce: string | null; user: User; used: boolean }
  >();
  const exchanges: { outcome: 'issued' | 'refused'; reason?: string }[] = [];
  let user: User = { sub: 'nobody', roles: [] };
  let issuer = '';

  const sign = (key: CryptoKey, claims: Record<string, unknown>) =>
    new SignJWT({ iss: issuer, iat: Math.floor(Date.now() / 1000), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setExpirationTime('5m')
      .sign(key);

  const readBody = async (request: IncomingMessage) => {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    return new URLSearchParams(text);
  };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    // The dashboard reads discovery and redeems the code from its own origin.
    response.setHeader('access-control-allow-origin', '*');
    const json = (status: number, body: unknown) => {
      response.statusCode = status;
      response.setHeader('content-type', 'application/json');
      response.setHeader('cache-control', 'no-store');
      response.end(JSON.stringify(body));
    };
    if (request.method === 'OPTIONS') {
      response.setHeader('access-control-allow-headers', 'content-type, accept');
      response.setHeader('access-control-allow-methods', 'GET, POST');
      response.statusCode = 204;
      response.end();
      return;
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      });
    } else if (url.pathname === '/jwks') {
      json(200, { keys: [jwk] });
    } else if (url.pathname === '/authorize') {
      const query = url.searchParams;
      const redirectUri = query.get('redirect_uri') ?? '';
      const problems = [
        query.get('client_id') !== options.clientId && 'unknown client_id',
        !redirectUris.has(redirectUri) && `redirect_uri ${redirectUri} is not registered`,
        query.get('response_type') !== 'code' && 'response_type must be code',
        query.get('code_challenge_method') !== 'S256' && 'code_challenge_method must be S256',
        !/^[A-Za-z0-9_-]{43}$/.test(query.get('code_challenge') ?? '') && 'code_challenge is missing',
        !query.get('state') && 'state is missing',
      ].filter(Boolean);
      // A bad redirect URI is never redirected to: the provider shows its own error page.
      if (problems.length > 0) {
        response.statusCode = 400;
        response.end(`authorize refused: ${problems.join('; ')}`);
        return;
      }
      const code = base64url(randomBytes(24));
      codes.set(code, {
        redirectUri,
        challenge: query.get('code_challenge')!,
        nonce: query.get('nonce'),
        user,
        used: false,
      });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', query.get('state')!);
      response.statusCode = 302;
      response.setHeader('location', back.toString());
      response.end();
    } else if (url.pathname === '/token' && request.method === 'POST') {
      void readBody(request).then(async (form) => {
        const grant = codes.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const refusal =
          form.get('grant_type') !== 'authorization_code'
            ? 'unsupported grant_type'
            : !grant || grant.used
              ? 'unknown or used code'
              : form.get('client_id') !== options.clientId
                ? 'wrong client_id'
                : form.get('redirect_uri') !== grant.redirectUri
                  ? 'redirect_uri differs from the authorize request'
                  : base64url(createHash('sha256').update(verifier).digest()) !== grant.challenge
                    ? 'PKCE verification failed'
                    : undefined;
        if (grant) grant.used = true;
        if (refusal || !grant) {
          exchanges.push({ outcome: 'refused', reason: refusal });
          json(400, { error: 'invalid_grant', error_description: refusal });
          return;
        }
        exchanges.push({ outcome: 'issued' });
        json(200, {
          token_type: 'Bearer',
          expires_in: 300,
          access_token: await sign(privateKey, {
            sub: grant.user.sub,
            aud: options.audience,
            shepherd_roles: grant.user.roles,
          }),
          id_token: await sign(privateKey, {
            sub: grant.user.sub,
            aud: options.clientId,
            ...(grant.nonce ? { nonce: grant.nonce } : {}),
          }),
        });
      });
    } else {
      json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    exchanges,
    registerRedirectUri: (uri: string) => redirectUris.add(uri),
    signInAs: (next: User) => {
      user = next;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/**
 * Signing in to the dashboard with an OIDC provider, in headless Chromium: the dashboard learns the
 * provider from the API, runs Authorization Code + PKCE against it, and then talks to the API (and
 * its event stream) with the token it obtained, as it would with an shp_ token.
 */
describe('dashboard sign-in with OIDC', { timeout: 90_000 }, () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let idp: Awaited<ReturnType<typeof openIdProvider>>;
  let api: ReturnType<typeof buildApp>;
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let baseUrl: string;
  let outDir: string;
  const clientId = `dashboard-${randomUUID().slice(0, 8)}`;
  const audience = `shepherd-api-${randomUUID().slice(0, 8)}`;
  const slug = `oidc-ui-${randomUUID().slice(0, 8)}`;
  const otherSlug = `oidc-ui-other-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'shepherd-oidc-dashboard-'));
    const built = build({
      root: dashboardDir,
      configFile: join(dashboardDir, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    [database, idp] = await Promise.all([openTestDatabase(), openIdProvider({ clientId, audience })]);
    await ensureProject(database.db, slug, 'Fraud detection');
    await ensureProject(database.db, otherSlug, 'Risk');

    // Configured from the environment, as main.ts does.
    const config = oidcConfigFromEnv(
      loadApiEnv({
        OIDC_ISSUER: idp.issuer,
        OIDC_AUDIENCE: audience,
        OIDC_CLIENT_ID: clientId,
        OIDC_SCOPES: 'openid profile shepherd',
      }),
    );
    api = buildApp({
      logger: quietLogger(),
      readiness: [],
      // Signing in and the pages' reads never reach Temporal.
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
      oidc: new OidcVerifier(database.db, config!),
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;

    await built;
    server = await preview({
      root: dashboardDir,
      configFile: join(dashboardDir, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir },
      preview: {
        host: '127.0.0.1',
        port: 0,
        strictPort: false,
        proxy: { '/v1': apiUrl, '/readyz': apiUrl, '/healthz': apiUrl },
      },
    });
    baseUrl = server.resolvedUrls?.local[0]?.replace(/\/$/, '') ?? '';
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The redirect URI registered with the provider: the dashboard's address.
    idp.registerRedirectUri(`${baseUrl}/`);

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.close();
    await idp?.close();
    await database?.dispose();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** A fresh tab with nothing in its session storage: each test signs in from scratch. */
  async function freshPage() {
    await context?.close();
    context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    return context.newPage();
  }

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

  it('offers the provider next to the token field and signs in through it with PKCE', async () => {
    idp.signInAs({ sub: 'dana@example.com', roles: [`${slug}:approver`] });
    const before = idp.exchanges.length;
    const page = await freshPage();
    const navigations: string[] = [];
    // Every document the tab requested, redirects included.
    page.on('request', (request) => {
      if (request.isNavigationRequest()) navigations.push(request.url());
    });
    await page.goto(baseUrl);
    await page.getByLabel('API token').waitFor();
    const button = page.getByRole('button', { name: `Sign in with ${new URL(idp.issuer).host}` });
    await button.click();

    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    const header = page.locator('header.top');
    expect(await header.textContent()).toContain('Fraud detection');
    expect(await header.textContent()).toContain('oidc:dana@example.com · approver');
    // The API took the provider's token on the event stream too.
    await poll(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');

    // One code, redeemed once, with the verifier matching the challenge.
    expect(idp.exchanges.slice(before)).toEqual([{ outcome: 'issued' }]);
    // The browser went to the provider and came back with a code, which then left the address bar.
    expect(navigations.some((url) => url.startsWith(`${idp.issuer}/authorize?`))).toBe(true);
    expect(navigations.some((url) => url.startsWith(`${baseUrl}/?code=`))).toBe(true);
    expect(new URL(page.url()).search).toBe('');
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('shepherd.session'),
      pending: sessionStorage.getItem('shepherd.oidc.pending'),
      local: localStorage.length,
    }));
    expect(stored.pending).toBeNull();
    expect(stored.local).toBe(0);
    const session = JSON.parse(stored.session!) as { token: string; project: string; role: string };
    expect(session).toMatchObject({ project: slug, role: 'approver' });
    // The access token (audience: the API), not an shp_ token and not the ID token.
    expect(session.token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(session.token.split('.')[1]!, 'base64url').toString()) as {
      aud: string;
    };
    expect(claims.aud).toBe(audience);
    // No URL the browser visited carried the token.
    for (const url of navigations) expect(url).not.toContain(session.token.split('.')[2]!);
  });

  it('lets a user with roles in several projects pick one', async () => {
    idp.signInAs({ sub: 'erin@example.com', roles: [`${slug}:viewer`, `${otherSlug}:admin`] });
    const page = await freshPage();
    await page.goto(baseUrl);
    await page.getByRole('button', { name: /^Sign in with / }).click();
    await page.getByRole('button', { name: `${otherSlug} · admin` }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await page.locator('header.top').textContent()).toContain('oidc:erin@example.com · admin');
    expect(
      JSON.parse((await page.evaluate(() => sessionStorage.getItem('shepherd.session')))!),
    ).toMatchObject({ project: otherSlug, role: 'admin' });
  });

  it('refuses an answer this tab did not ask for, and the provider refuses a wrong verifier', async () => {
    const page = await freshPage();
    await page.goto(`${baseUrl}/?code=stolen-code&state=forged`);
    await poll(() => page.getByRole('alert').textContent()).toMatch(/no sign-in was started/);
    expect(new URL(page.url()).search).toBe('');
    expect(await page.evaluate(() => sessionStorage.getItem('shepherd.session'))).toBeNull();

    // The provider's side of PKCE, which the sign-in above relied on: a code needs its own verifier.
    const verifier = base64url(randomBytes(32));
    const authorize = new URL(`${idp.issuer}/authorize`);
    for (const [key, value] of Object.entries({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: `${baseUrl}/`,
      state: 's',
      code_challenge: base64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    })) {
      authorize.searchParams.set(key, value);
    }
    const redirect = await fetch(authorize, { redirect: 'manual' });
    const code = new URL(redirect.headers.get('location')!).searchParams.get('code')!;
    const redeem = (codeVerifier: string) =>
      fetch(`${idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          client_id: clientId,
          redirect_uri: `${baseUrl}/`,
          code_verifier: codeVerifier,
        }),
      });
    const wrong = await redeem(base64url(randomBytes(32)));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error_description: 'PKCE verification failed' });
  });

  it('serves the sign-in options without a token, and none when no client is configured', async () => {
    const response = await fetch(`${baseUrl}/v1/auth/config`);
    expect(await response.json()).toEqual({
      oidc: {
        issuer: idp.issuer,
        clientId,
        scopes: 'openid profile shepherd',
        token: 'access_token',
        roleClaim: 'shepherd_roles',
      },
    });
    const plain = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
    });
    try {
      expect((await plain.inject({ method: 'GET', url: '/v1/auth/config' })).json()).toEqual({ oidc: null });
    } finally {
      await plain.close();
    }
  });
});
