import { describe, expect, it } from 'vitest';
import {
  base64url,
  beginSignIn,
  codeChallenge,
  completeSignIn,
  isCallback,
  pendingKey,
  projectsInToken,
  providerLabel,
  type OidcSettings,
} from './oidc.ts';

/** sessionStorage's interface over a Map. */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  };
}

const issuer = 'https://login.example.com/realms/acme';
const settings: OidcSettings = {
  issuer,
  clientId: 'shepherd-dashboard',
  scopes: 'openid profile',
  token: 'access_token',
  roleClaim: 'shepherd_roles',
};
const discovery = {
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  code_challenge_methods_supported: ['S256'],
};

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** An unsigned JWT-shaped string: these functions only read claims; the API verifies signatures. */
const jwt = (claims: Record<string, unknown>) =>
  `${base64url(new TextEncoder().encode('{"alg":"none"}'))}.${base64url(new TextEncoder().encode(JSON.stringify(claims)))}.sig`;

async function started(storage: Storage, overrides: Partial<OidcSettings> = {}) {
  const url = new URL(
    await beginSignIn(
      { ...settings, ...overrides },
      {
        redirectUri: 'https://shepherd.example.com/',
        storage,
        fetch: async () => json(discovery),
      },
    ),
  );
  return { url, pending: JSON.parse(storage.getItem(pendingKey)!) as Record<string, string> };
}

describe('OIDC sign-in (Authorization Code + PKCE)', () => {
  it('computes the S256 challenge of RFC 7636, appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('sends the browser to the authorize endpoint with a fresh state, nonce and challenge', async () => {
    const storage = memoryStorage();
    const { url, pending } = await started(storage);
    expect(`${url.origin}${url.pathname}`).toBe(`${issuer}/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'shepherd-dashboard',
      redirect_uri: 'https://shepherd.example.com/',
      scope: 'openid profile',
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    expect(url.searchParams.get('code_challenge')).toBe(await codeChallenge(pending.verifier!));
    // The verifier itself never leaves the tab.
    expect(url.toString()).not.toContain(pending.verifier);
    expect(pending.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await started(memoryStorage());
    expect(again.pending.state).not.toBe(pending.state);
    expect(again.pending.verifier).not.toBe(pending.verifier);
  });

  it('refuses a provider whose discovery names another issuer or lacks S256', async () => {
    const begin = (document: object) =>
      beginSignIn(settings, {
        redirectUri: 'https://shepherd.example.com/',
        storage: memoryStorage(),
        fetch: async () => json(document),
      });
    await expect(begin({ ...discovery, issuer: 'https://evil.example.com' })).rejects.toThrow(
      /names issuer https:\/\/evil\.example\.com/,
    );
    await expect(begin({ ...discovery, code_challenge_methods_supported: ['plain'] })).rejects.toThrow(
      /PKCE with S256/,
    );
  });

  it('redeems the code with the verifier and returns the configured token, once', async () => {
    const storage = memoryStorage();
    const { pending } = await started(storage);
    const access = jwt({ sub: 'dana', aud: 'shepherd-api' });
    const requests: { url: string; body: URLSearchParams }[] = [];
    const token = async (input: RequestInfo | URL, init?: RequestInit) => {
      requests.push({ url: String(input), body: new URLSearchParams(String(init?.body)) });
      return json({ access_token: access, id_token: jwt({ nonce: pending.nonce }), token_type: 'Bearer' });
    };
    const search = `?code=the-code&state=${pending.state}`;
    expect(isCallback(search)).toBe(true);
    expect(await completeSignIn(search, { storage, fetch: token })).toEqual({
      token: access,
      roleClaim: 'shepherd_roles',
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe(`${issuer}/token`);
    expect(Object.fromEntries(requests[0]!.body)).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: 'https://shepherd.example.com/',
      client_id: 'shepherd-dashboard',
      code_verifier: pending.verifier,
    });
    // The pending sign-in is gone: the same answer cannot be replayed in this tab.
    await expect(completeSignIn(search, { storage, fetch: token })).rejects.toThrow(/no sign-in was started/);
  });

  it('returns the ID token when the API is configured to take that one', async () => {
    const storage = memoryStorage();
    const { pending } = await started(storage, { token: 'id_token' });
    const id = jwt({ nonce: pending.nonce, aud: 'shepherd-dashboard' });
    const result = await completeSignIn(`?code=c&state=${pending.state}`, {
      storage,
      fetch: async () => json({ access_token: 'opaque', id_token: id }),
    });
    expect(result.token).toBe(id);
  });

  it('refuses a foreign state, a provider error, a wrong nonce and a refused code', async () => {
    const attempt = async (
      search: (pending: Record<string, string>) => string,
      answer: (pending: Record<string, string>) => Response,
    ) => {
      const storage = memoryStorage();
      const { pending } = await started(storage);
      const outcome = completeSignIn(search(pending), { storage, fetch: async () => answer(pending) });
      await expect(outcome).rejects.toThrow();
      expect(storage.getItem(pendingKey)).toBeNull();
      return outcome.catch((err: Error) => err.message);
    };
    const ok = (pending: Record<string, string>) =>
      json({ access_token: 'a', id_token: jwt({ nonce: pending.nonce }) });
    expect(await attempt(() => '?code=c&state=forged', ok)).toMatch(/different sign-in/);
    expect(
      await attempt((p) => `?error=access_denied&error_description=user+said+no&state=${p.state}`, ok),
    ).toMatch(/refused the sign-in: access_denied \(user said no\)/);
    expect(
      await attempt(
        (p) => `?code=c&state=${p.state}`,
        () => json({ access_token: 'a', id_token: jwt({ nonce: 'replayed' }) }),
      ),
    ).toMatch(/nonce/);
    expect(
      await attempt(
        (p) => `?code=c&state=${p.state}`,
        () => json({ error: 'invalid_grant', error_description: 'PKCE verification failed' }, 400),
      ),
    ).toMatch(/did not issue a token: invalid_grant \(PKCE verification failed\)/);
  });

  it("reads the projects a token grants by the API's rules", () => {
    expect(
      projectsInToken(
        jwt({ shepherd_roles: ['fraud:viewer', 'fraud:approver', 'risk:ml-engineer', 'junk', 'x:owner'] }),
        'shepherd_roles',
      ),
    ).toEqual([
      { project: 'fraud', role: 'approver' },
      { project: 'risk', role: 'ml-engineer' },
    ]);
    expect(projectsInToken(jwt({ realm: { roles: 'a:admin b:viewer' } }), 'realm.roles')).toEqual([
      { project: 'a', role: 'admin' },
      { project: 'b', role: 'viewer' },
    ]);
    expect(projectsInToken('not-a-jwt', 'shepherd_roles')).toEqual([]);
  });

  it('labels the provider by its host and tells a callback from a plain visit', () => {
    expect(providerLabel(issuer)).toBe('login.example.com');
    expect(isCallback('')).toBe(false);
    expect(isCallback('?code=x')).toBe(false);
    expect(isCallback('?error=access_denied&state=s')).toBe(true);
  });
});
