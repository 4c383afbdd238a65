import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpAtFixedRate, rawRequest } from './_loadgen.ts';

interface Seen {
  method: string;
  url: string;
  body: string;
  contentType?: string;
}

let server: Server | undefined;

async function serve(answer: (req: Seen, res: ServerResponse<IncomingMessage>) => void) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString(),
        contentType: req.headers['content-type'],
      };
      seen.push(request);
      answer(request, res);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

function json(res: ServerResponse<IncomingMessage>, status: number, body: unknown) {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length });
  res.end(bytes);
}

afterEach(async () => {
  if (!server) return;
  await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

describe('the compiled load generator', () => {
  it('sends every request once, in order, warm-up included, and counts only the measured ones', async () => {
    const { port, seen } = await serve((_, res) => json(res, 200, { ok: true }));
    const requests = ['/a', '/b', '/c'].map((path) => ({ path, headers: { authorization: 'Bearer t' } }));
    // One socket, so the server sees them in the order they were sent.
    const result = await httpAtFixedRate(port, requests, 200, 0.5, { warmup: 0.25, maxConnections: 1 });
    expect(seen).toHaveLength(150);
    expect(seen.map((r) => r.url)).toEqual(Array.from({ length: 150 }, (_, i) => ['/a', '/b', '/c'][i % 3]));
    expect(result.count).toBe(100);
    expect(result.errors).toBe(0);
    expect(result.firstError).toBeUndefined();
    expect(result.p50).toBeGreaterThan(0);
    expect(result.p99).toBeGreaterThanOrEqual(result.p50);
    expect(result.max).toBeGreaterThanOrEqual(result.p99);
  });

  it('sends POST bodies whole, as JSON', async () => {
    const { port, seen } = await serve((_, res) => json(res, 200, {}));
    const body = JSON.stringify({ entityId: 'é-1', features: { amount: 1.5 }, pad: 'x'.repeat(3000) });
    const result = await httpAtFixedRate(port, [{ method: 'POST', path: '/p', body }], 100, 0.1, {
      warmup: 0,
    });
    expect(result.errors).toBe(0);
    expect(seen).toHaveLength(10);
    for (const request of seen) {
      expect(request).toMatchObject({ method: 'POST', url: '/p', body, contentType: 'application/json' });
    }
  });

  it('counts latency from the due time through the whole answer', async () => {
    // The server holds each answer 30 ms: no request can be measured faster than that.
    const { port } = await serve((_, res) => setTimeout(() => json(res, 200, { late: true }), 30));
    const result = await httpAtFixedRate(port, [{ path: '/slow' }], 100, 0.2, { warmup: 0 });
    expect(result.errors).toBe(0);
    expect(result.p50).toBeGreaterThanOrEqual(30);
  });

  it('counts anything but a 200 as an error and keeps the first one', async () => {
    const { port } = await serve((req, res) =>
      req.url === '/missing' ? json(res, 404, { code: 'not_found' }) : json(res, 200, {}),
    );
    const result = await httpAtFixedRate(port, [{ path: '/ok' }, { path: '/missing' }], 100, 0.2, {
      warmup: 0,
    });
    expect(result.count).toBe(20);
    expect(result.errors).toBe(10);
    expect(result.firstError).toMatch(/^HTTP\/1\.1 404 .*"code":"not_found"/);
  });

  it('refuses a response it cannot frame (no Content-Length)', async () => {
    const { port } = await serve((_, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('chunked ');
      res.end('answer');
    });
    const result = await httpAtFixedRate(port, [{ path: '/' }], 50, 0.1, { warmup: 0 });
    expect(result.errors).toBe(5);
    expect(result.firstError).toBe('a response without Content-Length');
  });

  it('drops a keep-alive socket the server closed while idle, and carries on with a new one', async () => {
    // The server closes each socket 5 ms after its answer, as at its keep-alive timeout; requests
    // come every 100 ms.
    const { port, seen } = await serve((_, res) => {
      const socket = res.socket; // detached from the response once it is sent
      json(res, 200, {});
      setTimeout(() => socket?.destroy(), 5);
    });
    const result = await httpAtFixedRate(port, [{ path: '/' }], 10, 1, { warmup: 0 });
    expect(result.errors).toBe(0);
    expect(result.count).toBe(10);
    expect(seen).toHaveLength(10);
  });

  it('closes a socket whose answer said Connection: close', async () => {
    const { port, seen } = await serve((_, res) => {
      res.setHeader('connection', 'close');
      json(res, 200, {});
    });
    const result = await httpAtFixedRate(port, [{ path: '/' }], 100, 0.2, { warmup: 0 });
    expect(result.errors).toBe(0);
    expect(seen).toHaveLength(20);
  });

  it('names a bad argument instead of measuring something else', async () => {
    await expect(httpAtFixedRate(1, [{ path: '/' }], 0, 1)).rejects.toThrow(/RATE.*must be positive/);
    await expect(httpAtFixedRate(1, [{ path: '/' }], 1, 0.1)).rejects.toThrow(/must be positive/);
    await expect(httpAtFixedRate(1, [], 10, 1)).rejects.toThrow(/at least one request/);
  });

  it('writes requests as HTTP/1.1 with the body framed by its byte length', () => {
    const raw = rawRequest(8080, { method: 'POST', path: '/x', headers: { a: 'b' }, body: '{"k":"é"}' });
    expect(raw.toString()).toBe(
      'POST /x HTTP/1.1\r\nhost: 127.0.0.1:8080\r\na: b\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{"k":"é"}',
    );
  });
});
