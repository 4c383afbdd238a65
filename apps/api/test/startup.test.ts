import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '@shepherd/testing/process';

// A stack frame line, as printed by an uncaught error.
const stackFrame = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('api startup with bad configuration', { timeout: 60_000 }, () => {
  it('exits non-zero naming DATABASE_URL when it is malformed', async () => {
    const result = await runEntryPoint('apps/api/src/main.ts', { DATABASE_URL: 'not a url' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL: must be a URL like postgres://');
    expect(result.stderr).not.toMatch(stackFrame);
  });

  it('exits non-zero naming the address when Temporal is unreachable', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const result = await runEntryPoint('apps/api/src/main.ts', { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(result.stderr).not.toMatch(stackFrame);
  });
});
