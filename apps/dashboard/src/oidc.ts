import { z } from 'zod';
import { authConfigView } from '@shepherd/contracts/auth';
import { createApi, type Role, type Session } from './api.ts';

/**
 * Signing in with the organisation's identity provider: OAuth 2.0 Authorization Code with PKCE
 * (RFC 7636) as a public client, which is what a single-page app can do safely. The dashboard has
 * no secret; the code verifier proves to the token endpoint that whoever redeems the code is the tab
 * that asked for it. The token obtained is then sent as `Authorization: Bearer` like an shp_ token.
 *
 * The flow leaves the page twice, so what it must remember between the legs (verifier, state,
 * nonce) is kept in sessionStorage for that tab only, and removed as soon as it is used. The code
 * and state come back in the query string; they are taken out of the address bar (and so out of
 * the history) before anything else happens. The token itself never appears in a URL.
 */

export type OidcSettings = NonNullable<z.infer<typeof authConfigView>['oidc']>;

type Fetch = typeof fetch;

/** Where the sign-in in progress is remembered between leaving for the provider and coming back. */
export const pendingKey = 'shepherd.oidc.pending';

const pendingSignIn = z.object({
  state: z.string().min(1),
  nonce: z.string().min(1),
  verifier: z.string().min(43).max(128),
  redirectUri: z.string(),
  tokenEndpoint: z.string(),
  clientId: z.string(),
  issuer: z.string(),
  token: z.enum(['access_token', 'id_token']),
  roleClaim: z.string(),
});
type PendingSignIn = z.infer<typeof pendingSignIn>;

export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

/** The API's sign-in options; null when it offers API tokens only (or is too old to say). */
export async function fetchAuthConfig(
  apiBaseUrl: string,
  doFetch: Fetch = fetch,
): Promise<OidcSettings | null> {
  const response = await doFetch(`${apiBaseUrl}/v1/auth/config`, { headers: { accept: 'application/json' } });
  if (response.status === 404) return null;
  if (!response.ok) throw new SignInError(`the API's sign-in options answered ${response.status}`);
  const parsed = authConfigView.safeParse(await response.json());
  if (!parsed.success) throw new SignInError("the API's sign-in options are not in the expected form");
  return parsed.data.oidc;
}

