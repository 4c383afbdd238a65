import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { MlflowClient } from '../src/client.ts';
import { MlflowUnreachableError } from '../src/errors.ts';
import { DEFAULT_TIMEOUT_MS, MlflowHttp } from '../src/http.ts';
import { emptyResponse } from '../src/schemas.ts';
import { startFakeServer, type FakeServer } from './fake-server.ts';

let server: FakeServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** A port that was just free: nothing listens there once the probe server closes. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('timeouts', () => {
  it('defaults to 10 s', () => {
    expect(DEFAULT_TIMEOUT_MS).toBe(10_000);
    expect(new MlflowHttp({ trackingUri: 'http://127.0.0.1:5500' }).timeoutMs).toBe(10_000);
  });

  it('gives up on a server that never answers, naming the server', async () => {
    server = await startFakeServer(() => ({ hang: true }));
    const client = new MlflowClient({ trackingUri: server.url, timeoutMs: 200 });

    const started = performance.now();
    const err = await caught(client.getExperiment('1'));
    const elapsed = performance.now() - started;

    expect(err).toBeInstanceOf(MlflowUnreachableError);
    expect(err).toBeInstanceOf(ShepherdError);
    const unreachable = err as MlflowUnreachableError;
    expect(unreachable.reason).toBe('timeout');
    expect(unreachable.code).toBe('upstream_unavailable');
    expect(unreachable.trackingUri).toBe(server.url);
    expect(unreachable.message).toContain(server.url);
    expect(unreachable.message).toContain('200 ms');
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
  });

  it('also times out a body that starts and then stalls', async () => {
    server = await startFakeServer(() => ({ stallBody: true }));
    const client = new MlflowClient({ trackingUri: server.url, timeoutMs: 200 });

    const err = await caught(client.getExperiment('1'));

    expect(err).toBeInstanceOf(MlflowUnreachableError);
    expect((err as MlflowUnreachableError).reason).toBe('timeout');
  });
});

describe('unreachable server', () => {
  it('reports connection refused with the tracking URI', async () => {
    const port = await closedPort();
    const trackingUri = `http://127.0.0.1:${port}`;
    const client = new MlflowClient({ trackingUri, timeoutMs: 2000 });

    const err = await caught(client.createExperiment('e'));

    expect(err).toBeInstanceOf(MlflowUnreachableError);
    const unreachable = err as MlflowUnreachableError;
    expect(unreachable.reason).toBe('connection_refused');
    expect(unreachable.trackingUri).toBe(trackingUri);
    expect(unreachable.method).toBe('POST');
    expect(unreachable.url).toBe(`${trackingUri}/api/2.0/mlflow/experiments/create`);
    expect(unreachable.message).toContain(`cannot reach MLflow at ${trackingUri}`);
    expect(unreachable.message).toContain('ECONNREFUSED');
  });

  it('reports a dropped connection', async () => {
    server = await startFakeServer(() => ({ destroy: true }));
    const client = new MlflowClient({ trackingUri: server.url, timeoutMs: 2000 });

    const err = await caught(client.getRun('r1'));

    expect(err).toBeInstanceOf(MlflowUnreachableError);
    expect((err as MlflowUnreachableError).reason).toBe('connection_reset');
  });
});

describe('request construction', () => {
  it('keeps a path prefix in the tracking URI and ignores a trailing slash', async () => {
    server = await startFakeServer(() => ({ json: {} }));
    const http = new MlflowHttp({ trackingUri: `${server.url}/mlflow/` });

    await http.call({
      method: 'GET',
      endpoint: 'runs/get',
      query: { run_id: 'a b&c' },
      response: emptyResponse,
    });

    expect(server.requests[0]?.path).toBe('/mlflow/api/2.0/mlflow/runs/get');
    expect(server.requests[0]?.query.get('run_id')).toBe('a b&c');
    expect(http.trackingUri).toBe(`${server.url}/mlflow`);
  });

  it('sends bearer and basic credentials', async () => {
    server = await startFakeServer(() => ({ json: {} }));
    const call = { method: 'GET', endpoint: 'runs/get', response: emptyResponse } as const;

    await new MlflowHttp({ trackingUri: server.url, auth: { token: 't0k' } }).call(call);
    await new MlflowHttp({ trackingUri: server.url, auth: { username: 'u', password: 'p' } }).call(call);

    expect(server.requests[0]?.headers.authorization).toBe('Bearer t0k');
    expect(server.requests[1]?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('moves credentials from the tracking URI into a header and out of messages', async () => {
    server = await startFakeServer(() => ({ json: {} }));
    const withCredentials = server.url.replace('http://', 'http://shep%40herd:s3cret@');
    const http = new MlflowHttp({ trackingUri: withCredentials });

    await http.call({ method: 'GET', endpoint: 'runs/get', response: emptyResponse });

    expect(server.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('shep@herd:s3cret').toString('base64')}`,
    );
    expect(http.trackingUri).toBe(server.url);
  });

  it('refuses a tracking URI that is not an http(s) URL', () => {
    expect(() => new MlflowHttp({ trackingUri: '127.0.0.1:5500' })).toThrow(/tracking URI/);
    expect(() => new MlflowHttp({ trackingUri: 'file:///tmp/mlruns' })).toThrow(/http\(s\)/);
  });
});
