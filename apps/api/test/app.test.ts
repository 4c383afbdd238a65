import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';

const logger = pino({ level: 'silent' });

/** A logger whose lines are kept, parsed, in `lines`. */
function capturedLogger(level: 'info' | 'debug') {
  const lines: Record<string, unknown>[] = [];
  const logged = pino(
    { level },
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    }),
  );
  return { lines, logged };
}

describe('api app', () => {
  it('answers /healthz without touching dependencies', async () => {
    const app = buildApp({ logger, readiness: [] });
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('reports 503 on /readyz and names the dependency that failed', async () => {
    const app = buildApp({
      logger,
      readiness: [
        { name: 'postgres', run: async () => undefined },
        { name: 'kafka', run: async () => Promise.reject(new Error('connection refused')) },
      ],
    });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    const body = response.json<{
      status: string;
      checks: { name: string; ok: boolean; detail?: string }[];
    }>();
    expect(body.status).toBe('not_ready');
    expect(body.checks.find((check) => check.name === 'kafka')).toMatchObject({
      ok: false,
      detail: 'connection refused',
    });
    expect(body.checks.find((check) => check.name === 'postgres')).toMatchObject({ ok: true });
  });

  it('answers unknown routes with the error envelope and a request id', async () => {
    const app = buildApp({ logger, readiness: [] });
    const response = await app.inject({
      method: 'GET',
      url: '/v1/nope',
      headers: { 'x-request-id': 'req-123' },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'not_found', message: 'no route for GET /v1/nope', requestId: 'req-123' },
    });
    expect(response.headers['x-request-id']).toBe('req-123');
  });

  it('writes one access line per request, none for probes at info, and no per-request logger', async () => {
    const { lines, logged } = capturedLogger('info');
    const app = buildApp({ logger: logged, readiness: [] });
    await app.ready();
    const child = vi.spyOn(logged, 'child');

    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect(lines).toEqual([]);

    const response = await app.inject({
      method: 'GET',
      url: '/v1/nope?x=1',
      headers: { 'x-request-id': 'req-9', authorization: 'Bearer shp_secret' },
    });
    expect(response.statusCode).toBe(404);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'request completed',
        reqId: 'req-9',
        req: { method: 'GET', url: '/v1/nope?x=1', remoteAddress: '127.0.0.1' },
        res: { statusCode: 404 },
        responseTime: expect.any(Number),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('shp_secret');
    expect(child).not.toHaveBeenCalled();
  });

  it('logs and counts a request its caller abandoned, once, as 499 "request aborted"', async () => {
    const { lines, logged } = capturedLogger('debug');
    let finish: () => void = () => undefined;
    const slowCheck = new Promise<void>((resolve) => (finish = resolve));
    const app = buildApp({ logger: logged, readiness: [{ name: 'slow', run: () => slowCheck }] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const client = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/readyz',
        headers: { 'x-request-id': 'gone-1' },
      });
      client.on('error', () => undefined);
      client.end();
      const ofRequest = () => lines.filter((line) => line['reqId'] === 'gone-1');
      // The caller gives up while the readiness check is still running.
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.destroy();
      for (let i = 0; i < 100 && ofRequest().length === 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      finish();
      // The handler ends after the abort; its answer reaches no one and is not logged again.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ofRequest()).toEqual([
        expect.objectContaining({
          level: 20,
          msg: 'request aborted',
          // The connection is gone, and its remote address with it.
          req: { method: 'GET', url: '/readyz' },
          res: { statusCode: 499 },
          responseTime: expect.any(Number),
        }),
      ]);
      expect(ofRequest()[0]!['responseTime']).toBeGreaterThanOrEqual(90);
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(
        /shepherd_api_requests_total\{[^}]*route="\/readyz"[^}]*status="499"[^}]*\} 1\n/,
      );
      expect(metrics.body).not.toMatch(
        /shepherd_api_requests_total\{[^}]*route="\/readyz"[^}]*status="(200|503)"/,
      );
    } finally {
      finish();
      await app.close();
    }
  });
});
