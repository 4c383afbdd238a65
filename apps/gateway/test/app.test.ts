import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { buildGateway } from '../src/app.ts';
import type { Predictor } from '../src/predict.ts';
import { loadGatewayEnv } from '../src/env.ts';

describe('gateway shell', () => {
  it('answers /healthz and /readyz, and unknown routes in the error envelope', async () => {
    const app = buildGateway({ logger: pino({ level: 'silent' }) });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const missing = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      error: { code: 'not_found', message: 'no route for GET /nowhere' },
    });
    expect(missing.headers['x-request-id']).toBe(
      missing.json<{ error: { requestId: string } }>().error.requestId,
    );
  });
});

describe('gateway request logging', () => {
  it('builds no per-request logger for a request that logs nothing, and binds the id when one does', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString());
          callback();
        },
      }),
    );
    const child = vi.spyOn(logger, 'child');
    let fail = false;
    const app = buildGateway({
      logger,
      predictor: {} as Predictor,
      // Unknown tokens are a 401 and log nothing; a failing token store is a 500 and logs.
      authenticate: async () => {
        if (fail) throw new Error('token store down');
        return undefined;
      },
    });
    await app.ready();
    child.mockClear();
    const post = () =>
      app.inject({
        method: 'POST',
        url: '/v1/endpoints/fraud/predict',
        headers: { authorization: 'Bearer shp_x' },
        payload: {},
      });

    expect((await post()).statusCode).toBe(401);
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    fail = true;
    const failed = await post();
    expect(failed.statusCode).toBe(500);
    expect(child).toHaveBeenCalledTimes(1);
    const logged = lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    expect(logged).toEqual([
      expect.objectContaining({
        reqId: failed.json<{ error: { requestId: string } }>().error.requestId,
        msg: 'unhandled error',
      }),
    ]);
  });
});

describe('gateway env', () => {
  const base = { DATABASE_URL: 'postgres://u:p@localhost:5433/shepherd' };

  it('needs DATABASE_URL: gateways share the control plane database', () => {
    expect(() => loadGatewayEnv({})).toThrow(/DATABASE_URL/);
  });

  it('has defaults for the rest, and names a bad variable', () => {
    const env = loadGatewayEnv(base);
    expect(env).toMatchObject({
      GATEWAY_LOG_BUFFER: 10_000,
      GATEWAY_CONFIG_POLL_MS: 250,
      GATEWAY_FAULT_INJECTION: false,
      GATEWAY_PREDICTIONS_TOPIC: 'predictions',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
    });
    expect(env.GATEWAY_ID).toMatch(/:\d+$/);
    expect(loadGatewayEnv({ ...base, GATEWAY_FAULT_INJECTION: '1', GATEWAY_ID: 'gw-a' })).toMatchObject({
      GATEWAY_FAULT_INJECTION: true,
      GATEWAY_ID: 'gw-a',
    });
    expect(() => loadGatewayEnv({ ...base, GATEWAY_LOG_BUFFER: '0' })).toThrow(/GATEWAY_LOG_BUFFER/);
    expect(() => loadGatewayEnv({ ...base, GATEWAY_FAULT_INJECTION: 'yes' })).toThrow(
      /GATEWAY_FAULT_INJECTION/,
    );
  });
});
