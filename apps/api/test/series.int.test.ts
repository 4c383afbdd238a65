import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftMonitorConfig, type SignalVerdict } from '@shepherd/contracts/drift';
import {
  createEndpointBody,
  latencyBucketBoundsMs,
  latencyBucketIndex,
  predictionBins,
} from '@shepherd/contracts/serving';
import { servingStats, type Endpoint } from '@shepherd/db/schema';
import { buildReferenceProfile } from '@shepherd/drift/profile';
import { promote } from '@shepherd/registry/aliases';
import type { RegistryContext } from '@shepherd/registry/context';
import {
  saveObservations,
  saveReport,
  startMonitor,
  type ObservedPrediction,
} from '@shepherd/registry/drift';
import { createEndpoint } from '@shepherd/registry/endpoints';
import { addEdges } from '@shepherd/registry/lineage';
import { createModel } from '@shepherd/registry/models';
import { ensureProject } from '@shepherd/registry/projects';
import { createToken } from '@shepherd/registry/tokens';
import { annotateVersion, registerVersion } from '@shepherd/registry/versions';
import { openTestDatabase } from '@shepherd/testing/database';
import { quietLogger } from '@shepherd/testing/platform';
import { buildApp } from '../src/app.ts';

/**
 * The chart routes on PostgreSQL: SLO series from serving_stats rows as gateways write them, and a
 * feature's reference vs current histogram from a version's profile and a monitor's observations;
 * a lineage node's edges with what their writers recorded.
 */
