import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Database } from '@shepherd/db/client';
import { TokenCache } from '../src/token-cache.ts';
import type { Principal } from '../src/tokens.ts';

const principal = { tokenId: 't-1', name: 'ci', role: 'viewer' } as Principal;
// The cache never touches the database when it is given its own check.
const noDatabase = {} as Database;

function counting(answer: (token: string) => Promise<Principal | undefined>) {
  const calls: string[] = [];
  const check = (token: string) => {
    calls.push(token);
    return answer(token);
  };
  return { calls, check };
}

describe('TokenCache', () => {
  afterEach(() => vi.useRealTimers());

  it('checks a token once per ttl, unknown tokens included', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { calls, check } = counting(async (token) => (token === 'good' ? principal : undefined));
    const cache = new TokenCache(noDatabase, 5_000, check);
    expect(await cache.get('good')).toBe(principal);
    expect(await cache.get('good')).toBe(principal);
    expect(await cache.get('made-up')).toBeUndefined();
    expect(await cache.get('made-up')).toBeUndefined();
    expect(calls).toEqual(['good', 'made-up']);
    vi.advanceTimersByTime(5_001);
    expect(await cache.get('good')).toBe(principal);
    expect(calls).toEqual(['good', 'made-up', 'good']);
  });

  it('does not remember a check that failed', async () => {
    let fail = true;
    const { calls, check } = counting(async () => {
      if (fail) throw new Error('database unavailable');
      return principal;
    });
    const cache = new TokenCache(noDatabase, 5_000, check);
    await expect(cache.get('good')).rejects.toThrow('database unavailable');
    fail = false;
    expect(await cache.get('good')).toBe(principal);
    expect(calls).toEqual(['good', 'good']);
  });

  it('checks every time with a ttl of 0, and again after clear', async () => {
    const { calls, check } = counting(async () => principal);
    const uncached = new TokenCache(noDatabase, 0, check);
    await uncached.get('good');
    await uncached.get('good');
    expect(calls).toHaveLength(2);

    const cache = new TokenCache(noDatabase, 5_000, check);
    await cache.get('good');
    cache.clear();
    await cache.get('good');
    expect(calls).toHaveLength(4);
  });

  it('forgets everything rather than grow past 10,000 tokens', async () => {
    const { calls, check } = counting(async () => undefined);
    const cache = new TokenCache(noDatabase, 60_000, check);
    for (let i = 0; i < 10_000; i += 1) await cache.get(`made-up-${i}`);
    await cache.get('made-up-0');
    expect(calls).toHaveLength(10_000);
    await cache.get('one-too-many');
    await cache.get('made-up-0');
    expect(calls).toHaveLength(10_002);
  });
});
