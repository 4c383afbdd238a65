import { describe, expect, it } from 'vitest';
import { runEntryPoint } from '@shepherd/testing/process';

const stackFrame = /^\s+at .+\(.+:\d+:\d+\)$/m;

describe('worker startup with bad configuration', { timeout: 60_000 }, () => {
  it('exits non-zero naming the address when Temporal is unreachable', async () => {
    const result = await runEntryPoint('apps/worker/src/main.ts', { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(result.stderr).not.toMatch(stackFrame);
  });

  it('exits non-zero naming WORKER_TASK_QUEUES when it is empty', async () => {
    const result = await runEntryPoint('apps/worker/src/main.ts', { WORKER_TASK_QUEUES: ' , ' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('WORKER_TASK_QUEUES');
    expect(result.stderr).not.toMatch(stackFrame);
  });
});
