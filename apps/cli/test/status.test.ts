import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectStatus, formatStatus } from '../src/status.ts';

describe('shepherd status', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // Stands in for the API only; the services behind it are what the integration suite covers.
    server = createServer((req, res) => {
      if (req.url === '/readyz') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'not_ready',
            checks: [
              { name: 'postgres', ok: true, latencyMs: 2 },
              { name: 'kafka', ok: false, latencyMs: 3000, detail: 'kafka did not answer within 3000 ms' },
            ],
          }),
        );
        return;
      }
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('shows each dependency from /readyz and marks the failing one', async () => {
    const rows = await collectStatus({ api: base, gateway: base, dashboard: base });
    expect(rows.map((row) => [row.name, row.ok])).toEqual([
      ['api', true],
      ['postgres', true],
      ['kafka', false],
      ['gateway', true],
      ['dashboard', true],
    ]);
    expect(formatStatus(rows)).toMatch(/DOWN\s+kafka\s+kafka did not answer within 3000 ms/);
  });

  it('reports an unreachable API as a row rather than failing', async () => {
    const closedPort = await freePort();
    const rows = await collectStatus({
      api: `http://127.0.0.1:${closedPort}`,
      gateway: base,
      dashboard: base,
    });
    expect(rows[0]).toMatchObject({ name: 'api', ok: false });
    expect(rows[0]?.detail).toContain('ECONNREFUSED');
  });
});

/** A port that was free a moment ago and has nothing listening now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
