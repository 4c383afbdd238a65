import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';

const logger = pino({ level: 'silent' });

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
    const lines: Record<string, unknown>[] = [];
    const logged = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          callback();
        },
      }),
    );
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
});
