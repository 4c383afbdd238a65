/**
 * Automatic rollback: a canary whose candidate fails a share of its requests (fault injection
 * through its version tags) under steady load, from the first failed analysis to the moment no
 * request reaches the candidate any more, as the load generator (a client) saw it. The api,
 * worker and gateway run as processes on the real stack.
 */
import { randomUUID } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import type { RolloutView } from '../packages/contracts/src/serving.ts';
import { auditEvents } from '../packages/db/src/schema.ts';
import { startLoad } from '../apps/gateway/src/load.ts';
import { predict } from '../apps/gateway/test/harness.ts';
import { ENTITIES, percentile, startPlatform, until, type Platform } from './_platform.ts';
import type { Benchmark, BenchResult } from './lib.ts';

const round1 = (value: number) => Math.round(value * 10) / 10;

export interface RollbackTiming {
  /** The failed analysis's `at` (the end of the window it judged) → the first request after the last one that reached the candidate. */
  clientMs: number;
  /** The failed analysis's `at` → the traffic change putting 100 % back on the champion, committed (its audit entry). */
  committedMs: number;
  /** Rollout requested → that traffic change. */
  sinceStartMs: number;
  /** Requests of the load that reached the candidate (answered by it, or failed by its fault). */
  candidateRequests: number;
  requests: number;
}

/**
 * One faulty canary: champion and candidate are the same ONNX model, the candidate tagged to fail
 * half of its requests; 50 % of traffic goes to it with a long bake, so only the analysis ends it.
 */
export async function timeRollback(
  platform: Platform,
  options: { intervalSeconds: number; rate: number; log: (message: string) => void },
): Promise<RollbackTiming> {
  const { fx } = platform;
  const suffix = randomUUID().slice(0, 6);
  const model = await fx.model(`rb-${suffix}`);
  const champion = await fx.version(model.id, 'a');
  const candidate = await fx.version(model.id, 'a', { tags: { 'shepherd.fault.error_rate': '0.5' } });
  const endpoint = await fx.endpoint(`rb-${suffix}`, model.name, champion.version);
  await until(
    async () =>
      (await predict(platform.gatewayUrl, endpoint.name, fx.token, { entityId: 'card-1' })).status === 200 ||
      undefined,
    'the gateway to serve the new endpoint',
    20_000,
    100,
  );
  const loadStartWall = Date.now();
  const load = startLoad({
    baseUrl: platform.gatewayUrl,
    endpoint: endpoint.name,
    token: fx.token,
    ratePerSecond: options.rate,
    entities: ENTITIES,
    entityPrefix: 'card-',
    timeoutMs: 5000,
  });
  let rollout: RolloutView;
  const requested = Date.now();
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const started = await platform.api<RolloutView>('POST', `/endpoints/${endpoint.name}/rollouts`, {
      requestId: `rb-${suffix}`,
      version: candidate.version,
      steps: [
        { weight: 50, bakeSeconds: 600, manualApproval: false },
        { weight: 100, bakeSeconds: 0, manualApproval: false },
      ],
      analysisIntervalSeconds: options.intervalSeconds,
      thresholds: { minRequests: 20 },
    });
    if (started.status !== 202) throw new Error(`rollout refused: ${JSON.stringify(started.body)}`);
    rollout = await until(
      async () => {
        const { body } = await platform.api<RolloutView>('GET', `/rollouts/${started.body.id}`);
        return body.state === 'running' ? undefined : body;
      },
      'the faulty rollout to end',
      120_000,
      50,
    );
    // Long enough for every gateway poll and every request in flight to land in the results.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    await load.stop();
  }
  if (rollout.state !== 'rolled_back')
    throw new Error(`the faulty rollout ended ${rollout.state}, not rolled_back`);
  const failed = rollout.analyses.find((analysis) => analysis.verdict === 'failed');
  if (!failed) throw new Error('the rollout was rolled back without a failed analysis');
  const failedAt = Date.parse(failed.at);

  // A request reached the candidate if the candidate answered it or its fault failed it (the
  // champion is healthy: any 5xx here is the candidate's).
  const results = [...load.results].sort((a, b) => a.atMs - b.atMs);
  const toCandidate = (r: (typeof results)[number]) => r.version === candidate.version || r.status >= 500;
  const lastCandidate = results.findLast(toCandidate);
  if (!lastCandidate) throw new Error('no request reached the candidate');
  const firstClean = results.find((r) => r.atMs > lastCandidate.atMs);
  if (!firstClean) throw new Error('the load ended before the candidate stopped getting requests');
  if (results.some((r) => r.atMs > lastCandidate.atMs && r.status !== 200)) {
    throw new Error('requests failed after the rollback');
  }
  const [restored] = await fx.db
    .select({ at: auditEvents.createdAt })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.projectId, fx.project.id),
        eq(auditEvents.subjectId, endpoint.id),
        eq(auditEvents.action, 'endpoint.traffic_changed'),
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(1);
  if (!restored) throw new Error('no traffic change was audited');
  const timing: RollbackTiming = {
    clientMs: loadStartWall + firstClean.atMs - failedAt,
    committedMs: restored.at.getTime() - failedAt,
    sinceStartMs: restored.at.getTime() - requested,
    candidateRequests: results.filter(toCandidate).length,
    requests: results.length,
  };
  options.log(
    `rolled back: client ${round1(timing.clientMs)} ms after the failed analysis's at (committed ${round1(timing.committedMs)} ms), ${timing.candidateRequests} of ${timing.requests} requests reached the candidate`,
  );
  return timing;
}

