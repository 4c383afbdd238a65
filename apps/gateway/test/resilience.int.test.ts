import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictResponse } from '@shepherd/contracts/serving';
import { eventually } from '@shepherd/testing/platform';
import { startLoad } from '../src/load.ts';
import { predict, servingFixture, sleep, type ServingFixture } from './harness.ts';

/** A loopback port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('gateway resilience on the real stack', () => {
  let fx: ServingFixture;
  let fraud: { id: string; name: string };
  let v1: { id: string; version: number };
  let endpointId: string;

  beforeAll(async () => {
    fx = await servingFixture();
    await fx.seedOnline(100);
    fraud = await fx.model('fraud');
    v1 = await fx.version(fraud.id, 'a');
    endpointId = (await fx.endpoint('fraud-scoring', 'fraud', v1.version)).id;
  });
  afterAll(() => fx?.dispose());

  it('fails no request while traffic shifts step by step to a new version, is promoted and rolled back', async () => {
    const { gateway, baseUrl } = await fx.gateway();
    // Registered now, so the gateway has never loaded it: the first shift finds it cold.
    const v2 = await fx.version(fraud.id, 'b');
    const loadStarted = performance.now();
    const load = startLoad({
      baseUrl,
      endpoint: 'fraud-scoring',
      token: fx.token,
      ratePerSecond: 100,
      entities: 100,
      entityPrefix: 'card-',
    });
    await sleep(300);
    for (const weight of [5, 25, 50, 100]) {
      await fx.traffic(endpointId, { candidateVersionId: v2.id, candidateWeight: weight });
      await sleep(400);
    }
    // Promotion: the candidate becomes champion; then a rollback to the old champion.
    await fx.traffic(endpointId, { championVersionId: v2.id, candidateVersionId: null, candidateWeight: 0 });
    await sleep(400);
    await fx.traffic(endpointId, { championVersionId: v1.id });
    const rolledBack = await eventually(
      async () => {
        const routed = gateway.watcher.table?.byProject.get(fx.project.id)?.get('fraud-scoring');
        return routed?.champion?.id === v1.id && routed.candidate === null
          ? performance.now() - loadStarted
          : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 5, what: 'the rollback reaching the gateway' },
    );
    await sleep(500);
    const summary = await load.stop();

    expect(summary.requests).toBeGreaterThan(150);
    expect(summary.failed).toBe(0);
    expect(summary.statuses).toEqual({ 200: summary.requests });
    // Both versions served, and every request sent after the rollback arrived was the old champion's.
    expect(summary.versions[v1.version]).toBeGreaterThan(0);
    expect(summary.versions[v2.version]).toBeGreaterThan(0);
    const afterRollback = load.results.filter((result) => result.atMs > rolledBack + 1);
    expect(afterRollback.length).toBeGreaterThan(10);
    expect(afterRollback.every((result) => result.version === v1.version)).toBe(true);
  });

  it('keeps its configuration across a restart: ready and routing by it before it listens', async () => {
    const v3 = await fx.version(fraud.id, 'b');
    await fx.traffic(endpointId, {
      championVersionId: v1.id,
      candidateVersionId: v3.id,
      candidateWeight: 100,
    });
    const first = await fx.gateway();
    const body = { entityId: 'card-1' };
    const before = predictResponse.parse(
      (await predict(first.baseUrl, 'fraud-scoring', fx.token, body)).body,
    );
    expect(before.predictions[0]!.version).toBe(v3.version);
    await first.gateway.close();

    const second = await fx.gateway({ configPollMs: 60_000 });
    // No poll has run (60 s interval): what it serves came from the load before listening.
    expect((await fetch(`${second.baseUrl}/readyz`)).status).toBe(200);
    const after = predictResponse.parse(
      (await predict(second.baseUrl, 'fraud-scoring', fx.token, body)).body,
    );
    expect(after.predictions[0]).toMatchObject({ version: v3.version, role: 'candidate' });
    expect(second.gateway.models.loadedCount).toBe(2);
    await fx.traffic(endpointId, { candidateVersionId: null, candidateWeight: 0 });
  });

  it('keeps serving with Kafka unreachable, and its shed count is exactly what the log lost', async () => {
    const port = await closedPort();
    const { gateway, baseUrl } = await fx.gateway({ brokers: [`127.0.0.1:${port}`], logBuffer: 50 });
    const rows = Array.from({ length: 20 }, (_, i) => ({ entityId: `card-${i}` }));
    let served = 0;
    for (let request = 0; request < 10; request++) {
      const answer = await predict(baseUrl, 'fraud-scoring', fx.token, { rows });
      expect(answer.status).toBe(200);
      served += predictResponse.parse(answer.body).predictions.length;
    }
    expect(served).toBe(200);
    const counters = gateway.log.stats();
    expect(counters.sent).toBe(0);
    expect(counters.held).toBe(50);
    expect(counters.shed).toBe(served - 50);
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toContain(`shepherd_gateway_prediction_log_shed_total ${served - 50}`);
    expect(metrics).toContain('shepherd_gateway_prediction_log_buffered 50');
    expect(metrics).toContain('shepherd_gateway_prediction_log_connected 0');

    // Shutting down does not hang on the dead broker; what was still held is counted as dropped.
    const started = performance.now();
    await gateway.close();
    expect(performance.now() - started).toBeLessThan(5000);
    const after = gateway.log.stats();
    expect(after.droppedAtShutdown).toBe(50);
    expect(after.shed + after.droppedAtShutdown).toBe(served);
  });
});
