import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { roles, type Project, type Role } from '@shepherd/db/schema';
import { getProject } from '@shepherd/registry/projects';
import type { Principal } from '@shepherd/registry/tokens';

/**
 * Asymmetric algorithms only: a JWKS publishes public keys, and accepting HS* against one would let
 * anyone holding the public key (everyone) sign tokens. `none` is never accepted.
 */
export const oidcAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type OidcAlgorithm = (typeof oidcAlgorithms)[number];

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Unset: the `jwks_uri` of the issuer's `/.well-known/openid-configuration`. */
  jwksUrl?: string | undefined;
  /** Claim holding `project:role` entries; a dotted path reaches into nested claims. */
  roleClaim: string;
  algorithms: readonly OidcAlgorithm[];
  /** Leeway on exp/nbf/iat for clocks that disagree a little. */
  clockToleranceSeconds?: number;
  /** How long an unknown `kid` waits before the JWKS is fetched again (jose's cooldown). */
  jwksCooldownMs?: number;
  /** Timeout of each discovery and JWKS request. */
  timeoutMs?: number;
  /** How long a project looked up by slug is remembered (a query per request would cost more). */
  projectCacheMs?: number;
  /** The dashboard's sign-in client; unset: the dashboard offers API tokens only. */
  client?: OidcClientSettings | undefined;
}

/**
 * What a browser needs to sign in with the provider (Authorization Code + PKCE as a public client):
 * all of it is public, and `GET /v1/auth/config` hands it out without authentication.
 */
export interface OidcClientSettings {
  clientId: string;
  /** Space-separated, as the authorize request takes them. */
  scopes: string;
  /** The token of the provider's answer whose `aud` is this API's audience. */
  token: 'access_token' | 'id_token';
}

/** A caller signed in through the identity provider rather than with a Shepherd API token. */
export interface OidcPrincipal extends Principal {
  via: 'oidc';
  subject: string;
}

export const isOidcPrincipal = (principal: Principal): principal is OidcPrincipal =>
  (principal as Partial<OidcPrincipal>).via === 'oidc';

/** Who the audit log names: `token:<name>` for API tokens, `oidc:<sub>` for identity-provider users. */
export const actorOf = (principal: Principal): string =>
  isOidcPrincipal(principal) ? `oidc:${principal.subject}` : `token:${principal.name}`;

const discoveryDocument = z.object({
  issuer: z.string(),
  jwks_uri: z.url({ protocol: /^https?$/ }),
});

/** `sub` goes into audit rows: bounded, and nothing PostgreSQL cannot store or a log could misread. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const acceptableSubject = /^[^\u0000-\u001f\u007f\p{Cs}]{1,255}$/u;

/** Strongest first: when a claim grants one project several roles, the first of these wins. */
const rolePrecedence: readonly Role[] = ['admin', 'approver', 'ml-engineer', 'viewer'];

/** The roles a token's claim grants, by project slug. Entries that are not `slug:role` are ignored. */
export function rolesFromClaim(payload: JWTPayload, claim: string): Map<string, Role> {
  const value = claimAt(payload, claim);
  const entries =
    typeof value === 'string'
      ? value.split(/[\s,]+/)
      : Array.isArray(value)
        ? value.filter((entry): entry is string => typeof entry === 'string')
        : undefined;
  if (entries === undefined) {
    throw new ShepherdError(
      'unauthenticated',
      `the OIDC token has no '${claim}' claim listing project:role entries`,
    );
  }
  const granted = new Map<string, Role>();
  for (const entry of entries) {
    const separator = entry.indexOf(':');
    if (separator <= 0) continue;
    const slug = entry.slice(0, separator);
    const role = entry.slice(separator + 1);
    if (!(roles as readonly string[]).includes(role)) continue;
    const current = granted.get(slug);
    if (current === undefined || rolePrecedence.indexOf(role as Role) < rolePrecedence.indexOf(current)) {
      granted.set(slug, role as Role);
    }
  }
  return granted;
}