/** "Sign in with <this>": the issuer's host, which is what people recognise in an issuer URL. */
export function providerLabel(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 32 random bytes: 43 base64url characters, the shortest verifier RFC 7636 allows, 256 bits. */
export const randomToken = (bytes = 32): string => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

const discoveryDocument = z.object({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

/** The provider's endpoints from its discovery document, which must name the issuer we were given. */
export async function discover(issuer: string, doFetch: Fetch = fetch) {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await doFetch(url, { headers: { accept: 'application/json' } });
  } catch {
    throw new SignInError(`cannot reach the identity provider at ${issuer}`);
  }
  if (!response.ok)
    throw new SignInError(`the identity provider's discovery document answered ${response.status}`);
  const parsed = discoveryDocument.safeParse(await response.json());
  if (!parsed.success) throw new SignInError("the identity provider's discovery document is incomplete");
  const document = parsed.data;
  if (document.issuer.replace(/\/+$/, '') !== issuer.replace(/\/+$/, '')) {
    throw new SignInError(`the discovery document names issuer ${document.issuer}, not ${issuer}`);
  }
  const methods = document.code_challenge_methods_supported;
  if (methods && !methods.includes('S256')) {
    throw new SignInError('the identity provider does not support PKCE with S256');
  }
  return { authorizationEndpoint: document.authorization_endpoint, tokenEndpoint: document.token_endpoint };
}

/** The dashboard's own address without query or fragment: what the provider redirects back to. */
export const redirectUriOf = (location: { origin: string; pathname: string }) =>
  `${location.origin}${location.pathname}`;

/**
 * First leg: remembers a fresh verifier, state and nonce for this tab and returns the provider's
 * authorize URL to send the browser to.
 */
export async function beginSignIn(
  settings: OidcSettings,
  options: { redirectUri: string; storage: Storage; fetch?: Fetch },
): Promise<string> {
  const { authorizationEndpoint, tokenEndpoint } = await discover(settings.issuer, options.fetch);
  const pending: PendingSignIn = {
    state: randomToken(),
    nonce: randomToken(),
    verifier: randomToken(),
    redirectUri: options.redirectUri,
    tokenEndpoint,
    clientId: settings.clientId,
    issuer: settings.issuer,
    token: settings.token,
    roleClaim: settings.roleClaim,
  };
  options.storage.setItem(pendingKey, JSON.stringify(pending));
  const url = new URL(authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', settings.clientId);
  url.searchParams.set('redirect_uri', options.redirectUri);
  url.searchParams.set('scope', settings.scopes);
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', await codeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/** Whether a query string is the provider's answer (a code, or an error) rather than a plain visit. */
export function isCallback(search: string): boolean {
  const params = new URLSearchParams(search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

const tokenResponse = z.object({
  access_token: z.string().min(1).optional(),
  id_token: z.string().min(1).optional(),
  token_type: z.string().optional(),
  expires_in: z.number().optional(),
});

/** The claims of a JWT, unverified: only for what the browser itself asked for (nonce, projects). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(json, (char) => char.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface SignedIn {
  token: string;
  /** The claim the API reads project roles from, to tell a user with several projects what they have. */
  roleClaim: string;
}

/**
 * Second leg: the provider sent the browser back with `?code&state`. Checks the state against the
 * one this tab sent, redeems the code with the verifier, checks the ID token's nonce, and returns
 * the token to send to the API. The pending sign-in is used once, whatever happens.
 */
export async function completeSignIn(
  search: string,
  options: { storage: Storage; fetch?: Fetch },
): Promise<SignedIn> {
  const doFetch = options.fetch ?? fetch;
  const params = new URLSearchParams(search);
  const raw = options.storage.getItem(pendingKey);
  options.storage.removeItem(pendingKey);
  const stored = raw === null ? undefined : pendingSignIn.safeParse(safeJson(raw));
  if (!stored?.success) {
    throw new SignInError('no sign-in was started in this tab (or it was already completed): sign in again');
  }
  const pending = stored.data;
  if (params.get('state') !== pending.state) {
    throw new SignInError(
      'the identity provider answered a different sign-in than this tab started: sign in again',
    );
  }
  const error = params.get('error');
  if (error) {
    const description = params.get('error_description');
    throw new SignInError(
      `the identity provider refused the sign-in: ${error}${description ? ` (${description})` : ''}`,
    );
  }
  const code = params.get('code');
  if (!code) throw new SignInError('the identity provider sent no authorization code');

  let response: Response;
  try {
    response = await doFetch(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: pending.redirectUri,
        client_id: pending.clientId,
        code_verifier: pending.verifier,
      }).toString(),
    });
  } catch {
    throw new SignInError(`cannot reach the identity provider's token endpoint (${pending.tokenEndpoint})`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const reason = z.object({ error: z.string(), error_description: z.string().optional() }).safeParse(body);
    throw new SignInError(
      `the identity provider did not issue a token: ${reason.success ? `${reason.data.error}${reason.data.error_description ? ` (${reason.data.error_description})` : ''}` : `HTTP ${response.status}`}`,
    );
  }
  const tokens = tokenResponse.safeParse(body);
  if (!tokens.success)
    throw new SignInError("the identity provider's token response is not in the expected form");
  // Only the ID token carries the nonce: it shows the answer belongs to this sign-in, not a replay.
  if (tokens.data.id_token) {
    const claims = jwtClaims(tokens.data.id_token);
    if (claims?.['nonce'] !== pending.nonce) {
      throw new SignInError('the ID token does not carry the nonce this sign-in sent: sign in again');
    }
  }
  const token = tokens.data[pending.token];
  if (!token) throw new SignInError(`the identity provider's answer has no ${pending.token}`);
  return { token, roleClaim: pending.roleClaim };
}

const inFlight = new Map<string, Promise<SignedIn>>();

/**
 * `completeSignIn` once per answer: React may run the effect that calls it twice (StrictMode), and a
 * code and its pending sign-in can only be used once.
 */
export function completeSignInOnce(search: string, options: { storage: Storage; fetch?: Fetch }) {
  const existing = inFlight.get(search);
  if (existing) return existing;
  const started = completeSignIn(search, options);
  inFlight.set(search, started);
  return started;
}

/** Highest first, as the API resolves a project listed with several roles. */
const rolePrecedence: readonly Role[] = ['admin', 'approver', 'ml-engineer', 'viewer'];

/**
 * The projects a token grants a role in, read from its role claim by the API's rules (an array or a
 * space/comma-separated string of `project:role`; unknown roles ignored): what a user with several
 * projects picks from. Unverified: the API decides what the token may do.
 */
export function projectsInToken(token: string, claim: string): { project: string; role: Role }[] {
  const claims = jwtClaims(token);
  if (!claims) return [];
  let value: unknown = claim in claims ? claims[claim] : undefined;
  if (value === undefined) {
    value = claims;
    for (const part of claim.split('.')) {
      value =
        value !== null && typeof value === 'object' && Object.hasOwn(value, part)
          ? (value as Record<string, unknown>)[part]
          : undefined;
    }
  }
  const entries =
    typeof value === 'string'
      ? value.split(/[\s,]+/)
      : Array.isArray(value)
        ? value.filter((entry): entry is string => typeof entry === 'string')
        : [];
  const granted = new Map<string, Role>();
  for (const entry of entries) {
    const separator = entry.indexOf(':');
    if (separator <= 0) continue;
    const project = entry.slice(0, separator);
    const role = entry.slice(separator + 1) as Role;
    if (!rolePrecedence.includes(role)) continue;
    const current = granted.get(project);
    if (!current || rolePrecedence.indexOf(role) < rolePrecedence.indexOf(current))
      granted.set(project, role);
  }
  return [...granted].map(([project, role]) => ({ project, role }));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A session for one of several projects a token grants: the API answers whether the token may read
 * that project (a 401 or 404 here is the sign-in's error); whoami cannot, as it serves tokens of one project.
 */
export async function projectSession(
  apiBaseUrl: string,
  token: string,
  choice: { project: string; role: Role },
): Promise<Session> {
  const subject = jwtClaims(token)?.['sub'];
  const session: Session = {
    token,
    project: choice.project,
    projectName: choice.project,
    role: choice.role,
    tokenName: `oidc:${typeof subject === 'string' ? subject : '?'}`,
  };
  await createApi(apiBaseUrl, session).listModels();
  return session;
}
