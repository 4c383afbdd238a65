import { describe, expect, it } from 'vitest';
import { eventually } from '../src/platform.ts';

describe('eventually', () => {
  it('tries a check that threw again, and returns once it answers', async () => {
    let calls = 0;
    const value = await eventually(
      async () => {
        calls++;
        if (calls < 3) throw new Error('coordinator is loading');
        return 'ready';
      },
      { timeoutMs: 5_000, intervalMs: 1 },
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('names the last error at the deadline when the last try threw', async () => {
    const failing = eventually(
      async () => {
        throw new Error('still loading');
      },
      { timeoutMs: 50, intervalMs: 5, what: 'the group offsets' },
    );
    await expect(failing).rejects.toThrow(
      /^the group offsets not reached within 50 ms; the last check threw: Error: still loading$/,
    );
  });

  it('says only what was not reached when the last try answered nothing', async () => {
    let calls = 0;
    const failing = eventually(
      async () => {
        calls++;
        if (calls === 1) throw new Error('early trouble');
        return undefined;
      },
      { timeoutMs: 50, intervalMs: 5, what: 'lag 0' },
    );
    await expect(failing).rejects.toThrow(/^lag 0 not reached within 50 ms$/);
  });
});
