import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { buildApp } from '../../api/src/app.ts';
import { startLoad, type LoadResult, type LoadSummary } from '../../gateway/src/load.ts';
import { predict, servingFixture, type ServingFixture } from '../../gateway/test/harness.ts';
import { dataConverterFor } from '@shepherd/clients/codec';
import { createKafka } from '@shepherd/clients/kafka';
import { labelTopic } from '@shepherd/contracts/features';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { AlertView } from '@shepherd/contracts/alerts';
import type { ParityMonitorView } from '@shepherd/contracts/features';
import type { EndpointConfig, RolloutView, RolloutStep } from '@shepherd/contracts/serving';
import { auditEvents, featureParityMonitors, modelVersions } from '@shepherd/db/schema';
import { resolveAlias } from '@shepherd/registry/aliases';
import { createToken } from '@shepherd/registry/tokens';
import { testEnv } from '@shepherd/testing/env';
import { eventually, quietLogger, scratchDir } from '@shepherd/testing/platform';

const repoRoot = resolve(import.meta.dirname, '../../..');

/**
 * Canary rollouts end to end on the real stack: the API starts the workflow, a worker process
 * runs it against the local Temporal, a real gateway serves the traffic under a load generator
 * and reports what it saw to PostgreSQL, and the analysis judges the canary from those reports.
 */
