import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka, Producer } from 'kafkajs';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createKafka } from '@shepherd/clients/kafka';
import { dataConverterFor } from '@shepherd/clients/codec';
import type { AlertView } from '@shepherd/contracts/alerts';
import type {
  DeliveryView,
  DriftMonitorView,
  DriftReportView,
  PagerDutyBody,
  SlackBody,
} from '@shepherd/contracts/drift';
import type { EndpointConfig, PredictionEvent, RolloutView } from '@shepherd/contracts/serving';
import { generateFraudRows, fraudFeatureNames, type FraudRow } from '@shepherd/datagen/fraud';
import { buildReferenceProfile } from '@shepherd/drift/profile';
import { promote } from '@shepherd/registry/aliases';
import type { RegistryContext } from '@shepherd/registry/context';
import { predictionColumn, readVersionProfile, type VersionReferenceProfile } from '@shepherd/registry/drift';
import { createModel } from '@shepherd/registry/models';
import { annotateVersion, getVersionById, registerVersion } from '@shepherd/registry/versions';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { bundleWorkflows, connectWorker, createWorker } from '../src/worker.ts';
import { startPlatform, type Platform } from './harness.ts';

/**
 * The drift monitor on the real stack: a worker (with Kafka) runs `driftMonitor` against the local
 * Temporal; the test plays the gateways' part, producing prediction events to a topic of its own
 * (and labels to another), switches the stream to drifted data, and watches alerts, webhook
 * deliveries to a local receiver, and the policies (rollback, retrain-then-canary) do their work.
 */

/** The fraud model's score, so predictions move when the features do. */
const score = (row: FraudRow) =>
  1 / (1 + Math.exp(-(-3 + 4 * row.merchant_risk + 0.002 * row.amount + 1.2 * row.is_foreign)));

/** An upstream change that moves most features: amounts in another unit, shifted clocks, new merchants. */
const corrupt = (row: FraudRow): FraudRow => ({
  ...row,
  amount: row.amount * 8,
  log_amount: row.log_amount + Math.log(8),
  hour_of_day: (row.hour_of_day + 12) % 24,
  is_night: 1 - row.is_night,
  merchant_risk: Math.min(1, row.merchant_risk + 0.4),
  distance_from_home_km: row.distance_from_home_km * 6 + 50,
  card_age_days: row.card_age_days / 5,
  amount_vs_avg_24h: row.amount_vs_avg_24h * 4,
});

function profileOf(rows: FraudRow[]): VersionReferenceProfile {
  const columns = Object.fromEntries(
    fraudFeatureNames.map((name) => [name, Float64Array.from(rows, (row) => row[name])]),
  );
  return {
    schemaVersion: 1,
    features: buildReferenceProfile(columns),
    prediction: buildReferenceProfile({ [predictionColumn]: Float64Array.from(rows, score) }),
    trainingSetId: 'synthetic',
    skipped: {},
    builtAt: new Date().toISOString(),
  };
}

interface Received {
  path: string;
  body: unknown;
  status: number;
}

