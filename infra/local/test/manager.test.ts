import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { up } from '../manager.ts';
import { groupAlive, isOurs, portOpen, readPid, startDetached, stopProcess } from '../process.ts';
import type { ServiceDef } from '../types.ts';

describe('stack process tracking', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'shepherd-stack-'));
    dirs.push(dir);
    return dir;
  };

  it('stops a started process and the children it forked', async () => {
    const dir = stateDir();
    // A parent that forks a child which ignores the parent's death: the group kill must reach it.
    const record = startDetached(dir, 'forker', {
      command: 'sh',
      args: ['-c', 'sleep 300 & sleep 300; wait'],
    });
    expect(isOurs(record)).toBe(true);
    expect(groupAlive(record.pid)).toBe(true);

    expect(await stopProcess(dir, 'forker', 5000)).toBe('stopped');
    expect(groupAlive(record.pid)).toBe(false);
    expect(readPid(dir, 'forker')).toBeUndefined();
  });

  it('does not signal a pid that is no longer the process it started', async () => {
    const dir = stateDir();
    const record = startDetached(dir, 'short', { command: 'sleep', args: ['300'] });
    // Pretend the pid was reused by something else: the command line no longer matches.
    const forged = { ...record, command: 'definitely-not-sleep' };
    expect(isOurs(forged)).toBe(false);
    expect(await stopProcess(dir, 'short', 5000)).toBe('stopped');
  });

  it('reports not-running when nothing was started', async () => {
    expect(await stopProcess(stateDir(), 'nothing')).toBe('not-running');
  });

  it('refuses to start a service whose port another process holds, naming the port', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    let launched = false;
    const service: ServiceDef = {
      name: 'fake',
      ports: [port],
      startupTimeoutSeconds: 1,
      install: async () => undefined,
      launch: () => {
        launched = true;
        return { command: 'sleep', args: ['1'] };
      },
      healthy: async () => true,
    };
    const ctx = { cacheDir: stateDir(), stateDir: stateDir(), log: () => undefined };
    await expect(up(ctx, [], [service])).rejects.toThrow(
      new RegExp(`fake: port ${port} is already taken .*free the port`),
    );
    expect(launched).toBe(false);
  });

  it('sees a port taken by another process', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    expect(await portOpen(port)).toBe(true);
  });
});