describe('canary rollouts on the real stack', { timeout: 300_000 }, () => {
  let fx: ServingFixture;
  let baseUrl: string;
  let app: ReturnType<typeof buildApp>;
  let closeTemporal: () => Promise<void>;
  let temporalClient: Awaited<ReturnType<typeof connectTemporal>>['client'];
  let releaser: string;
  let approver: string;
  let workDir: string;
  const taskQueue = `test-rollout-${randomUUID()}`;
  const payloadKeys = `test:${randomBytes(32).toString('base64')}`;
  const workers: ChildProcess[] = [];
  const env = testEnv();
  const predictionsTopic = `test.predictions.${randomUUID()}`;
  const kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'rollout-test-labels' });

  /** The worker's real entry point as a process of its own, so it can be killed like one. */
  const startWorker = () => {
    const log = openSync(join(workDir, `worker-${workers.length + 1}.log`), 'a');
    const child = spawn(resolve(repoRoot, 'node_modules/.bin/tsx'), ['apps/worker/src/main.ts'], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        ...env,
        KAFKA_BROKERS: env.KAFKA_BROKERS.join(','),
        DATABASE_URL: fx.database.url,
        WORKER_TASK_QUEUES: taskQueue,
        SHEPHERD_PAYLOAD_KEYS: payloadKeys,
        WORK_DIR: workDir,
        LOG_LEVEL: 'warn',
      },
    });
    workers.push(child);
    return child;
  };

  const api = async <T>(method: 'GET' | 'POST', path: string, body?: unknown, token = releaser) => {
    const response = await app.inject({
      method,
      url: `/v1/projects/${fx.project.slug}${path}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    return { status: response.statusCode, body: response.json<T>() };
  };

  beforeAll(async () => {
    workDir = await scratchDir('rollout');
    fx = await servingFixture();
    await fx.seedOnline(3000);
    ({ baseUrl } = await fx.gateway({ statsFlushMs: 500, predictionsTopic }));
    const temporal = await connectTemporal({
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      dataConverter: dataConverterFor(payloadKeys),
    });
    closeTemporal = () => temporal.connection.close();
    temporalClient = temporal.client;
    app = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: {
        db: fx.db,
        temporal: temporal.client,
        trainingTaskQueue: taskQueue,
        mainTaskQueue: taskQueue,
      },
    });
    const token = (name: string, role: 'admin' | 'approver') =>
      createToken(fx.db, { projectId: fx.project.id, name, role, createdBy: 'test' }).then((t) => t.token);
    releaser = await token('releaser', 'admin');
    approver = await token('second-pair-of-eyes', 'approver');
    startWorker();
  }, 180_000);

  afterAll(async () => {
    for (const worker of workers) {
      try {
        process.kill(-worker.pid!, 'SIGTERM');
      } catch {
        // already gone (the one a test killed)
      }
    }
    await app?.close();
    await closeTemporal?.();
    await fx?.dispose();
  });

  interface Scenario {
    name: string;
    /** The candidate's ONNX model: the champion's own ('a', the default) or another one ('b'). */
    candidateModel?: 'a' | 'b';
    candidateTags?: Record<string, string>;
    /**
     * Delayed labels: the truth of each entity is the class the champion gives it (so the champion
     * is right by construction); each answer of the load is labelled by prediction id ~1 s later.
     */
    labelled?: boolean;
    steps: RolloutStep[];
    intervalSeconds: number;
    thresholds?: Record<string, number>;
    /** Runs while the rollout is in progress, e.g. approving a gate or killing the worker. */
    during?: (rollout: RolloutView) => Promise<void>;
  }

  /** A model with a champion on an endpoint under steady load, and a rollout of a candidate. */
  async function playRollout(scenario: Scenario) {
    const suffix = randomUUID().slice(0, 6);
    const model = await fx.model(`${scenario.name}-${suffix}`);
    const champion = await fx.version(model.id, 'a');
    // The same ONNX model as the champion: any difference the analysis sees is the injected one.
    const candidate = await fx.version(model.id, scenario.candidateModel ?? 'a', {
      tags: scenario.candidateTags ?? {},
    });
    const endpoint = await fx.endpoint(`${scenario.name}-${suffix}`, model.name, champion.version);
    // Gateways pick the new endpoint up within a poll; the load starts once this one has.
    await eventually(
      async () =>
        (await predict(baseUrl, endpoint.name, fx.token, { entityId: 'card-1' })).status === 200
          ? true
          : undefined,
      {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the gateway to serve the new endpoint',
      },
    );
    const entities = scenario.labelled ? 400 : 3000;
    const truth = scenario.labelled ? await championClasses(endpoint.name, entities) : undefined;
    const load = startLoad({
      baseUrl,
      endpoint: endpoint.name,
      token: fx.token,
      ratePerSecond: 60,
      entities,
      entityPrefix: 'card-',
      timeoutMs: 5000,
    });
    const labeller = truth ? startLabeller(load.results, labelTopic(model.name), truth) : undefined;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const started = await api<RolloutView>('POST', `/endpoints/${endpoint.name}/rollouts`, {
        requestId: `r-${suffix}`,
        version: candidate.version,
        steps: scenario.steps,
        analysisIntervalSeconds: scenario.intervalSeconds,
        thresholds: { minRequests: 20, maxLatencyP99Ratio: 4, ...scenario.thresholds },
        labels: { predictionsTopic, joinSeconds: 60 },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const startedAt = Date.now();
      await scenario.during?.(started.body);
      const finished = await eventually(
        async () => {
          const { body } = await api<RolloutView>('GET', `/rollouts/${started.body.id}`);
          return ['running', 'awaiting_approval', 'paused'].includes(body.state) ? undefined : body;
        },
        { timeoutMs: 120_000, intervalMs: 200, what: `rollout ${started.body.id} to finish` },
      );
      const finishedAt = Date.now();
      const config = (await api<EndpointConfig>('GET', `/endpoints/${endpoint.name}`)).body;
      const summary: LoadSummary = await load.stop();
      return {
        model,
        champion,
        candidate,
        endpoint,
        rollout: finished,
        config,
        summary,
        seconds: (finishedAt - startedAt) / 1000,
      };
    } finally {
      await load.stop();
      await labeller?.stop();
    }
  }

  /** What the champion answers for `card-0 … card-(n-1)`, asked in one batch before any rollout. */
  async function championClasses(endpoint: string, count: number): Promise<Map<string, number>> {
    const rows = Array.from({ length: count }, (_, i) => ({ entityId: `card-${i}` }));
    const answer = await predict(baseUrl, endpoint, fx.token, { rows });
    expect(answer.status).toBe(200);
    const predictions = (answer.body as { predictions: { entityId: string; label: number }[] }).predictions;
    return new Map(predictions.map((p) => [p.entityId, p.label]));
  }

  /** Sends a label for every answered request about a second after it, naming its prediction id. */
  function startLabeller(results: readonly LoadResult[], topic: string, truth: Map<string, number>) {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    let labelled = 0;
    let stopped = false;
    const loop = (async () => {
      await producer.connect();
      while (!stopped) {
        await new Promise((r) => setTimeout(r, 1000));
        const batch = results.slice(labelled).filter((r) => r.predictionId !== null);
        labelled = results.length;
        if (batch.length === 0) continue;
        await producer.send({
          topic,
          messages: batch.map((r) => ({
            key: r.entityId,
            value: JSON.stringify({
              schemaVersion: 1,
              id: r.predictionId,
              entityId: r.entityId,
              eventTime: new Date().toISOString(),
              label: truth.get(r.entityId) ?? 0,
            }),
          })),
        });
      }
      await producer.disconnect();
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
  }

  it('takes a good candidate through every step, past a four-eyes gate, to champion, failing no request', async () => {
    const result = await playRollout({
      name: 'good',
      steps: [
        { weight: 20, bakeSeconds: 4, manualApproval: false },
        { weight: 50, bakeSeconds: 4, manualApproval: true },
        { weight: 100, bakeSeconds: 0, manualApproval: false },
      ],
      intervalSeconds: 2,
      during: async (rollout) => {
        await eventually(
          async () =>
            (await api<RolloutView>('GET', `/rollouts/${rollout.id}`)).body.state === 'awaiting_approval' ||
            undefined,
          { timeoutMs: 60_000, what: 'the manual gate' },
        );
        const self = await api<{ error: { code: string } }>('POST', `/rollouts/${rollout.id}/approve`, {});
        expect(self.status).toBe(403);
        expect(self.body.error.code).toBe('forbidden');
        const other = await api('POST', `/rollouts/${rollout.id}/approve`, {}, approver);
        expect(other.status).toBe(202);
      },
    });
    expect(result.rollout.state, JSON.stringify(result.rollout.analyses)).toBe('succeeded');
    expect(result.rollout.analyses.filter((a) => a.verdict === 'passed').length).toBeGreaterThanOrEqual(2);
    expect(result.rollout.analyses.every((a) => a.verdict !== 'failed')).toBe(true);
    expect(result.config.champion?.version).toBe(result.candidate.version);
    expect(result.config.candidate).toBeNull();
    expect(result.summary.failed).toBe(0);
    // Both versions really served while traffic moved.
    expect(Object.keys(result.summary.versions).sort()).toEqual(
      [String(result.champion.version), String(result.candidate.version)].sort(),
    );
    const ctx = { ...fx.ctx };
    expect((await resolveAlias(ctx, result.model.id, 'champion'))?.id).toBe(result.candidate.id);
    const [old] = await fx.db.select().from(modelVersions).where(eq(modelVersions.id, result.champion.id));
    expect(old?.state).toBe('validated');

    // On-call rolls it back by hand: the previous champion takes all traffic again.
    const rollback = await api<{ kind: string; from: number; to: number }>(
      'POST',
      `/endpoints/${result.endpoint.name}/rollback`,
      { requestId: `rb-${randomUUID()}`, reason: 'complaints from the fraud team' },
    );
    expect(rollback.status, JSON.stringify(rollback.body)).toBe(200);
    expect(rollback.body).toMatchObject({
      kind: 'champion_restored',
      from: result.candidate.version,
      to: result.champion.version,
    });
    const after = (await api<EndpointConfig>('GET', `/endpoints/${result.endpoint.name}`)).body;
    expect(after.champion?.version).toBe(result.champion.version);
    const [demoted] = await fx.db
      .select()
      .from(modelVersions)
      .where(eq(modelVersions.id, result.candidate.id));
    expect(demoted?.state).toBe('rolled_back');
    const alerts = (await api<{ alerts: AlertView[] }>('GET', '/alerts')).body.alerts;
    expect(alerts.some((a) => a.kind === 'rollback' && a.subject.id === result.endpoint.id)).toBe(true);
  });

  const faulty = [
    { name: 'slow', tags: { 'shepherd.fault.latency_ms': '250' }, check: 'latency', ratio: 2 },
    { name: 'failing', tags: { 'shepherd.fault.error_rate': '0.3' }, check: 'errors', ratio: 4 },
    {
      name: 'skewed',
      tags: { 'shepherd.fault.prediction_shift': '-0.45' },
      check: 'prediction_shift',
      ratio: 4,
    },
  ] as const;

  it.each(faulty)(
    'rolls a $name candidate back at its first analysis',
    async ({ name, tags, check, ratio }) => {
      const interval = 5;
      const result = await playRollout({
        name,
        candidateTags: tags,
        steps: [
          { weight: 20, bakeSeconds: 30, manualApproval: false },
          { weight: 100, bakeSeconds: 0, manualApproval: false },
        ],
        intervalSeconds: interval,
        thresholds: { maxLatencyP99Ratio: ratio },
      });
      expect(result.rollout.state, JSON.stringify(result.rollout.analyses.slice(0, 2))).toBe('rolled_back');
      expect(result.rollout.analyses).toHaveLength(1);
      const analysis = result.rollout.analyses[0]!;
      expect(analysis.verdict).toBe('failed');
      expect(analysis.checks.filter((c) => c.outcome === 'failed').map((c) => c.name)).toContain(check);
      expect(result.rollout.reasons.join(' ')).toContain(check);
      // One analysis interval after the step began, plus the time to act on it.
      expect(result.seconds).toBeLessThan(interval + 5);
      expect(result.config.candidate).toBeNull();
      expect(result.config.champion?.version).toBe(result.champion.version);
      const [version] = await fx.db
        .select()
        .from(modelVersions)
        .where(eq(modelVersions.id, result.candidate.id));
      expect(version?.state).toBe('rolled_back');
      const alerts = (await api<{ alerts: AlertView[] }>('GET', '/alerts?state=firing')).body.alerts;
      const alert = alerts.find((a) => a.subject.id === result.rollout.id);
      expect(alert).toMatchObject({
        kind: 'rollout_failed',
        severity: 'critical',
        runbook: 'docs/runbooks/failed-rollout.md',
      });
      const audit = await fx.db
        .select()
        .from(auditEvents)
        .where(
          and(eq(auditEvents.subjectId, result.rollout.id), eq(auditEvents.action, 'rollout.rolled_back')),
        );
      expect(audit).toHaveLength(1);
    },
  );

  it('rolls back a candidate that delayed labels show to be wrong, though its latency and errors are fine', async () => {
    const result = await playRollout({
      name: 'labelled',
      candidateModel: 'b',
      labelled: true,
      steps: [
        { weight: 30, bakeSeconds: 40, manualApproval: false },
        { weight: 100, bakeSeconds: 0, manualApproval: false },
      ],
      intervalSeconds: 5,
      // Only labels may judge here: the output distribution check is off, so a failure is accuracy's.
      thresholds: { maxPredictionPsi: 1e9, minLabels: 20 },
    });
    expect(result.rollout.state, JSON.stringify(result.rollout.analyses)).toBe('rolled_back');
    const failed = result.rollout.analyses.at(-1)!;
    const accuracy = failed.checks.find((c) => c.name === 'accuracy');
    expect(accuracy?.outcome, JSON.stringify(failed.checks)).toBe('failed');
    expect(failed.checks.filter((c) => c.outcome === 'failed').map((c) => c.name)).toEqual(['accuracy']);
    expect(accuracy!.value).toBeGreaterThan(0.05);
    expect(accuracy!.detail).toMatch(
      /^accuracy 0\.\d+ on \d+ labels vs champion 1\.000 on \d+ \(one-sided p = /,
    );
    expect(result.rollout.reasons.join(' ')).toContain('accuracy');
    expect(result.config.champion?.version).toBe(result.champion.version);
    expect(result.summary.failed).toBe(0);
  });

  it('survives the worker being killed mid-rollout and ends in exactly one outcome', async () => {
    const result = await playRollout({
      name: 'restart',
      steps: [
        { weight: 20, bakeSeconds: 8, manualApproval: false },
        { weight: 100, bakeSeconds: 0, manualApproval: false },
      ],
      intervalSeconds: 2,
      during: async (rollout) => {
        await eventually(
          async () =>
            (await api<RolloutView>('GET', `/rollouts/${rollout.id}`)).body.weight === 20 ? true : undefined,
          { timeoutMs: 60_000, what: 'the first step' },
        );
        const victim = workers.at(-1)!;
        process.kill(-victim.pid!, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 1000));
        startWorker();
        // Four eyes (on for the project) gated the final step of this gate-less plan.
        expect(rollout.steps.map((s) => s.manualApproval)).toEqual([false, true]);
        await eventually(
          async () =>
            (await api<RolloutView>('GET', `/rollouts/${rollout.id}`)).body.state === 'awaiting_approval' ||
            undefined,
          { timeoutMs: 60_000, what: 'the promotion gate' },
        );
        expect((await api('POST', `/rollouts/${rollout.id}/approve`, {}, approver)).status).toBe(202);
      },
    });
    expect(result.rollout.state).toBe('succeeded');
    expect(result.summary.failed).toBe(0);
    const outcomes = await fx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectKind, 'rollout'), eq(auditEvents.subjectId, result.rollout.id)));
    const finals = outcomes.filter((e) =>
      ['rollout.succeeded', 'rollout.rolled_back', 'rollout.aborted', 'rollout.failed'].includes(e.action),
    );
    expect(finals.map((e) => e.action)).toEqual(['rollout.succeeded']);
    const promotions = await fx.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.subjectId, result.candidate.id), eq(auditEvents.action, 'version.promoted')));
    expect(promotions).toHaveLength(1);
  });
  it('exposes Prometheus metrics on the API: requests per route, open alerts from the rollbacks above', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(
      /shepherd_api_requests_total\{method="POST",route="\/v1\/projects\/:project\/endpoints\/:endpoint\/rollouts",status="202"\} \d+/,
    );
    const critical = response.body.match(
      new RegExp(
        `shepherd_alerts_open\\{project="${fx.project.slug}",state="firing",severity="critical"\\} (\\d+)`,
      ),
    );
    expect(Number(critical?.[1])).toBeGreaterThanOrEqual(3);
  });
  // Last: from here on the fixture's feature view has a failing parity report.
  it('checks feature parity through the API; a failing report alerts and fails the next canary analysis', async () => {
    // The fixture wrote online rows only: offline-as-of-now has none of them.
    const checked = await api<{ mismatchRate: number; sampled: number; byField: Record<string, number> }>(
      'POST',
      '/feature-views/cards/parity-checks',
      { sampleSize: 200 },
    );
    expect(checked.status, JSON.stringify(checked.body)).toBe(200);
    expect(checked.body.sampled).toBe(200);
    expect(checked.body.mismatchRate).toBe(1);
    expect(checked.body.byField['presence']).toBe(200);
    const listed = await api<{ reports: unknown[] }>('GET', '/feature-views/cards/parity-checks');
    expect(listed.body.reports.length).toBeGreaterThanOrEqual(1);
    const alerts = (await api<{ alerts: AlertView[] }>('GET', '/alerts?state=firing')).body.alerts;
    expect(alerts.find((a) => a.kind === 'parity')).toMatchObject({
      severity: 'warning',
      subject: { kind: 'feature_view' },
    });

    const result = await playRollout({
      name: 'parity',
      steps: [
        { weight: 20, bakeSeconds: 30, manualApproval: false },
        { weight: 100, bakeSeconds: 0, manualApproval: false },
      ],
      intervalSeconds: 5,
    });
    expect(result.rollout.state).toBe('rolled_back');
    expect(result.rollout.analyses[0]?.checks.find((c) => c.name === 'parity')).toMatchObject({
      outcome: 'failed',
      value: 1,
    });
  });

  it('runs a parity monitor on a schedule, returns it as it is while it runs, and stops it for good', async () => {
    const reports = async () =>
      (await api<{ reports: unknown[] }>('GET', '/feature-views/cards/parity-checks?limit=500')).body.reports
        .length;
    const monitorPath = '/feature-views/cards/parity-monitor';
    const statusOf = async (workflowId: string) =>
      (await temporalClient.workflow.getHandle(workflowId).describe()).status.name;
    const before = await reports();

    const started = await api<ParityMonitorView>('POST', monitorPath, { everySeconds: 10, sampleSize: 50 });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({
      view: 'cards',
      state: 'running',
      config: { everySeconds: 10, sampleSize: 50, maxMismatchRate: 0.01 },
    });
    // Started again while it runs: the running monitor, its config unchanged.
    const again = await api<ParityMonitorView>('POST', monitorPath, { everySeconds: 60 });
    expect(again.body).toMatchObject({ workflowId: started.body.workflowId, config: { everySeconds: 10 } });
    // A check at once, the next one 10 s later.
    await eventually(async () => (await reports()) >= before + 2 || undefined, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: 'two checks by the monitor',
    });
    const shown = await api<ParityMonitorView>('GET', monitorPath);
    expect(shown.body).toMatchObject({ state: 'running', latestReport: { view: 'cards', sampled: 50 } });

    const stopped = await api<ParityMonitorView>('POST', `${monitorPath}/stop`);
    expect(stopped.body).toMatchObject({ state: 'stopped', workflowId: started.body.workflowId });
    await eventually(async () => (await statusOf(started.body.workflowId)) === 'CANCELLED' || undefined, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the monitor workflow cancelled',
    });

    // Stopped where Temporal never heard of it (a lost cancel): the workflow reads the row before
    // its next check and ends by itself.
    const restarted = await api<ParityMonitorView>('POST', monitorPath, { everySeconds: 10, sampleSize: 50 });
    expect(restarted.body.workflowId).not.toBe(started.body.workflowId);
    const beforeRow = await reports();
    await eventually(async () => (await reports()) > beforeRow || undefined, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: "the restarted monitor's first check",
    });
    await fx.db
      .update(featureParityMonitors)
      .set({ state: 'stopped' })
      .where(eq(featureParityMonitors.id, restarted.body.id));
    await eventually(async () => (await statusOf(restarted.body.workflowId)) === 'COMPLETED' || undefined, {
      timeoutMs: 40_000,
      intervalMs: 500,
      what: 'the monitor workflow ended on its own',
    });
    expect(await reports()).toBe(beforeRow + 1);

    const audited = await fx.db
      .select({ action: auditEvents.action })
      .from(auditEvents)
      .where(and(eq(auditEvents.projectId, fx.project.id), eq(auditEvents.subjectId, 'cards')))
      .orderBy(auditEvents.id);
    expect(audited.map((a) => a.action).filter((a) => a.startsWith('parity_monitor.'))).toEqual([
      'parity_monitor.started',
      'parity_monitor.stopped',
      'parity_monitor.started',
    ]);
  });
});