describe('series routes', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let app: ReturnType<typeof buildApp>;
  let token: string;
  let ctx: RegistryContext;
  let endpoint: Endpoint;
  let champion: string;
  let candidate: string;
  const slug = `series-${randomUUID().slice(0, 8)}`;
  // Seconds of the current minute are still being written: seed whole minutes before it.
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const minutesAgo = (m: number, second = 0) => new Date(minute - m * 60_000 + second * 1000);

  /** A serving_stats row as a gateway writes it for these latencies. */
  function statsRow(
    versionId: string,
    role: 'champion' | 'candidate' | 'shadow',
    second: Date,
    latenciesMs: number[],
    errors = 0,
    gatewayId = 'gw-1',
  ) {
    const latencyCounts = new Array<number>(latencyBucketBoundsMs.length + 1).fill(0);
    for (const ms of latenciesMs) latencyCounts[latencyBucketIndex(ms)]! += 1;
    return {
      projectId: ctx.projectId,
      endpointId: endpoint.id,
      versionId,
      role,
      gatewayId,
      second,
      requests: latenciesMs.length,
      errors,
      latencyCounts,
      latencySumMs: latenciesMs.reduce((a, b) => a + b, 0),
      predictionCounts: new Array<number>(predictionBins).fill(0),
      predictionSum: 0,
      predictionSquares: 0,
    };
  }

  // The reference: amounts 0..99 (20 equal bins of 5), a boolean, and a channel code taken as a category.
  const referenceRows = Array.from({ length: 100 }, (_, i) => ({
    amount: i,
    is_foreign: i % 4 === 0,
    channel: i % 10 === 0 ? 2 : 1,
  }));
  // The window: half inside the reference's range, some beyond it, one missing, a new channel.
  const observed = [
    ...Array.from({ length: 10 }, (_, i) => ({ amount: i * 10 + 1, is_foreign: true, channel: 1 })),
    { amount: 250, is_foreign: false, channel: 3 },
    { amount: 300, is_foreign: false, channel: 3 },
    { amount: -5, is_foreign: false, channel: 2 },
    { amount: null, is_foreign: false, channel: 1 },
  ];

  beforeAll(async () => {
    database = await openTestDatabase();
    const project = await ensureProject(database.db, slug);
    ctx = { db: database.db, projectId: project.id, actor: 'test' };
    token = (
      await createToken(database.db, {
        projectId: project.id,
        name: 'viewer',
        role: 'viewer',
        createdBy: 'test',
      })
    ).token;
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: { db: database.db, temporal: undefined as never, trainingTaskQueue: 'unused' },
    });

    const model = await createModel(ctx, { name: 'fraud', task: 'binary_classification' });
    const profile = buildReferenceProfile(
      {
        amount: Float64Array.from(referenceRows, (row) => row.amount),
        is_foreign: Float64Array.from(referenceRows, (row) => (row.is_foreign ? 1 : 0)),
        channel: referenceRows.map((row) => String(row.channel)),
      },
      { kinds: { channel: 'categorical' } },
    );
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const version = await registerVersion(ctx, {
        modelId: model.id,
        artifactUri: `s3://unused/fraud/${n}.onnx`,
        artifactSha256: '0'.repeat(64),
        state: 'validated',
        requestId: `fraud-${n}`,
      });
      await annotateVersion(ctx, version.id, {
        referenceProfile: {
          schemaVersion: 1,
          features: profile,
          prediction: null,
          trainingSetId: 'synthetic',
          skipped: {},
          builtAt: new Date().toISOString(),
        },
      });
      ids.push(version.id);
    }
    [champion, candidate] = ids as [string, string];
    await promote(ctx, model.id, champion);
    endpoint = await createEndpoint(
      ctx,
      createEndpointBody.parse({
        name: 'scoring',
        model: 'fraud',
        slo: { latencyP99Ms: 50, errorRate: 0.01, availability: 0.99 },
      }),
    );
    await createEndpoint(ctx, createEndpointBody.parse({ name: 'quiet', model: 'fraud' }));

    await database.db.insert(servingStats).values([
      // Five minutes ago: two gateways, champion fast; the candidate slow and failing half the time.
      statsRow(champion, 'champion', minutesAgo(5, 1), Array<number>(40).fill(2)),
      statsRow(champion, 'champion', minutesAgo(5, 1), Array<number>(50).fill(2), 0, 'gw-2'),
      statsRow(candidate, 'candidate', minutesAgo(5, 30), Array<number>(10).fill(200), 5),
      // A shadow copy: counted for its version, never for the endpoint.
      statsRow(candidate, 'shadow', minutesAgo(5, 31), Array<number>(30).fill(900), 30),
      // Two minutes ago: the champion alone.
      statsRow(champion, 'champion', minutesAgo(2, 10), Array<number>(60).fill(1)),
    ]);

    const { monitor } = await startMonitor(ctx, endpoint, driftMonitorConfig.parse({}), `wf-${randomUUID()}`);
    const at = new Date();
    const rows: ObservedPrediction[] = observed.map((features, i) => ({
      predictionId: `p-${i}`,
      versionId: champion,
      role: 'champion',
      entityId: `card-${i}`,
      features,
      prediction: 0.1,
      at,
    }));
    // A shadow prediction in the same window is not what the monitor judged.
    rows.push({ ...rows[0]!, predictionId: 'shadow-1', role: 'shadow', features: { amount: 1000 } });
    await saveObservations(database.db, ctx.projectId, monitor.id, 0, rows);
    const skew: SignalVerdict = {
      signal: 'skew',
      outcome: 'drifted',
      detail: '1 of 3 features moved against the training data: amount',
      shareDrifted: 1 / 3,
      features: [
        {
          feature: 'amount',
          method: 'ks',
          statistic: 0.4,
          pValue: 0.001,
          score: 0.001,
          threshold: 0.05,
          drifted: true,
          effect: 0.4,
          currentCount: 13,
          referenceCount: 100,
        },
      ],
      metric: null,
    };
    await saveReport(ctx, monitor, {
      sequence: 0,
      versionId: champion,
      windowStart: new Date(at.getTime() - 60_000),
      windowEnd: at,
      predictions: rows.length,
      judged: observed.length,
      labels: 0,
      signals: [skew],
    });
  });

  afterAll(async () => {
    await app?.close();
    await database?.dispose();
  });

  const get = (path: string) =>
    app.inject({
      method: 'GET',
      url: `/v1/projects/${slug}${path}`,
      headers: { authorization: `Bearer ${token}` },
    });

  interface Point {
    at: string;
    requests: number;
    errors: number;
    errorRate: number | null;
    p50Ms: number | null;
    p99Ms: number | null;
    throughputPerSecond: number;
    burnRates: { errors: number | null; latency: number | null };
  }
  interface Series {
    since: string;
    stepSeconds: number;
    points: Point[];
    versions: { version: number; role: string; points: Point[] }[];
  }

  it('sums each minute for the endpoint and per version, shadow traffic apart', async () => {
    const response = await get('/endpoints/scoring/slo/series?window=10m&step=1m');
    expect(response.statusCode, response.body).toBe(200);
    const series = response.json<Series>();
    expect(series.stepSeconds).toBe(60);
    expect(series.points).toHaveLength(10);
    const at = (date: Date) => series.points.find((point) => point.at === date.toISOString());
    const busy = at(minutesAgo(5))!;
    // 90 champion + 10 candidate requests; the shadow copies are not the endpoint's.
    expect(busy).toMatchObject({ requests: 100, errors: 5, errorRate: 0.05 });
    expect(busy.p50Ms).toBe(latencyBucketBoundsMs[latencyBucketIndex(2)]);
    expect(busy.p99Ms).toBe(latencyBucketBoundsMs[latencyBucketIndex(200)]);
    expect(busy.throughputPerSecond).toBeCloseTo(100 / 60);
    expect(busy.burnRates.errors).toBeCloseTo(5);
    expect(busy.burnRates.latency).toBeCloseTo(10);
    expect(at(minutesAgo(2))).toMatchObject({ requests: 60, errors: 0, errorRate: 0 });
    expect(at(minutesAgo(4))).toMatchObject({ requests: 0, errorRate: null, p99Ms: null });

    expect(series.versions.map((v) => `${v.version}:${v.role}`)).toEqual([
      '2:candidate',
      '2:shadow',
      '1:champion',
    ]);
    const shadow = series.versions.find((v) => v.role === 'shadow')!;
    expect(shadow.points.find((p) => p.at === minutesAgo(5).toISOString())).toMatchObject({
      requests: 30,
      errors: 30,
    });
    const championPoints = series.versions.find((v) => v.role === 'champion')!.points;
    expect(championPoints.reduce((sum, p) => sum + p.requests, 0)).toBe(150);
  });

  it('defaults to the last hour in minutes, and widens a step too fine for the window', async () => {
    const hour = (await get('/endpoints/scoring/slo/series')).json<Series>();
    expect(hour.stepSeconds).toBe(60);
    expect(hour.points).toHaveLength(60);
    expect(hour.points.reduce((sum, p) => sum + p.requests, 0)).toBe(160);

    const fine = await get('/endpoints/scoring/slo/series?window=1d&step=1s');
    expect(fine.statusCode).toBe(200);
    expect(fine.json<Series>().stepSeconds).toBe(120);
    expect(fine.json<Series>().points).toHaveLength(720);
  });

  it('answers an endpoint without traffic with empty buckets', async () => {
    const series = (await get('/endpoints/quiet/slo/series?window=5m&step=60s')).json<Series>();
    expect(series.points).toHaveLength(5);
    expect(series.points.every((p) => p.requests === 0 && p.p99Ms === null)).toBe(true);
    expect(series.versions).toEqual([]);
  });

  it('refuses bad parameters with a 400 that names them, and unknown endpoints with a 404', async () => {
    for (const query of ['window=1x', 'window=0m', 'step=-5s', 'step=1.5m', 'window=12345678s']) {
      const response = await get(`/endpoints/scoring/slo/series?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json()).toMatchObject({
        error: {
          code: 'validation_failed',
          message: expect.stringMatching(/^query\.(window|step): must be a duration/),
        },
      });
    }
    const missing = await get('/endpoints/nope/slo/series');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      error: { code: 'not_found', message: 'endpoint nope does not exist' },
    });
  });

  interface Histogram {
    kind: string;
    edges: number[] | null;
    categories: string[] | null;
    reference: { counts: number[]; below: number; above: number; missing: number; total: number };
    current: { counts: number[]; below: number; above: number; missing: number; total: number };
    window: { sequence: number; version: number; judged: number };
    verdicts: { signal: string; feature: string; drifted: boolean }[];
  }

  it("counts the window's values on the reference's bins, with what falls outside apart", async () => {
    const response = await get('/endpoints/scoring/drift/histogram?feature=amount');
    expect(response.statusCode, response.body).toBe(200);
    const histogram = response.json<Histogram>();
    expect(histogram.kind).toBe('numeric');
    const edges = histogram.edges!;
    expect(edges).toHaveLength(21);
    expect(histogram.reference.counts).toEqual(Array<number>(20).fill(5));
    expect(histogram.reference.total).toBe(100);
    // The same binning by hand: 1, 11, …, 91 each land in their bin of width 99/20.
    const expected = new Array<number>(20).fill(0);
    for (const row of observed) {
      const value = row.amount;
      if (value === null || value < edges[0]! || value > edges[20]!) continue;
      const bin = edges.findIndex((edge, i) => i > 0 && (value < edge || i === 20)) - 1;
      expected[bin]! += 1;
    }
    expect(histogram.current.counts).toEqual(expected);
    expect(histogram.current).toMatchObject({ below: 1, above: 2, missing: 1, total: 13 });
    expect(histogram.window).toMatchObject({ sequence: 0, version: 1, judged: observed.length });
    expect(histogram.verdicts).toEqual([
      expect.objectContaining({ signal: 'skew', feature: 'amount', drifted: true }),
    ]);
  });

  it('counts booleans as 0/1 and categories by name, unseen ones as (other)', async () => {
    const foreign = (await get('/endpoints/scoring/drift/histogram?feature=is_foreign')).json<Histogram>();
    expect(foreign.current.counts[0]).toBe(4);
    expect(foreign.current.counts.at(-1)).toBe(10);
    expect(foreign.current.total).toBe(14);

    const channel = (await get('/endpoints/scoring/drift/histogram?feature=channel')).json<Histogram>();
    expect(channel.kind).toBe('categorical');
    expect(channel.categories).toEqual(['1', '2', '(other)']);
    expect(channel.reference.counts).toEqual([90, 10, 0]);
    expect(channel.current.counts).toEqual([11, 1, 2]);
  });

  it('refuses a histogram it cannot draw with a 4xx that says why', async () => {
    const unknown = await get('/endpoints/scoring/drift/histogram?feature=nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { message: string } }>().error.message).toMatch(
      /feature 'nope' is not in version 1's reference profile \(it has amount, channel, is_foreign\)/,
    );
    expect((await get('/endpoints/scoring/drift/histogram')).statusCode).toBe(400);
    const badReport = await get('/endpoints/scoring/drift/histogram?feature=amount&report=12');
    expect(badReport.statusCode).toBe(400);
    expect(badReport.json()).toMatchObject({ error: { code: 'validation_failed' } });
    const goneReport = await get(`/endpoints/scoring/drift/histogram?feature=amount&report=${randomUUID()}`);
    expect(goneReport.statusCode).toBe(404);
    const noReports = await get('/endpoints/quiet/drift/histogram?feature=amount');
    expect(noReports.statusCode).toBe(404);
    expect(noReports.json<{ error: { message: string } }>().error.message).toMatch(/no drift window/);
  });

  it("answers a lineage node's edges in both directions with their metadata", async () => {
    const range = { kind: 'topic_range' as const, id: 'features.cards#0123456789ab' };
    const view = { kind: 'feature_view' as const, id: 'cards@2' };
    const set = { kind: 'training_set' as const, id: randomUUID() };
    const offsets = [{ partition: 0, from: '0', to: '120' }];
    await addEdges(database.db, ctx.projectId, [
      {
        from: range,
        to: view,
        relation: 'ingested',
        metadata: { topic: 'features.cards', offsets, rows: 120 },
      },
      { from: view, to: set, relation: 'features', metadata: { rowsMatched: 100 } },
    ]);
    const response = await get(`/lineage/feature_view/${encodeURIComponent(view.id)}/edges`);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      node: view,
      edges: [
        {
          from: range,
          to: view,
          relation: 'ingested',
          metadata: { topic: 'features.cards', offsets, rows: 120 },
        },
        { from: view, to: set, relation: 'features', metadata: { rowsMatched: 100 } },
      ],
    });
    const fromRange = await get(`/lineage/topic_range/${encodeURIComponent(range.id)}/edges`);
    expect(fromRange.json<{ edges: unknown[] }>().edges).toHaveLength(1);
    const nothing = await get(`/lineage/alert/${randomUUID()}/edges`);
    expect(nothing.json()).toMatchObject({ edges: [] });
    expect((await get('/lineage/planet/x/edges')).statusCode).toBe(400);
  });
});
