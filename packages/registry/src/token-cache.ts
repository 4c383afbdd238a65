import type { Database } from '@shepherd/db/client';
import { authenticate, type Principal } from './tokens.ts';

/** At most this many checks are remembered; past it, all are forgotten at once. */
const maxEntries = 10_000;

type Check = (token: string) => Promise<Principal | undefined>;

/** How long a token check is remembered by default (see docs/security.md). */
export const tokenCacheMs = 5_000;

/**
 * Token checks remembered for a few seconds, for the API and the gateway: on a hot route (an online
 * lookup, a prediction) the PostgreSQL round trip per request costs as much as the work itself. A
 * token revoked elsewhere keeps working for at most `ttlMs`; `clear` forgets every check at once
 * (the API calls it when it revokes a token itself).
 */
export class TokenCache {
  private readonly entries = new Map<
    string,
    { principal: Promise<Principal | undefined>; expires: number }
  >();
  private readonly check: Check;

  /** `check` defaults to the token table (`authenticate`); tests pass their own. */
  constructor(
    db: Database,
    private readonly ttlMs: number = tokenCacheMs,
    check?: Check,
  ) {
    this.check = check ?? ((token) => authenticate(db, token));
  }

  get(token: string): Promise<Principal | undefined> {
    if (this.ttlMs <= 0) return this.check(token);
    // Keyed by the token itself: hashing it per request costs more than the lookup saves, and the
    // token is in this process's memory with every request anyway.
    const now = Date.now();
    const cached = this.entries.get(token);
    if (cached && cached.expires > now) return cached.principal;
    // Bounded: a flood of made-up tokens costs a query each, never unbounded memory.
    if (this.entries.size >= maxEntries) this.entries.clear();
    const principal = this.check(token);
    // Unknown tokens are remembered too; failed checks are not (the next request retries), unless
    // a later check has taken the entry's place meanwhile.
    this.entries.set(token, { principal, expires: now + this.ttlMs });
    principal.catch(() => this.entries.get(token)?.principal === principal && this.entries.delete(token));
    return principal;
  }

  clear(): void {
    this.entries.clear();
  }
}