const benchmark: Benchmark = async ({ quick, log }): Promise<BenchResult> => {
  const runs = quick ? 1 : 3;
  const intervalSeconds = 5;
  const platform = await startPlatform(log);
  try {
    const timings: RollbackTiming[] = [];
    for (let i = 0; i < runs; i++) {
      timings.push(await timeRollback(platform, { intervalSeconds, rate: 200, log }));
    }
    const client = timings.map((t) => t.clientMs);
    const worst = Math.max(...client);
    const figures: Record<string, number> = {
      rollbacks: runs,
      analysis_interval_ms: intervalSeconds * 1000,
      client_p50_ms: round1(percentile(client, 0.5)),
      client_max_ms: round1(worst),
      committed_p50_ms: round1(
        percentile(
          timings.map((t) => t.committedMs),
          0.5,
        ),
      ),
      committed_max_ms: round1(Math.max(...timings.map((t) => t.committedMs))),
      rollout_start_to_rollback_p50_ms: round1(
        percentile(
          timings.map((t) => t.sinceStartMs),
          0.5,
        ),
      ),
      requests_to_candidate_mean: Math.round(timings.reduce((a, t) => a + t.candidateRequests, 0) / runs),
      requests_mean: Math.round(timings.reduce((a, t) => a + t.requests, 0) / runs),
    };
    log(JSON.stringify(figures));
    const ratio = worst / (intervalSeconds * 1000);
    return {
      name: 'rollback',
      description: `A canary (50 % of 200 predictions/s through a gateway process, bake 10 min) whose candidate fails half its requests (version tag shepherd.fault.error_rate=0.5); from the first failed analysis's \`at\` to the first request from which none reached the candidate, as the load generator saw it; ${runs} rollouts, analysis every ${intervalSeconds} s.`,
      reference: `the analysis interval (${intervalSeconds} s): issue #10 and the design ask for a rollback within one`,
      figures,
      ratio: { label: 'slowest rollback / analysis interval', value: Math.round(ratio * 1000) / 1000 },
      target: { description: 'back to 100 % champion within one analysis interval', met: ratio < 1 },
      notes: [
        "An analysis's `at` is the end of the window it judged: the worker reads gateway statistics up to 2 s old (statsLagMs), so the analysis itself runs about 2 s after `at`; that lag is inside these figures.",
        'client_*: a request reached the candidate when the candidate answered it or its fault failed it; after the rollback no request failed. committed_*: to the audit entry of the traffic change that put 100 % back on the champion (gateways then pick it up within their 250 ms poll).',
        'API, worker, gateway, the load generator and the whole local stack share the same cores.',
      ],
    };
  } finally {
    await platform.dispose();
  }
};

export default benchmark;
