import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@shepherd/clients/kafka';
import { predictionEvent, predictResponse, type PredictionEvent } from '@shepherd/contracts/serving';
import { loadModel } from '@shepherd/evaluation/model';
import { createToken } from '@shepherd/registry/tokens';
import { ensureProject } from '@shepherd/registry/projects';
import { summarizeStats } from '@shepherd/registry/serving-stats';
import { testEnv } from '@shepherd/testing/env';
import { eventually } from '@shepherd/testing/platform';
import { trafficBucket } from '../src/routing.ts';
import { featureNames, fixturePath, predict, servingFixture, sleep, type ServingFixture } from './harness.ts';

/** What ONNX Runtime says for these rows, straight from the fixture file, for comparison. */
async function direct(which: 'a' | 'b', rows: number[][]): Promise<number[]> {
  const model = await loadModel(fixturePath(`classifier_${which}.onnx`));
  try {
    return [...(await model.predictProba(Float32Array.from(rows.flat()), rows.length, featureNames.length))];
  } finally {
    await model.close();
  }
}

describe('gateway predictions on the real stack', () => {
  let fx: ServingFixture;
  let baseUrl: string;
  let gateway: Awaited<ReturnType<ServingFixture['gateway']>>['gateway'];
  let fraud: { id: string; name: string };
  let v1: { id: string; version: number };
  let v2: { id: string; version: number };
  let endpointId: string;
  /** Another gateway on the same database: a change must reach every gateway. */
  let secondUrl: string;

  beforeAll(async () => {
    fx = await servingFixture();
    await fx.seedOnline(50);
    fraud = await fx.model('fraud');
    v1 = await fx.version(fraud.id, 'a');
    v2 = await fx.version(fraud.id, 'b');
    endpointId = (await fx.endpoint('fraud-scoring', 'fraud', v1.version)).id;
    ({ gateway, baseUrl } = await fx.gateway());
    secondUrl = (await fx.gateway()).baseUrl;
  });
  afterAll(() => fx?.dispose());

  it('predicts one row from the online store and a batch mixing stored and passed-in features', async () => {
    const one = await predict(baseUrl, 'fraud-scoring', fx.token, { entityId: 'card-3' });
    expect(one.status).toBe(200);
    const parsed = predictResponse.parse(one.body);
    // card-3: amount 30, velocity 3, foreign (3 % 3 === 0) → 1.
    const [expected] = await direct('a', [[30, 3, 1]]);
    expect(parsed.predictions).toHaveLength(1);
    expect(parsed.predictions[0]).toMatchObject({
      entityId: 'card-3',
      model: 'fraud',
      version: v1.version,
      role: 'champion',
      label: expected! >= 0.5 ? 1 : 0,
    });
    expect(parsed.predictions[0]!.prediction).toBeCloseTo(expected!, 6);
    expect(parsed.predictions[0]!.predictionId).toMatch(/^[0-9a-f-]{36}$/);

    const batch = await predict(baseUrl, 'fraud-scoring', fx.token, {
      rows: [
        { entityId: 'card-4' },
        // Passed-in features win over the store's: amount 999 instead of 50.
        { entityId: 'card-5', features: { amount: 999 } },
        // No entity: everything passed in, booleans as 0/1.
        { features: { amount: 12.5, velocity: 1, is_foreign: false } },
      ],
    });
    expect(batch.status).toBe(200);
    const outputs = predictResponse.parse(batch.body).predictions;
    const want = await direct('a', [
      [40, 4, 0],
      [999, 5, 0],
      [12.5, 1, 0],
    ]);
    expect(outputs.map((p) => p.entityId)).toEqual(['card-4', 'card-5', null]);
    outputs.forEach((p, i) => expect(p.prediction).toBeCloseTo(want[i]!, 6));
    expect(new Set(outputs.map((p) => p.predictionId)).size).toBe(3);
  });

  it('refuses bad input with 4xx, a code and a message that names the problem', async () => {
    const neither = await predict(baseUrl, 'fraud-scoring', fx.token, { rows: [{}] });
    expect(neither.status).toBe(400);
    expect(neither.body).toMatchObject({ error: { code: 'validation_failed' } });
    expect(JSON.stringify(neither.body)).toContain('entityId, features, or both');

    const unknownEntity = await predict(baseUrl, 'fraud-scoring', fx.token, { entityId: 'card-nobody' });
    expect(unknownEntity.status).toBe(422);
    const message = (unknownEntity.body as { error: { code: string; message: string; requestId: string } })
      .error;
    expect(message.code).toBe('unprocessable');
    expect(message.message).toContain('entity card-nobody');
    expect(message.message).toContain('amount, velocity, is_foreign');
    expect(message.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const partial = await predict(baseUrl, 'fraud-scoring', fx.token, {
      rows: [{ features: { amount: 1, velocity: 2 } }],
    });
    expect(partial.status).toBe(422);
    expect(JSON.stringify(partial.body)).toContain('row 0: missing feature(s) is_foreign');

    // The store holds a string under a name the model reads as a number: a passed-in override can't be a string.
    const wrongType = await predict(baseUrl, 'fraud-scoring', fx.token, { features: { amount: 'a lot' } });
    expect(wrongType.status).toBe(400);

    const noToken = await fetch(`${baseUrl}/v1/endpoints/fraud-scoring/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"entityId":"card-1"}',
    });
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    const badToken = await predict(baseUrl, 'fraud-scoring', `shp_${'x'.repeat(40)}`, { entityId: 'card-1' });
    expect(badToken.status).toBe(401);

    const missing = await predict(baseUrl, 'no-such-endpoint', fx.token, { entityId: 'card-1' });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      error: { code: 'not_found', message: 'endpoint no-such-endpoint does not exist' },
    });

    // Another project's token: the endpoint does not exist for it.
    const other = await ensureProject(fx.db, `other-${randomUUID().slice(0, 8)}`);
    const { token: otherToken } = await createToken(fx.db, {
      projectId: other.id,
      name: 'other',
      role: 'admin',
      createdBy: 'test',
    });
    const foreign = await predict(baseUrl, 'fraud-scoring', otherToken, { entityId: 'card-1' });
    expect(foreign.status).toBe(404);

    const notJson = await fetch(`${baseUrl}/v1/endpoints/fraud-scoring/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.token}`, 'content-type': 'application/json' },
      body: '{"entityId":',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('splits traffic sticky per entity, close to the weight, and sees a change within a second', async () => {
    const changedAt = performance.now();
    await fx.traffic(endpointId, { candidateVersionId: v2.id, candidateWeight: 30 });
    // Poll with an entity the hash puts in the candidate's 30 %; the first answer from v2 marks arrival.
    const probe = Array.from({ length: 200 }, (_, i) => `probe-${i}`).find(
      (id) => trafficBucket(endpointId, id) < 30,
    )!;
    const body = { entityId: probe, features: { amount: 1, velocity: 1, is_foreign: true } };
    const seenAfterMs = await Promise.all(
      [baseUrl, secondUrl].map(async (url) => {
        await eventually(
          async () => {
            const answer = await predict(url, 'fraud-scoring', fx.token, body);
            return predictResponse.parse(answer.body).predictions[0]!.version === v2.version
              ? true
              : undefined;
          },
          { timeoutMs: 5000, intervalMs: 20, what: 'the candidate serving' },
        );
        return performance.now() - changedAt;
      }),
    );
    expect(Math.max(...seenAfterMs)).toBeLessThan(1000);

    const rows = Array.from({ length: 1000 }, (_, i) => ({
      entityId: `split-${i}`,
      features: { amount: i, velocity: i % 5, is_foreign: i % 2 === 0 },
    }));
    const first = predictResponse.parse((await predict(baseUrl, 'fraud-scoring', fx.token, { rows })).body);
    const candidateShare = first.predictions.filter((p) => p.role === 'candidate').length / rows.length;
    expect(candidateShare).toBeGreaterThan(0.25);
    expect(candidateShare).toBeLessThan(0.35);
    // Sticky: the same entities get the same versions again, and the routing matches the published hash.
    const again = predictResponse.parse((await predict(baseUrl, 'fraud-scoring', fx.token, { rows })).body);
    expect(again.predictions.map((p) => p.version)).toEqual(first.predictions.map((p) => p.version));
    first.predictions.forEach((p, i) =>
      expect(p.role).toBe(trafficBucket(endpointId, `split-${i}`) < 30 ? 'candidate' : 'champion'),
    );
    // Each version computed its own rows (one batch each): candidate rows carry model b's outputs.
    const index = first.predictions.findIndex((p) => p.role === 'candidate');
    const [fromB] = await direct('b', [[index, index % 5, index % 2 === 0 ? 1 : 0]]);
    expect(first.predictions[index]!.prediction).toBeCloseTo(fromB!, 6);
  });

  it('mirrors every request to a shadow candidate, logging and counting its outputs but never returning them', async () => {
    await fx.traffic(endpointId, { candidateVersionId: v2.id, candidateWeight: 0, mode: 'shadow' });
    await gateway.watcher.poll();
    const rows = Array.from({ length: 40 }, (_, i) => ({ entityId: `card-${i}` }));
    const answer = predictResponse.parse((await predict(baseUrl, 'fraud-scoring', fx.token, { rows })).body);
    expect(answer.predictions.every((p) => p.role === 'champion' && p.version === v1.version)).toBe(true);
    await gateway.predictor.drain();
    await gateway.stats.flush(true);
    const since = new Date(Date.now() - 60_000);
    const until = new Date(Date.now() + 1000);
    const shadow = await summarizeStats(fx.db, fx.project.id, endpointId, { since, until, role: 'shadow' });
    expect(shadow.requests).toBe(40);
    expect(shadow.errors).toBe(0);
    const expected = await direct(
      'b',
      rows.map((_, i) => [10 * i, i % 7, i % 3 === 0 ? 1 : 0]),
    );
    expect(shadow.predictionMean).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / expected.length, 4);
    await fx.traffic(endpointId, { candidateVersionId: null, candidateWeight: 0, mode: 'canary' });
    await gateway.watcher.poll();
  });

  it('writes the prediction log to Kafka with the contract schema, keyed by endpoint', async () => {
    const topic = `test.predictions.${randomUUID()}`;
    const { gateway: logged, baseUrl: loggedUrl } = await fx.gateway({ predictionsTopic: topic });
    const rows = Array.from({ length: 5 }, (_, i) => ({ entityId: `card-${i}`, features: { velocity: 9 } }));
    const answer = predictResponse.parse(
      (await predict(loggedUrl, 'fraud-scoring', fx.token, { rows })).body,
    );
    await eventually(async () => (logged.log.stats().sent >= 5 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'events sent',
    });

    const kafka = createKafka({ brokers: testEnv().KAFKA_BROKERS, clientId: 'gateway-log-test' });
    const consumer = kafka.consumer({ groupId: `test-${randomUUID()}` });
    const received: { key: string; event: PredictionEvent }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          received.push({
            key: message.key!.toString(),
            event: predictionEvent.parse(JSON.parse(message.value!.toString())),
          });
        },
      });
      await eventually(async () => (received.length >= 5 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: 'log events consumed',
      });
    } finally {
      await consumer.disconnect();
    }
    expect(received.map((r) => r.key)).toEqual(new Array(5).fill('fraud-scoring'));
    const byId = new Map(received.map((r) => [r.event.predictionId, r.event]));
    answer.predictions.forEach((p, i) => {
      const event = byId.get(p.predictionId)!;
      expect(event).toMatchObject({
        schemaVersion: 1,
        projectId: fx.project.id,
        endpoint: 'fraud-scoring',
        model: 'fraud',
        versionId: v1.id,
        version: v1.version,
        role: 'champion',
        entityId: `card-${i}`,
        // The features the model saw: stored amount and is_foreign, the passed-in velocity.
        features: { amount: 10 * i, velocity: 9, is_foreign: i % 3 === 0 },
      });
      expect(event.prediction).toBeCloseTo(p.prediction, 6);
      expect(event.latencyMs).toBeGreaterThan(0);
    });
    expect(logged.log.stats().shed).toBe(0);
  });

  it('writes per-second stats to serving_stats and exposes Prometheus metrics', async () => {
    for (let i = 0; i < 10; i++) await predict(baseUrl, 'fraud-scoring', fx.token, { entityId: `card-${i}` });
    await sleep(1100);
    await gateway.stats.flush();
    const summary = await summarizeStats(fx.db, fx.project.id, endpointId, {
      since: new Date(Date.now() - 120_000),
      until: new Date(),
      versionId: v1.id,
      role: 'champion',
    });
    expect(summary.requests).toBeGreaterThanOrEqual(10);
    expect(summary.p99Ms).not.toBeNull();
    expect(summary.predictionCounts.reduce((a, b) => a + b, 0)).toBe(summary.requests - summary.errors);

    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `shepherd_gateway_predictions_total\\{project="${fx.project.id}",endpoint="fraud-scoring",version="${v1.version}",role="champion",status="200"\\} \\d+`,
      ),
    );
    expect(metrics).toContain(
      `shepherd_gateway_http_requests_total{project="${fx.project.id}",endpoint="fraud-scoring",status="422"}`,
    );
    expect(metrics).toContain('shepherd_gateway_request_duration_seconds_bucket{');
    expect(metrics).toMatch(/shepherd_gateway_prediction_log_shed_total 0/);
    expect(metrics).toMatch(/shepherd_gateway_config_generation \d+/);
    expect(metrics).toMatch(/shepherd_gateway_prediction_log_buffered \d+/);
    expect((await fetch(`${baseUrl}/readyz`)).status).toBe(200);
  });

  it('serves regression models: the predicted value, no label', async () => {
    const price = await fx.model('price', 'regression');
    const version = await fx.version(price.id, 'regressor');
    await fx.endpoint('price', 'price', version.version);
    await gateway.watcher.poll();
    const answer = await predict(baseUrl, 'price', fx.token, {
      rows: [{ entityId: 'card-2' }, { features: { amount: 100, velocity: 1, is_foreign: true } }],
    });
    expect(answer.status).toBe(200);
    const [stored, passed] = predictResponse.parse(answer.body).predictions;
    // regressor.onnx fits y = 0.5 amount + 3 velocity - 20 is_foreign + 7 exactly (make_fixtures.py).
    expect(stored).toMatchObject({ label: null, model: 'price', role: 'champion' });
    expect(stored!.prediction).toBeCloseTo(0.5 * 20 + 3 * 2 + 7, 3);
    expect(passed!.prediction).toBeCloseTo(0.5 * 100 + 3 - 20 + 7, 3);
  });

  it('refuses to serve a version whose artifact does not match its sha256, and injects faults when tagged', async () => {
    const tampered = await fx.version(fraud.id, 'a', { sha256: 'f'.repeat(64) });
    await fx.endpoint('tampered', 'fraud', tampered.version, false);
    await gateway.watcher.poll();
    const answer = await predict(baseUrl, 'tampered', fx.token, {
      features: { amount: 1, velocity: 1, is_foreign: false },
    });
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).toMatch(/cannot be served: refusing artifact .* its sha256 is/);

    const faulty = await fx.version(fraud.id, 'a', {
      tags: { 'shepherd.fault.error_rate': '1', 'shepherd.fault.latency_ms': '30' },
    });
    const shifted = await fx.version(fraud.id, 'a', { tags: { 'shepherd.fault.prediction_shift': '0.9' } });
    const faultyEndpoint = await fx.endpoint('faulty', 'fraud', faulty.version, false);
    await fx.endpoint('shifted', 'fraud', shifted.version, false);
    await gateway.watcher.poll();
    const features = { amount: 30, velocity: 3, is_foreign: true };
    const started = performance.now();
    const failed = await predict(baseUrl, 'faulty', fx.token, { features });
    expect(performance.now() - started).toBeGreaterThanOrEqual(30);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ error: { code: 'internal' } });
    expect(JSON.stringify(failed.body)).toContain('injected fault');
    const high = predictResponse.parse((await predict(baseUrl, 'shifted', fx.token, { features })).body);
    expect(high.predictions[0]!.prediction).toBe(1);

    // Errors count against the version in serving_stats, so canary analysis sees them.
    await gateway.stats.flush(true);
    const faultyStats = await summarizeStats(fx.db, fx.project.id, faultyEndpoint.id, {
      since: new Date(Date.now() - 60_000),
      until: new Date(Date.now() + 1000),
    });
    expect(faultyStats).toMatchObject({ requests: 1, errors: 1 });
  });

  it('counts a prediction whose caller left before the answer as 499, not as served', async () => {
    const slow = await fx.version(fraud.id, 'a', { tags: { 'shepherd.fault.latency_ms': '300' } });
    await fx.endpoint('slow', 'fraud', slow.version, false);
    await gateway.watcher.poll();
    const { port } = new URL(baseUrl);
    const client = httpRequest({
      host: '127.0.0.1',
      port: Number(port),
      method: 'POST',
      path: '/v1/endpoints/slow/predict',
      headers: { authorization: `Bearer ${fx.token}`, 'content-type': 'application/json' },
    });
    client.on('error', () => undefined);
    client.end(JSON.stringify({ features: { amount: 1, velocity: 1, is_foreign: false } }));
    // The caller gives up while the model run is still held by the injected latency.
    await new Promise((resolve) => setTimeout(resolve, 100));
    client.destroy();
    const series = (status: number) =>
      `shepherd_gateway_http_requests_total{project="${fx.project.id}",endpoint="slow",status="${status}"}`;
    let metrics = '';
    for (let i = 0; i < 50 && !metrics.includes(series(499)); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    }
    expect(metrics).toContain(`${series(499)} 1`);
    expect(metrics).not.toContain(series(200));
  });
});