/** A webhook receiver: `/flaky` answers 503 to the first two deliveries of each message, everything else 200. */
async function receiver() {
  const received: Received[] = [];
  const flakyCalls = new Map<string, number>();
  const server: Server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '/';
      const body = JSON.parse(text) as unknown;
      // Per alert (a retry re-reads the alert, whose occurrence count may have grown meanwhile).
      const alertId = /alert\* `([0-9a-f-]{36})`/.exec(text)?.[1] ?? text;
      const calls = flakyCalls.get(alertId) ?? 0;
      flakyCalls.set(alertId, calls + 1);
      const status = path === '/flaky' && calls < 2 ? 503 : 200;
      received.push({ path, body, status });
      response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { received, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('driftMonitor on the real stack', { timeout: 240_000 }, () => {
  let platform: Platform;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;
  let kafka: Kafka;
  let producer: Producer;
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let ctx: RegistryContext;
  const topic = `test-predictions-${randomUUID()}`;
  const labelsTopic = `test-labels-${randomUUID()}`;
  // Serving draws rows at random from the data the reference was built from: a stationary stream
  // (consecutive generated rows share cards and hours, so reading them in order would drift).
  const stationary = [...generateFraudRows({ rows: 20_000, seed: 11 })];
  const reference = profileOf(stationary);

  beforeAll(async () => {
    platform = await startPlatform({ worker: false });
    hooks = await receiver();
    kafka = createKafka({ brokers: platform.env.KAFKA_BROKERS, clientId: 'drift-test' });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 2 },
        { topic: labelsTopic, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
    connection = await connectWorker(platform.env.TEMPORAL_ADDRESS);
    worker = await createWorker(connection, {
      address: platform.env.TEMPORAL_ADDRESS,
      namespace: platform.env.TEMPORAL_NAMESPACE,
      taskQueue: platform.taskQueue,
      activityDeps: {
        db: platform.database.db,
        artifacts: platform.artifacts,
        mlflow: platform.mlflow,
        trainers: platform.trainers,
        workDir: platform.workDir,
        logger: quietLogger(),
        kafka,
      },
      dataConverter: dataConverterFor(platform.payloadKeys),
      workflowBundleCode: await bundleWorkflows(),
    });
    running = worker.run();
    ctx = { db: platform.database.db, projectId: platform.project.id, actor: 'test' };
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await producer?.disconnect();
    const admin = kafka?.admin();
    if (admin) {
      await admin.connect();
      await admin.deleteTopics({ topics: [topic, labelsTopic] }).catch(() => undefined);
      await admin.disconnect();
    }
    await hooks?.close();
    await platform?.stop();
  });

  /** A model whose versions carry a reference profile, without training (the retrain test trains). */
  async function syntheticModel(name: string, versions: number) {
    const model = await createModel(ctx, { name, task: 'binary_classification' });
    const ids: string[] = [];
    for (let i = 1; i <= versions; i++) {
      const version = await registerVersion(ctx, {
        modelId: model.id,
        artifactUri: `s3://unused/${name}/${i}.onnx`,
        artifactSha256: '0'.repeat(64),
        state: 'validated',
        metrics: { accuracy: 0.95 },
        requestId: `${name}-${i}`,
      });
      await annotateVersion(ctx, version.id, { referenceProfile: reference });
      ids.push(version.id);
    }
    await promote(ctx, model.id, ids[0]!);
    return { model, ids };
  }

  /** Plays the gateways: a few hundred predictions a second for each endpoint, clean or drifted. */
  function stream(targets: { endpoint: EndpointConfig; drifted: () => boolean; labels?: boolean }[]) {
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        for (const target of targets) {
          const champion = target.endpoint.champion!;
          const events: PredictionEvent[] = [];
          for (let i = 0; i < 30; i++) {
            const clean = stationary[Math.floor(Math.random() * stationary.length)]!;
            const row = target.drifted() ? corrupt(clean) : clean;
            events.push({
              schemaVersion: 1,
              predictionId: randomUUID(),
              projectId: platform.project.id,
              endpoint: target.endpoint.name,
              model: target.endpoint.modelName,
              versionId: champion.versionId,
              version: champion.version,
              role: 'champion',
              entityId: row.card_id,
              features: Object.fromEntries(fraudFeatureNames.map((name) => [name, row[name]])),
              prediction: score(row),
              latencyMs: 1,
              at: new Date().toISOString(),
            });
          }
          await producer.send({
            topic,
            messages: events.map((event) => ({ key: event.endpoint, value: JSON.stringify(event) })),
          });
          if (target.labels) {
            // Ground truth that agrees with the model: performance stays at the holdout's level.
            await producer.send({
              topic: labelsTopic,
              messages: events.map((event) => ({
                key: event.entityId,
                value: JSON.stringify({
                  schemaVersion: 1,
                  id: event.predictionId,
                  entityId: event.entityId,
                  eventTime: event.at,
                  label: event.prediction >= 0.5 ? 1 : 0,
                }),
              })),
            });
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    return async () => {
      stop = true;
      await loop;
    };
  }

  const reports = async (endpoint: string, query = '') =>
    (await platform.api<{ reports: DriftReportView[] }>('GET', `/endpoints/${endpoint}/drift${query}`)).body
      .reports;
  const driftAlerts = async (endpoint: EndpointConfig) =>
    (await platform.api<{ alerts: AlertView[] }>('GET', '/alerts?limit=500')).body.alerts.filter(
      (alert) => alert.source === 'drift' && alert.subject.id === endpoint.id,
    );
  const monitorConfig = {
    windowSeconds: 1.5,
    baselineWindows: 3,
    minRows: 50,
    minLabels: 20,
    fireAfterWindows: 2,
    resolveAfterWindows: 2,
    predictionsTopic: topic,
    labelsTopic,
  };

  /** Waits until the monitor has just judged a window, so what comes next lands in the window that follows. */
  async function atWindowBoundary(endpoint: string, after: number) {
    await eventually(async () => ((await reports(endpoint)).length > after ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `window ${after + 1} of ${endpoint}`,
    });
  }

  it('fires within two windows of injected drift, notifies Slack (retried) and PagerDuty, resolves when it clears; the other endpoint rolls back', async () => {
    // Endpoint "watched": notify only. Endpoint "guarded": auto-rollback (v2 promoted by a rollout first).
    const watchedModel = await syntheticModel(`watched-${randomUUID().slice(0, 6)}`, 1);
    const guardedModel = await syntheticModel(`guarded-${randomUUID().slice(0, 6)}`, 2);
    const watched = (
      await platform.api<EndpointConfig>('POST', '/endpoints', {
        name: 'watched',
        model: watchedModel.model.name,
      })
    ).body;
    let guarded = (
      await platform.api<EndpointConfig>('POST', '/endpoints', {
        name: 'guarded',
        model: guardedModel.model.name,
      })
    ).body;
    const rollout = await platform.api<RolloutView>('POST', '/endpoints/guarded/rollouts', {
      requestId: 'v2',
      version: 2,
      steps: [{ weight: 100, bakeSeconds: 0 }],
    });
    expect(rollout.status).toBe(202);
    guarded = await eventually(
      async () => {
        await platform.approvePending('guarded');
        const { body } = await platform.api<EndpointConfig>('GET', '/endpoints/guarded');
        return body.champion?.version === 2 ? body : undefined;
      },
      { timeoutMs: 30_000, what: 'v2 to become champion of guarded' },
    );

    const slack = await platform.api('POST', '/webhooks', {
      name: 'team-slack',
      kind: 'slack',
      url: `${hooks.url}/flaky`,
      minSeverity: 'critical',
    });
    expect(slack.status).toBe(201);
    const pagerduty = await platform.api('POST', '/webhooks', {
      name: 'on-call',
      kind: 'pagerduty',
      url: `${hooks.url}/pagerduty`,
      routingKey: 'R0UT1NGKEY',
      minSeverity: 'critical',
    });
    expect(pagerduty.status).toBe(201);
    expect(
      (await platform.api('POST', '/webhooks', { name: 'bad', kind: 'pagerduty', url: hooks.url })).status,
    ).toBe(400);

    let drifted = false;
    const stopStream = stream([
      { endpoint: watched, drifted: () => drifted, labels: true },
      { endpoint: guarded, drifted: () => drifted },
    ]);
    try {
      const started = await platform.api<DriftMonitorView>(
        'POST',
        '/endpoints/watched/monitor',
        monitorConfig,
      );
      expect(started.status).toBe(202);
      expect(started.body.config.policy.action).toBe('notify');
      const again = await platform.api<DriftMonitorView>('POST', '/endpoints/watched/monitor', monitorConfig);
      expect(again.body.workflowId).toBe(started.body.workflowId);
      const guardedMonitor = await platform.api<DriftMonitorView>('POST', '/endpoints/guarded/monitor', {
        ...monitorConfig,
        // No labels for this endpoint. On the watched endpoint's label topic, those labels (whose ids
        // are not this endpoint's predictions) would meet its predictions of the same cards by
        // entity and time, an accuracy of someone else's answers that once fired a performance alert.
        labelsTopic: `${labelsTopic}.none`,
        policy: { action: 'auto_rollback' },
      });
      expect(guardedMonitor.status).toBe(202);

      // Stationary: five judged windows, no alert, labels joined and performance as on the holdout.
      await atWindowBoundary('watched', 5);
      expect(await driftAlerts(watched)).toEqual([]);
      expect(await driftAlerts(guarded)).toEqual([]);
      const calm = await reports('watched');
      const judged = calm.filter((report) => report.judged >= monitorConfig.minRows);
      expect(judged.length).toBeGreaterThanOrEqual(3);
      const skew = judged.at(-1)!.signals.find((signal) => signal.signal === 'skew')!;
      expect(skew.outcome).toBe('stable');
      expect(skew.features.map((feature) => feature.feature).sort()).toEqual([...fraudFeatureNames].sort());
      expect(skew.features[0]).toMatchObject({ method: 'ks', threshold: 0.05 });
      expect(calm.some((report) => report.labels > 0)).toBe(true);
      const performance = calm.flatMap((report) => report.signals).filter((s) => s.signal === 'performance');
      expect(
        performance.some((signal) => signal.outcome === 'stable' && signal.metric?.name === 'accuracy'),
      ).toBe(true);

      // Drift, right after a window boundary.
      const before = (await reports('watched')).length;
      await atWindowBoundary('watched', before);
      const injectedAt = Date.now();
      drifted = true;
      const alert = await eventually(
        async () =>
          (await driftAlerts(watched)).find((a) => a.dedupKey.endsWith(':skew') && a.state === 'firing'),
        { timeoutMs: 30_000, intervalMs: 100, what: 'a skew alert on watched' },
      );
      expect(alert).toMatchObject({
        severity: 'critical',
        kind: 'drift',
        runbook: 'docs/runbooks/drift-alert.md',
      });
      const windowsToAlert = (await reports('watched')).filter(
        (report) =>
          Date.parse(report.windowEnd) > injectedAt &&
          Date.parse(report.windowEnd) <= Date.parse(alert.firedAt),
      );
      expect(windowsToAlert.length).toBeLessThanOrEqual(2);
      expect(windowsToAlert.every((report) => report.drifted)).toBe(true);

      // Webhooks: PagerDuty at once, Slack after two 503s (Temporal's retry policy).
      const pd = await eventually(
        async () =>
          hooks.received.find(
            (r) => r.path === '/pagerduty' && (r.body as PagerDutyBody).dedup_key === alert.dedupKey,
          ),
        { timeoutMs: 20_000, what: 'the PagerDuty trigger' },
      );
      expect(pd.body).toMatchObject({
        routing_key: 'R0UT1NGKEY',
        event_action: 'trigger',
        dedup_key: alert.dedupKey,
        payload: {
          severity: 'critical',
          source: `shepherd/deployment/${watched.id}`,
          summary: alert.summary,
        },
      });
      const slackCalls = await eventually(
        async () => {
          const calls = hooks.received.filter(
            (r) => r.path === '/flaky' && JSON.stringify(r.body).includes(alert.id),
          );
          return calls.some((call) => call.status === 200) ? calls : undefined;
        },
        { timeoutMs: 30_000, what: 'the Slack message to get through' },
      );
      expect(slackCalls.map((call) => call.status)).toEqual([503, 503, 200]);
      expect((slackCalls[2]!.body as SlackBody).blocks.length).toBeGreaterThan(0);
      const deliveries = await eventually(
        async () => {
          const { body } = await platform.api<{ deliveries: DeliveryView[] }>(
            'GET',
            `/alerts/${alert.id}/deliveries`,
          );
          return body.deliveries.filter((d) => d.event === 'trigger' && d.state === 'delivered').length === 2
            ? body.deliveries
            : undefined;
        },
        { timeoutMs: 10_000, what: 'both deliveries recorded' },
      );
      expect(deliveries.find((d) => d.webhook === 'team-slack')).toMatchObject({
        attempts: 3,
        lastStatus: 200,
      });
      expect(deliveries.find((d) => d.webhook === 'on-call')).toMatchObject({
        attempts: 1,
        state: 'delivered',
      });

      // The guarded endpoint's policy: its drift alert started the rollback workflow; v1 is back.
      const restored = await eventually(
        async () => {
          const { body } = await platform.api<EndpointConfig>('GET', '/endpoints/guarded');
          return body.champion?.version === 1 ? body : undefined;
        },
        { timeoutMs: 30_000, what: 'the guarded endpoint to roll back to v1' },
      );
      expect(restored.candidate).toBeNull();
      // One rollback for the incident, however many signals fired with it.
      const remedied = (await driftAlerts(guarded)).filter((a) => a.details['remedy'] !== undefined);
      expect(remedied).toHaveLength(1);
      expect(remedied[0]!.details['remedy']).toMatchObject({ action: 'auto_rollback' });
      const v2 = await getVersionById(ctx, guardedModel.ids[1]!);
      expect(v2.state).toBe('rolled_back');

      // The signal clears: the skew alert resolves by itself after two clean windows, and PagerDuty hears.
      drifted = false;
      const resolved = await eventually(
        async () => {
          const { body } = await platform.api<AlertView>('GET', `/alerts/${alert.id}`);
          return body.state === 'resolved' ? body : undefined;
        },
        { timeoutMs: 30_000, what: 'the skew alert to resolve' },
      );
      expect(resolved.resolvedBy).toMatch(/drift|token|worker|test|:/);
      await eventually(
        async () =>
          hooks.received.find(
            (r) =>
              r.path === '/pagerduty' &&
              (r.body as PagerDutyBody).dedup_key === alert.dedupKey &&
              (r.body as PagerDutyBody).event_action === 'resolve',
          ),
        { timeoutMs: 20_000, what: 'the PagerDuty resolve' },
      );

      // Reports per feature over time.
      const amount = await reports(
        'watched',
        `?feature=amount&since=${encodeURIComponent(new Date(injectedAt - 60_000).toISOString())}`,
      );
      expect(amount.length).toBeGreaterThan(2);
      for (const report of amount) {
        for (const signal of report.signals.filter((s) => s.signal === 'skew' && s.outcome !== 'skipped')) {
          expect(signal.features.map((feature) => feature.feature)).toEqual(['amount']);
        }
      }
    } finally {
      await stopStream();
    }

    const stopped = await platform.api<DriftMonitorView>('POST', '/endpoints/watched/monitor/stop');
    expect(stopped.body.state).toBe('stopped');
    await platform.api('POST', '/endpoints/guarded/monitor/stop');
    expect((await platform.api('GET', '/endpoints/nope/drift')).status).toBe(404);
    expect((await platform.api('GET', '/endpoints/watched/drift?since=yesterday')).status).toBe(400);
  });

  it('auto-retrain trains a new version like the champion, gates it and rolls it out on the endpoint', async () => {
    const name = `fraud-${randomUUID().slice(0, 6)}`;
    expect((await platform.api('POST', '/models', { name })).status).toBe(201);
    const data = await platform.dataset(`${name}-v1`, { rows: 4_000, seed: 21 });
    const gates = { roc_auc: { threshold: 0.6, greaterIsBetter: true } };
    const first = await platform.api<{ id: string }>('POST', `/models/${name}/trainings`, {
      requestId: 'v1',
      trainer: { name: 'reference-sklearn' },
      data: { uri: data },
      gates,
    });
    expect(first.status).toBe(202);
    const trained = await platform.waitForTraining(first.body.id);
    expect(trained.state).toBe('succeeded');
    // The pipeline stored the reference profile: every feature, and the holdout predictions.
    const v1 = await getVersionById(ctx, trained.versionId!);
    const profile = readVersionProfile(v1.referenceProfile);
    expect(Object.keys(profile!.features.columns).sort()).toEqual([...fraudFeatureNames].sort());
    expect(profile!.prediction!.columns[predictionColumn]!.count).toBeGreaterThan(0);

    const endpoint = (
      await platform.api<EndpointConfig>('POST', '/endpoints', { name: 'retrained', model: name })
    ).body;
    const monitor = await platform.api<DriftMonitorView>('POST', '/endpoints/retrained/monitor', {
      ...monitorConfig,
      policy: {
        action: 'auto_retrain',
        on: ['skew'],
        rollout: { steps: [{ weight: 100, bakeSeconds: 0 }], analysisIntervalSeconds: 1 },
      },
    });
    expect(monitor.status).toBe(202);
    const stopStream = stream([{ endpoint, drifted: () => true }]);
    try {
      const retrained = await eventually(
        async () => {
          await platform.approvePending('retrained');
          const { body } = await platform.api<EndpointConfig>('GET', '/endpoints/retrained');
          return body.champion && body.champion.version > 1 ? body : undefined;
        },
        { timeoutMs: 150_000, intervalMs: 1000, what: 'a retrained version to become champion' },
      );
      expect(retrained.champion!.version).toBe(2);
    } finally {
      await stopStream();
      await platform.api('POST', '/endpoints/retrained/monitor/stop');
    }
    const alert = (await driftAlerts(endpoint)).find((a) => a.dedupKey.endsWith(':skew'))!;
    expect(alert.details['remedy']).toMatchObject({ action: 'auto_retrain' });
    const { body: runs } = await platform.api<{
      trainings: { requestId: string; state: string; rolloutId?: string }[];
    }>('GET', `/models/${name}/trainings`);
    const retrain = runs.trainings.find((run) => run.requestId === `retrain-${alert.id}`);
    expect(retrain?.state).toBe('succeeded');
    const { body: rollouts } = await platform.api<{ rollouts: RolloutView[] }>(
      'GET',
      '/rollouts?endpoint=retrained',
    );
    expect(rollouts.rollouts[0]).toMatchObject({ state: 'succeeded', candidate: { version: 2 } });
  });
});
