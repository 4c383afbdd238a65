import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/auth/rate-limit.ts';

describe('per-token rate limit', () => {
  it('allows a burst, then refuses with the wait until the next request', () => {
    const limiter = new RateLimiter(60, 3);
    const t0 = 1_000_000;
    expect([1, 2, 3].map(() => limiter.take('a', t0).allowed)).toEqual([true, true, true]);
    expect(limiter.take('a', t0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Other tokens have buckets of their own.
    expect(limiter.take('b', t0).allowed).toBe(true);
    // One request a second refills.
    expect(limiter.take('a', t0 + 1000).allowed).toBe(true);
    expect(limiter.take('a', t0 + 1000).allowed).toBe(false);
  });
});