/** The claim itself if the token has one by that exact name (URLs as claim names have dots), else a dotted path. */
function claimAt(payload: JWTPayload, claim: string): unknown {
  if (claim in payload) return payload[claim];
  let current: unknown = payload;
  for (const part of claim.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** What went wrong fetching keys (as opposed to the token being bad): the caller gets 503, not 401. */
class KeySourceUnavailable extends Error {}

/**
 * Verifies bearer JWTs from one issuer against its JWKS (cached by jose, fetched again when a token
 * names a key id it has not seen, at most once per cooldown) and turns them into a principal for the
 * project the request names. Tokens the issuer did not sign, for another audience, expired or not
 * yet valid answer 401; an issuer that cannot be reached answers 503.
 */
export class OidcVerifier {
  private keys: Promise<{ getKey: JWTVerifyGetKey; url: string }> | undefined;
  private readonly projects = new Map<string, { project: Promise<Project>; expires: number }>();
  private readonly timeoutMs: number;

  constructor(
    private readonly db: Database,
    readonly config: OidcConfig,
  ) {
    this.timeoutMs = config.timeoutMs ?? 5_000;
  }

  /**
   * The principal for `token` in `projectSlug` (the URL's project). Without a project in the URL
   * (whoami), the token must grant a role in exactly one project, which becomes the principal's.
   */
  async authenticate(token: string, projectSlug: string | undefined): Promise<OidcPrincipal> {
    const payload = await this.verify(token);
    const subject = payload.sub;
    if (typeof subject !== 'string' || !acceptableSubject.test(subject)) {
      throw new ShepherdError('unauthenticated', "the OIDC token's 'sub' claim is missing or unusable");
    }
    const granted = rolesFromClaim(payload, this.config.roleClaim);
    let slug = projectSlug;
    if (slug === undefined) {
      const only = [...granted.keys()];
      if (only.length !== 1) {
        throw new ShepherdError(
          'unauthenticated',
          `the OIDC token grants roles in ${only.length} projects; call a route under /v1/projects/{project}`,
        );
      }
      slug = only[0]!;
    }
    const role = granted.get(slug);
    // The same answer as a Shepherd token of another project gets: no hint that the project exists.
    if (role === undefined) throw new ShepherdError('not_found', `project '${slug}' does not exist`);
    const project = await this.project(slug);
    return {
      via: 'oidc',
      subject,
      // Rate limits are per caller; one identity-provider user is one caller across its tokens.
      tokenId: `oidc:${subject}`,
      name: `oidc:${subject}`,
      role,
      project,
    };
  }

  private async verify(token: string): Promise<JWTPayload> {
    const { getKey } = await this.keySource();
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...this.config.algorithms],
        clockTolerance: this.config.clockToleranceSeconds ?? 30,
        requiredClaims: ['sub', 'exp'],
      });
      return payload;
    } catch (err) {
      throw this.refusal(err);
    }
  }

  private refusal(err: unknown): ShepherdError {
    if (err instanceof KeySourceUnavailable) {
      return new ShepherdError('upstream_unavailable', err.message, { cause: err.cause });
    }
    const refuse = (message: string) => new ShepherdError('unauthenticated', message, { cause: err });
    if (err instanceof joseErrors.JWTExpired) return refuse('the OIDC token has expired');
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'aud')
        return refuse(`the OIDC token is not for this API (aud must include '${this.config.audience}')`);
      if (err.claim === 'iss') return refuse(`the OIDC token was not issued by ${this.config.issuer}`);
      if (err.claim === 'nbf') return refuse('the OIDC token is not valid yet (nbf)');
      return refuse(`the OIDC token's '${err.claim}' claim is not acceptable: ${err.message}`);
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed) {
      return refuse(
        `the OIDC token's algorithm is not allowed (allowed: ${this.config.algorithms.join(', ')})`,
      );
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      return refuse("the OIDC token's signature does not verify against the issuer's keys");
    }
    if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
      return refuse('the OIDC token was not signed by any key the issuer publishes');
    }
    if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
      return refuse('the bearer token is neither a Shepherd API token (shp_…) nor a well-formed JWT');
    }
    if (err instanceof joseErrors.JOSEError || err instanceof TypeError) {
      // Unsupported key types, malformed headers: still the token's fault, never a 500.
      return refuse(`the OIDC token cannot be verified: ${err.message}`);
    }
    return refuse('the OIDC token cannot be verified');
  }

  /** The JWKS, from configuration or discovery; a failed discovery is retried by the next request. */
  private keySource(): Promise<{ getKey: JWTVerifyGetKey; url: string }> {
    this.keys ??= this.resolveJwksUrl().then((url) => ({ getKey: this.remoteKeys(url), url }));
    const keys = this.keys;
    keys.catch(() => {
      if (this.keys === keys) this.keys = undefined;
    });
    return keys.catch((err: unknown) => {
      throw err instanceof KeySourceUnavailable
        ? new ShepherdError('upstream_unavailable', err.message, { cause: err.cause })
        : err;
    });
  }

  private remoteKeys(url: string): JWTVerifyGetKey {
    const remote = createRemoteJWKSet(new URL(url), {
      timeoutDuration: this.timeoutMs,
      cooldownDuration: this.config.jwksCooldownMs ?? 30_000,
      cacheMaxAge: 10 * 60_000,
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        // An unknown kid is the token's problem; anything else while fetching keys is the issuer's.
        if (
          err instanceof joseErrors.JWKSNoMatchingKey ||
          err instanceof joseErrors.JWKSMultipleMatchingKeys
        ) {
          throw err;
        }
        throw new KeySourceUnavailable(
          `the OIDC issuer's keys at ${url} are unavailable: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    };
  }

  private async resolveJwksUrl(): Promise<string> {
    if (this.config.jwksUrl) return this.config.jwksUrl;
    const url = `${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let body: unknown;
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (err) {
      throw new KeySourceUnavailable(
        `the OIDC discovery document at ${url} is unavailable: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    const document = discoveryDocument.safeParse(body);
    if (!document.success) {
      throw new KeySourceUnavailable(`the OIDC discovery document at ${url} has no usable jwks_uri`);
    }
    // OpenID Connect Discovery 1.0 §4.3: a document naming another issuer must not be used.
    if (document.data.issuer !== this.config.issuer) {
      throw new KeySourceUnavailable(
        `the OIDC discovery document at ${url} names issuer '${document.data.issuer}', not '${this.config.issuer}'`,
      );
    }
    return document.data.jwks_uri;
  }

  private project(slug: string): Promise<Project> {
    const ttl = this.config.projectCacheMs ?? 5_000;
    const now = Date.now();
    const cached = this.projects.get(slug);
    if (cached && cached.expires > now) return cached.project;
    // Bounded: slugs come from signed tokens, but a claim may list many.
    if (this.projects.size >= 1_000) this.projects.clear();
    const project = getProject(this.db, slug);
    this.projects.set(slug, { project, expires: now + ttl });
    project.catch(() => this.projects.delete(slug));
    return project;
  }
}

/** The verifier the environment asks for, or none when OIDC_ISSUER is unset. */
export function oidcConfigFromEnv(env: {
  OIDC_ISSUER?: string | undefined;
  OIDC_AUDIENCE?: string | undefined;
  OIDC_JWKS_URL?: string | undefined;
  OIDC_ROLE_CLAIM: string;
  OIDC_ALLOWED_ALGS: readonly OidcAlgorithm[];
  OIDC_CLIENT_ID?: string | undefined;
  OIDC_SCOPES?: string | undefined;
  OIDC_CLIENT_TOKEN?: 'access_token' | 'id_token' | undefined;
}): OidcConfig | undefined {
  if (!env.OIDC_ISSUER || !env.OIDC_AUDIENCE) return undefined;
  return {
    issuer: env.OIDC_ISSUER,
    audience: env.OIDC_AUDIENCE,
    jwksUrl: env.OIDC_JWKS_URL,
    roleClaim: env.OIDC_ROLE_CLAIM,
    algorithms: env.OIDC_ALLOWED_ALGS,
    client: env.OIDC_CLIENT_ID
      ? {
          clientId: env.OIDC_CLIENT_ID,
          scopes: env.OIDC_SCOPES ?? 'openid profile',
          token: env.OIDC_CLIENT_TOKEN ?? 'access_token',
        }
      : undefined,
  };
}
