import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  latencyBucketBoundsMs,
  latencyBucketIndex,
  predictionBins,
  sloObjectives,
} from '@shepherd/contracts/serving';
import { servingStats } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { sloReport, summarizeStats } from '../src/serving-stats.ts';

/** A serving_stats row as a gateway would write it for these latencies and predictions. */
function statsRow(
  base: { projectId: string; endpointId: string; versionId: string; gatewayId: string },
  role: 'champion' | 'candidate' | 'shadow',
  second: Date,
  latenciesMs: number[],
  predictions: number[],
  errors = 0,
) {
  const latencyCounts = new Array<number>(latencyBucketBoundsMs.length + 1).fill(0);
  for (const ms of latenciesMs) latencyCounts[latencyBucketIndex(ms)]! += 1;
  const predictionCounts = new Array<number>(predictionBins).fill(0);
  for (const p of predictions)
    predictionCounts[Math.min(Math.floor(p * predictionBins), predictionBins - 1)]! += 1;
  return {
    ...base,
    role,
    second,
    requests: latenciesMs.length,
    errors,
    latencyCounts,
    latencySumMs: latenciesMs.reduce((a, b) => a + b, 0),
    predictionCounts,
    predictionSum: predictions.reduce((a, b) => a + b, 0),
    predictionSquares: predictions.reduce((a, b) => a + b * b, 0),
  };
}

