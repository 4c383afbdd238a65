import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@shepherd/core/env';
import { createModel } from '@shepherd/registry/models';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { registerVersion } from '@shepherd/registry/versions';
import { openTestDatabase } from '@shepherd/testing/database';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';
import { OidcVerifier, oidcConfigFromEnv, type OidcConfig } from '../src/auth/oidc.ts';
import { loadApiEnv } from '../src/env.ts';
import type { RouteDeps } from '../src/routes/context.ts';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: SigningKey['alg']): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = randomUUID();
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A stand-in identity provider: discovery document and JWKS over real HTTP, keys swappable. */
async function identityProvider() {
  let published: JWK[] = [];
  let jwksRequests = 0;
  let down = false;
  const server: Server = createServer((request, response) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    response.setHeader('content-type', 'application/json');
    if (down) {
      response.statusCode = 503;
      response.end('{}');
      return;
    }
    if (request.url === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    } else if (request.url === '/jwks') {
      jwksRequests += 1;
      response.end(JSON.stringify({ keys: published }));
    } else {
      response.statusCode = 404;
      response.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    publish: (keys: SigningKey[]) => {
      published = keys.map((key) => key.jwk);
    },
    jwksRequests: () => jwksRequests,
    setDown: (value: boolean) => {
      down = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('OIDC bearer tokens', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let idp: Awaited<ReturnType<typeof identityProvider>>;
  let app: ReturnType<typeof buildApp>;
  let current: SigningKey;
  let stranger: SigningKey;
  let config: OidcConfig;
  let shepherdToken: string;
  const audience = `shepherd-${randomUUID().slice(0, 8)}`;
  const slug = `oidc-${randomUUID().slice(0, 8)}`;
  const otherSlug = `oidc-other-${randomUUID().slice(0, 8)}`;
  const now = () => Math.floor(Date.now() / 1000);

  /** A token as the provider issues it; `claims` override the defaults (iss, aud, iat, exp). */
  const sign = (claims: JWTPayload, key: SigningKey = current, header: { kid?: string } = {}) =>
    new SignJWT({ iss: config.issuer, aud: audience, iat: now(), exp: now() + 300, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: header.kid ?? key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  const userToken = (sub: string, grants: string[], key?: SigningKey) =>
    sign({ sub, shepherd_roles: grants }, key);
  const call = (
    app_: ReturnType<typeof buildApp>,
    method: 'GET' | 'POST',
    url: string,
    token: string,
    payload?: object,
  ) =>
    app_.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });

  const appWith = (oidc: OidcVerifier) =>
    buildApp({
      logger: quietLogger(),
      readiness: [],
      // The routes these tests call never reach Temporal.
      services: {
        db: database.db,
        temporal: undefined as never,
        trainingTaskQueue: 'unused',
      } satisfies RouteDeps,
      oidc,
    });

  beforeAll(async () => {
    [database, idp, current, stranger] = await Promise.all([
      openTestDatabase(),
      identityProvider(),
      signingKey('RS256'),
      signingKey('RS256'),
    ]);
    idp.publish([current]);
    // From the environment, as main.ts does; discovery finds the JWKS (no OIDC_JWKS_URL).
    const fromEnv = oidcConfigFromEnv(loadApiEnv({ OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: audience }));
    // Cooldown 0: a rotated key is fetched at once instead of after jose's default 30 s.
    config = { ...fromEnv!, jwksCooldownMs: 0 };
    app = appWith(new OidcVerifier(database.db, config));
    const project = await ensureProject(database.db, slug);
    await ensureProject(database.db, otherSlug);
    shepherdToken = (
      await createToken(database.db, { projectId: project.id, name: 'ci', role: 'viewer', createdBy: 'test' })
    ).token;
  });

  afterAll(async () => {
    await app?.close();
    await idp?.close();
    await database?.dispose();
  });

  it('reads the OIDC_* environment and refuses half or bad configurations, naming the variable', () => {
    expect(oidcConfigFromEnv(loadApiEnv({}))).toBeUndefined();
    expect(config).toMatchObject({ roleClaim: 'shepherd_roles', algorithms: ['RS256', 'ES256'] });
    expect(() => loadApiEnv({ OIDC_ISSUER: 'https://idp.example.com' })).toThrow(
      /OIDC_AUDIENCE: required when OIDC_ISSUER is set/,
    );
    expect(() => loadApiEnv({ OIDC_AUDIENCE: 'shepherd' })).toThrow(
      /OIDC_ISSUER: required when OIDC_AUDIENCE/,
    );
    expect(() => loadApiEnv({ OIDC_ISSUER: 'not a url', OIDC_AUDIENCE: 'x' })).toThrow(
      /OIDC_ISSUER: must be/,
    );
    for (const algs of ['HS256', 'none', 'RS256,', ',']) {
      const bad = () =>
        loadApiEnv({ OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'x', OIDC_ALLOWED_ALGS: algs });
      if (algs === 'RS256,') expect(bad).not.toThrow();
      else expect(bad).toThrow(ConfigError);
    }
    expect(() =>
      loadApiEnv({ OIDC_ISSUER: 'https://idp.example.com', OIDC_AUDIENCE: 'x', OIDC_ALLOWED_ALGS: 'HS256' }),
    ).toThrow(/OIDC_ALLOWED_ALGS/);
    // The dashboard's sign-in client: off without a client id, and never without an issuer.
    expect(config.client).toBeUndefined();
    expect(() => loadApiEnv({ OIDC_CLIENT_ID: 'dashboard' })).toThrow(
      /OIDC_ISSUER: required when OIDC_CLIENT_ID/,
    );
    expect(
      oidcConfigFromEnv(
        loadApiEnv({
          OIDC_ISSUER: 'https://idp.example.com',
          OIDC_AUDIENCE: 'x',
          OIDC_CLIENT_ID: 'dashboard',
        }),
      )?.client,
    ).toEqual({ clientId: 'dashboard', scopes: 'openid profile', token: 'access_token' });
    expect(() =>
      loadApiEnv({
        OIDC_ISSUER: 'https://idp.example.com',
        OIDC_AUDIENCE: 'x',
        OIDC_CLIENT_TOKEN: 'refresh_token',
      }),
    ).toThrow(/OIDC_CLIENT_TOKEN/);
  });

  it('lets an approver approve, audited as oidc:<sub>', async () => {
    const ctx = { db: database.db, projectId: (await ensureProject(database.db, slug)).id, actor: 'test' };
    const model = await createModel(ctx, {
      name: `churn-${randomUUID().slice(0, 6)}`,
      task: 'classification',
    });
    await registerVersion(ctx, {
      modelId: model.id,
      artifactUri: 's3://bucket/model.onnx',
      artifactSha256: 'a'.repeat(64),
      state: 'validated',
      requestId: randomUUID(),
    });
    const token = await userToken('alice@example.com', [`${slug}:approver`, `${otherSlug}:viewer`]);
    const approved = await call(
      app,
      'POST',
      `/v1/projects/${slug}/models/${model.name}/versions/1/approve`,
      token,
    );
    expect(approved.statusCode, approved.body).toBe(200);

    // Reading the audit log is an admin's job.
    const admin = await userToken('bob@example.com', [`${slug}:admin`]);
    const audit = await call(app, 'GET', `/v1/projects/${slug}/audit`, admin);
    expect(audit.statusCode, audit.body).toBe(200);
    const events = audit.json<{ events: { actor: string; action: string }[] }>().events;
    expect(
      events.filter((event) => event.actor === 'oidc:alice@example.com').map((event) => event.action),
    ).toContain('version.promoted');
    // Approvers approve; they do not write.
    const create = await call(app, 'POST', `/v1/projects/${slug}/models`, token, { name: 'nope' });
    expect(create.statusCode).toBe(403);
  });

  it('lets a viewer read but not write', async () => {
    const token = await userToken('victor', [`${slug}:viewer`]);
    expect((await call(app, 'GET', `/v1/projects/${slug}/models`, token)).statusCode).toBe(200);
    const write = await call(app, 'POST', `/v1/projects/${slug}/models`, token, { name: 'm', task: 'x' });
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({
      error: { code: 'forbidden', message: expect.stringMatching(/viewer/) },
    });
  });

  it('takes the strongest role a claim grants a project, and whoami names the single project', async () => {
    const token = await userToken('erin', [`${slug}:viewer`, `${slug}:ml-engineer`, 'junk', 'x:superuser']);
    const created = await call(app, 'POST', `/v1/projects/${slug}/models`, token, {
      name: `m-${randomUUID().slice(0, 6)}`,
      task: 'regression',
    });
    expect(created.statusCode, created.body).toBe(201);
    const whoami = await call(app, 'GET', '/v1/whoami', token);
    expect(whoami.json()).toMatchObject({ project: { slug }, role: 'ml-engineer', tokenName: 'oidc:erin' });
  });

  it('answers 404 for a project the claim grants no role in, as for another project token', async () => {
    const token = await userToken('mallory', [`${otherSlug}:admin`]);
    const response = await call(app, 'GET', `/v1/projects/${slug}/models`, token);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({
      error: { code: 'not_found', message: `project '${slug}' does not exist` },
    });
    // A role in a project that does not exist is no different.
    const ghostSlug = `ghost-${randomUUID().slice(0, 6)}`;
    const ghost = await userToken('mallory', [`${ghostSlug}:admin`]);
    const missing = await call(app, 'GET', `/v1/projects/${ghostSlug}/models`, ghost);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { message: `project '${ghostSlug}' does not exist` } });
  });

  it.each([
    [
      'wrong audience',
      async (): Promise<string> => sign({ sub: 'a', aud: 'another-api', shepherd_roles: [`${slug}:admin`] }),
      /not for this API/,
    ],
    [
      'wrong issuer',
      async (): Promise<string> =>
        sign({ sub: 'a', iss: 'https://evil.example.com', shepherd_roles: [`${slug}:admin`] }),
      /not issued by/,
    ],
    [
      'no expiry',
      async (): Promise<string> => sign({ sub: 'a', exp: undefined, shepherd_roles: [`${slug}:admin`] }),
      /exp/,
    ],
    [
      'expired',
      async (): Promise<string> => sign({ sub: 'a', shepherd_roles: [`${slug}:admin`], exp: now() - 3600 }),
      /expired/,
    ],
    [
      'not yet valid',
      async (): Promise<string> => sign({ sub: 'a', shepherd_roles: [`${slug}:admin`], nbf: now() + 3600 }),
      /not valid yet/,
    ],
    [
      'signed by another key under a published kid',
      async (): Promise<string> =>
        sign({ sub: 'a', shepherd_roles: [`${slug}:admin`] }, stranger, { kid: current.kid }),
      /signature does not verify/,
    ],
    [
      'signed by an unpublished key',
      async (): Promise<string> => userToken('a', [`${slug}:admin`], stranger),
      /not signed by any key/,
    ],
    [
      'alg none',
      async (): Promise<string> =>
        unsigned(
          { alg: 'none' },
          {
            sub: 'a',
            iss: config.issuer,
            aud: audience,
            exp: now() + 300,
            shepherd_roles: [`${slug}:admin`],
          },
        ),
      /algorithm is not allowed/,
    ],
    [
      'HS256 with the public key as secret',
      async (): Promise<string> =>
        new SignJWT({ sub: 'a', shepherd_roles: [`${slug}:admin`] })
          .setProtectedHeader({ alg: 'HS256', kid: current.kid })
          .setIssuer(config.issuer)
          .setAudience(audience)
          .setExpirationTime('5m')
          .sign(new TextEncoder().encode(JSON.stringify(current.jwk))),
      /algorithm is not allowed/,
    ],
    ['no role claim', async (): Promise<string> => sign({ sub: 'a' }), /no 'shepherd_roles' claim/],
    ['no subject', async (): Promise<string> => sign({ shepherd_roles: [`${slug}:admin`] }), /sub/],
    ['not a JWT', async (): Promise<string> => 'hello.there', /neither a Shepherd API token/],
  ] as const)('refuses a token: %s (401)', async (_name, make, message) => {
    const response = await call(app, 'GET', `/v1/projects/${slug}/models`, await make());
    expect(response.statusCode, response.body).toBe(401);
    expect(response.json()).toMatchObject({
      error: {
        code: 'unauthenticated',
        message: expect.stringMatching(message),
        requestId: expect.any(String),
      },
    });
  });

  it('follows a key rotation: the new kid is fetched, the retired key stops working', async () => {
    const before = await userToken('rotor', [`${slug}:viewer`]);
    expect((await call(app, 'GET', `/v1/projects/${slug}/models`, before)).statusCode).toBe(200);
    const fetchesBefore = idp.jwksRequests();
    const next = await signingKey('ES256');
    const retired = current;
    idp.publish([next]);
    current = next;
    const after = await userToken('rotor', [`${slug}:viewer`]);
    expect((await call(app, 'GET', `/v1/projects/${slug}/models`, after)).statusCode).toBe(200);
    expect(idp.jwksRequests()).toBeGreaterThan(fetchesBefore);
    // The set was reloaded for the new kid, and the retired one is no longer in it.
    const old = await userToken('rotor', [`${slug}:viewer`], retired);
    expect((await call(app, 'GET', `/v1/projects/${slug}/models`, old)).statusCode).toBe(401);
  });

  it('keeps accepting Shepherd API tokens and refusing unknown ones', async () => {
    expect((await call(app, 'GET', `/v1/projects/${slug}/models`, shepherdToken)).statusCode).toBe(200);
    const unknown = await call(app, 'GET', `/v1/projects/${slug}/models`, `shp_${'x'.repeat(43)}`);
    expect(unknown.statusCode).toBe(401);
  });

  it('answers 503 upstream_unavailable when the issuer cannot be reached', async () => {
    const closed = await identityProvider();
    const deadIssuer = closed.issuer;
    await closed.close();
    for (const broken of [
      { ...config, issuer: deadIssuer }, // discovery fails
      { ...config, jwksUrl: `${deadIssuer}/jwks` }, // JWKS fetch fails
    ]) {
      const offline = appWith(new OidcVerifier(database.db, { ...broken, timeoutMs: 1_000 }));
      const token = await sign({ sub: 'a', shepherd_roles: [`${slug}:viewer`] });
      const response = await call(offline, 'GET', `/v1/projects/${slug}/models`, token);
      expect(response.statusCode, response.body).toBe(503);
      expect(response.json()).toMatchObject({
        error: { code: 'upstream_unavailable', message: expect.stringContaining(deadIssuer) },
      });
      await offline.close();
    }
  });

  it('retries discovery after the provider was down, instead of remembering the failure', async () => {
    const fresh = appWith(new OidcVerifier(database.db, config));
    const token = await userToken('dora', [`${slug}:viewer`]);
    idp.setDown(true);
    try {
      const during = await call(fresh, 'GET', `/v1/projects/${slug}/models`, token);
      expect(during.statusCode, during.body).toBe(503);
      expect(during.json()).toMatchObject({
        error: { message: expect.stringMatching(/discovery.*HTTP 503/) },
      });
    } finally {
      idp.setDown(false);
    }
    expect((await call(fresh, 'GET', `/v1/projects/${slug}/models`, token)).statusCode).toBe(200);
    await fresh.close();
  });
});

/** An unsigned JWT (alg none) jose would never produce: what a forger sends. */
function unsigned(header: object, payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}