describe('serving stats summaries on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  const projectId = randomUUID();
  const endpointId = randomUUID();
  const champion = randomUUID();
  const candidate = randomUUID();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const secondsAgo = (s: number) => new Date(now.getTime() - s * 1000);

  beforeAll(async () => {
    database = await openTestDatabase();
    const rows = [];
    // Two gateways, the same seconds: their counts add up.
    for (const gatewayId of ['gw-a', 'gw-b']) {
      const champ = { projectId, endpointId, versionId: champion, gatewayId };
      const cand = { projectId, endpointId, versionId: candidate, gatewayId };
      for (let s = 1; s <= 10; s++) {
        // Champion: 100 requests a second, 1 ms each, one at 30 ms; predictions 0.2.
        rows.push(
          statsRow(
            champ,
            'champion',
            secondsAgo(s),
            [...new Array<number>(99).fill(1), 30],
            new Array<number>(100).fill(0.2),
          ),
        );
        // Candidate: 10 a second, 100 ms each, 2 of them failed; predictions 0.9 for the 8 that ran.
        rows.push(
          statsRow(
            cand,
            'candidate',
            secondsAgo(s),
            new Array<number>(10).fill(100),
            new Array<number>(8).fill(0.9),
            2,
          ),
        );
      }
      // Shadow copies and a row of long ago that no recent window includes.
      rows.push(statsRow(cand, 'shadow', secondsAgo(1), [5, 5], [0.5, 0.5]));
      rows.push(statsRow(champ, 'champion', secondsAgo(7200), [9000], [0.1], 1));
    }
    // Another endpoint of the same project must never leak in.
    rows.push(
      statsRow(
        { projectId, endpointId: randomUUID(), versionId: champion, gatewayId: 'gw-a' },
        'champion',
        secondsAgo(1),
        [1],
        [0.3],
      ),
    );
    await database.db.insert(servingStats).values(rows);
  });
  afterAll(() => database?.dispose());

  it('sums one version and role over gateways and seconds, with percentiles from the histogram', async () => {
    const summary = await summarizeStats(database.db, projectId, endpointId, {
      since: secondsAgo(10),
      until: now,
      versionId: champion,
      role: 'champion',
    });
    expect(summary.requests).toBe(2000);
    expect(summary.errors).toBe(0);
    expect(summary.errorRate).toBe(0);
    expect(summary.availability).toBe(1);
    // p50 and p95 in the 1 ms bucket, p99 too (20 of 2000 = 1 % are 30 ms: the 99th is still 1 ms).
    expect(summary.p50Ms).toBeCloseTo(latencyBucketBoundsMs[latencyBucketIndex(1)]!, 9);
    expect(summary.p99Ms).toBeCloseTo(latencyBucketBoundsMs[latencyBucketIndex(1)]!, 9);
    expect(summary.meanLatencyMs).toBeCloseTo((99 * 1 + 30) / 100, 9);
    expect(summary.throughputPerSecond).toBeCloseTo(200, 9);
    expect(summary.predictionMean).toBeCloseTo(0.2, 9);
    expect(summary.predictionStdDev).toBeCloseTo(0, 6);
    expect(summary.predictionCounts[4]).toBe(2000);
    expect(summary.latencyCounts).toHaveLength(latencyBucketBoundsMs.length + 1);
    expect(summary.latencyCounts[latencyBucketIndex(30)]).toBe(20);
  });

  it('counts errors and availability for the candidate, and leaves shadow out unless asked', async () => {
    const candidateOnly = await summarizeStats(database.db, projectId, endpointId, {
      since: secondsAgo(10),
      until: now,
      versionId: candidate,
      role: 'candidate',
    });
    expect(candidateOnly).toMatchObject({ requests: 200, errors: 40 });
    expect(candidateOnly.errorRate).toBeCloseTo(0.2, 9);
    expect(candidateOnly.availability).toBeCloseTo(0.8, 9);
    expect(candidateOnly.p99Ms).toBeCloseTo(latencyBucketBoundsMs[latencyBucketIndex(100)]!, 9);
    expect(candidateOnly.predictionMean).toBeCloseTo(0.9, 6);

    const allRoles = await summarizeStats(database.db, projectId, endpointId, {
      since: secondsAgo(10),
      until: now,
      versionId: candidate,
    });
    expect(allRoles.requests).toBe(204);
    const shadow = await summarizeStats(database.db, projectId, endpointId, {
      since: secondsAgo(10),
      until: now,
      role: 'shadow',
    });
    expect(shadow.requests).toBe(4);
  });

  it('answers an empty window with zeros and nulls, and refuses a window that ends before it starts', async () => {
    const empty = await summarizeStats(database.db, projectId, endpointId, {
      since: secondsAgo(3000),
      until: secondsAgo(2000),
    });
    expect(empty).toMatchObject({
      requests: 0,
      errors: 0,
      errorRate: null,
      availability: null,
      p99Ms: null,
      predictionMean: null,
      throughputPerSecond: 0,
    });
    await expect(
      summarizeStats(database.db, projectId, endpointId, { since: now, until: now }),
    ).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('reports burn rates over 5 minutes and 1 hour against the objectives', async () => {
    const slo = sloObjectives.parse({ latencyP99Ms: 50, errorRate: 0.01, availability: 0.99 });
    const report = await sloReport(database.db, projectId, endpointId, slo, now);
    const [fiveMinutes, hour] = report.windows;
    // Both windows hold the same 10 seconds: 2000 champion + 200 candidate requests, 40 errors.
    expect(fiveMinutes).toMatchObject({ name: '5m', seconds: 300, requests: 2200, errors: 40 });
    expect(hour).toMatchObject({ name: '1h', requests: 2200, errors: 40 });
    expect(fiveMinutes!.burnRates.errors).toBeCloseTo(40 / 2200 / 0.01, 6);
    expect(fiveMinutes!.burnRates.availability).toBeCloseTo(40 / 2200 / 0.01, 6);
    // 200 of 2200 requests took 100 ms, over the 50 ms objective: 9.1 % against the 1 % allowed.
    expect(fiveMinutes!.burnRates.latency).toBeCloseTo(200 / 2200 / 0.01, 6);
    expect(fiveMinutes!.met).toEqual({ errors: false, availability: false, latencyP99: false });
    expect(fiveMinutes!.throughputPerSecond).toBeCloseTo(2200 / 300, 9);
    expect(report.fastBurn).toBe(false);

    const strict = await sloReport(
      database.db,
      projectId,
      endpointId,
      sloObjectives.parse({ latencyP99Ms: 500, errorRate: 0.001, availability: 0.999 }),
      now,
    );
    expect(strict.windows[0]!.burnRates.errors).toBeCloseTo(40 / 2200 / 0.001, 6);
    expect(strict.windows[0]!.burnRates.latency).toBe(0);
    expect(strict.fastBurn).toBe(true);
  });
});
