import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from 'kafkajs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/src/app.ts';
import { createKafka } from '@shepherd/clients/kafka';
import { dataConverterFor } from '@shepherd/clients/codec';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { AlertView } from '@shepherd/contracts/alerts';
import type { DriftReportView } from '@shepherd/contracts/drift';
import { labelTopic, type PointInTimeManifest } from '@shepherd/contracts/features';
import type { ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import type { EndpointConfig, PredictionEvent } from '@shepherd/contracts/serving';
import { fraudFeatureNames, generateFraudRows, type FraudRow } from '@shepherd/datagen/fraud';
import { cardTransactionEvent, cardTransactionLabel } from '@shepherd/features/card-events';
import { FeatureIngestor } from '@shepherd/features/ingest';
import { getFeatureViewMetrics } from '@shepherd/features/metrics';
import { featureEventMessage } from '@shepherd/features/produce';
import { registerFeatureView } from '@shepherd/features/registry';
import { cardTransactionsV2 } from '@shepherd/features/views';
import { getTrainingSet } from '@shepherd/registry/training';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { StatsRecorder } from '../../gateway/src/stats.ts';
import { startPlatform, type Platform } from '../../worker/test/harness.ts';

/**
 * The dashboard in headless Chromium against the real platform: the API on a database of its own,
 * versions trained by a real worker through Temporal and MLflow (one of them from a point-in-time
 * set of a feature view fed through Kafka, so lineage reaches real offsets), serving stats written
 * by the gateway's recorder, a parity check and a drift monitor run by the worker.
 * Each page is checked for its data and photographed into .state/screenshots, or into the committed
 * docs/screenshots with UPDATE_SCREENSHOTS=1 (so a plain test run leaves the tree clean).
 */

const dashboardDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(dashboardDir, '../..');
const screenshots = join(
  repoRoot,
  process.env.UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : '.state/screenshots',
);
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const mlflowUi = 'http://127.0.0.1:5500';

/** The page renders after its data arrives and, for lineage, after the layout: wait for it, not 1 s. */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });

interface SloSeries {
  points: { requests: number; burnRates: { errors: number | null } }[];
}

interface ParityReport {
  sampled: number;
  mismatchedEntities: number;
  mismatchRate: number;
  byField: Record<string, number>;
  mismatches: { entity: string; field: string }[];
}

const aucGate = { roc_auc: { threshold: 0.7, greaterIsBetter: true } };
const beatChampion = { roc_auc: { threshold: 0.7, minAbsoluteChange: 0, greaterIsBetter: true } };

describe('dashboard in a browser', { timeout: 120_000 }, () => {
  let platform: Platform;
  let api: ReturnType<typeof buildApp>;
  let closeApi: (() => Promise<void>) | undefined;
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let baseUrl: string;
  let outDir: string;
  const model = `dash-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`;
  const topic = `features.card_transactions.dash-${randomUUID()}`;
  const predictionsTopic = `dash-predictions-${randomUUID()}`;
  /** Valid card events on the view's topic: the candidate is trained on them and their labels. */
  const events = 3000;
  /** Two more from a producer whose clock is two hours ahead: parity catches them. */
  const skewedEvents = 2;
  /** Where the valid events landed (partition 0 of a fresh topic). */
  let firstOffset = 0n;
  let featureRows: FraudRow[] = [];
  const endpointName = 'fraud-scoring';
  let v1: VersionView;
  let rejected: VersionView;
  let candidate: VersionView;
  let apiUrl: string;
  let kafka: ReturnType<typeof createKafka>;

  /**
   * Versions through the real pipeline: v1 passes and becomes champion; then, side by side, one
   * trained on shuffled labels fails its gates (rejected) and one on a point-in-time set of the
   * feature view and its labels passes (validated, the rollout's candidate). Which of the two is v2
   * or v3 depends on which registers first.
   */
  async function seedModels(features: Promise<void>) {
    const [good, broken] = await Promise.all([
      platform.dataset('good', { rows: 3000, seed: 1 }),
      platform.dataset('broken', { rows: 3000, seed: 3, shuffleLabels: true }),
    ]);
    expect(
      (await platform.api<ModelView>('POST', '/models', { name: model, description: 'card fraud' })).status,
    ).toBe(201);
    const train = async (requestId: string, data: object, gates: object) => {
      const started = await platform.api<TrainingRunView>('POST', `/models/${model}/trainings`, {
        requestId,
        trainer: { name: 'reference-sklearn', params: { max_iter: 50 } },
        data,
        gates,
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      return platform.waitForTraining(started.body.id, 90_000);
    };
    expect(await train('v1', { uri: good }, aucGate)).toMatchObject({ state: 'succeeded', version: 1 });
    await features;
    const [rejectedRun, candidateRun] = await Promise.all([
      train('broken', { uri: broken }, beatChampion),
      train(
        'fresh',
        { views: [{ name: cardTransactionsV2.name, features: [...fraudFeatureNames] }] },
        aucGate,
      ),
    ]);
    expect(rejectedRun.state).toBe('rejected');
    expect(candidateRun.state, candidateRun.failureReason ?? '').toBe('succeeded');
    const version = async (number: number | null) =>
      (await platform.api<VersionView>('GET', `/models/${model}/versions/${number}`)).body;
    [v1, rejected, candidate] = await Promise.all([
      version(1),
      version(rejectedRun.version),
      version(candidateRun.version),
    ]);
    expect(candidate.state).toBe('validated');
    const endpoint = await platform.api('POST', '/endpoints', { name: endpointName, model });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
  }

  /**
   * A feature view on a fresh topic: `events` valid card events, their fraud labels on
   * `labels.<model>`, two events stamped two hours ahead, and one malformed event (the DLQ's).
   */
  async function seedFeatures(kafka: ReturnType<typeof createKafka>) {
    const { registered } = await registerFeatureView(
      { db: platform.database.db, projectId: platform.project.id, actor: 'test' },
      { ...cardTransactionsV2, sourceTopic: topic },
    );
    featureRows = [...generateFraudRows({ rows: events, cards: 120, seed: 2, days: 4 })];
    const ahead = new Date(Date.now() + 2 * 3600_000).toISOString();
    const skewedCards = [...new Set(featureRows.map((row) => row.card_id))].slice(0, skewedEvents);
    const skewed = skewedCards.map((card, i) => ({
      ...featureRows.find((row) => row.card_id === card)!,
      transaction_id: `skewed-${i}`,
      event_time: ahead,
    }));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [
          { topic, numPartitions: 1 },
          { topic: labelTopic(model), numPartitions: 1 },
        ],
        waitForLeaders: true,
      });
      const producer = kafka.producer();
      await producer.connect();
      // In chunks (a broker takes about a megabyte per request), one after another so the valid
      // events sit at consecutive offsets from the first.
      const send = async (target: string, messages: Message[]) => {
        let first: bigint | undefined;
        for (let i = 0; i < messages.length; i += 500) {
          const [sent] = await producer.send({
            topic: target,
            acks: -1,
            messages: messages.slice(i, i + 500),
          });
          first ??= BigInt(sent!.baseOffset!);
        }
        return first!;
      };
      firstOffset = await send(topic, [
        ...featureRows.map((row) => featureEventMessage(cardTransactionEvent(row))),
        ...skewed.map((row) => featureEventMessage(cardTransactionEvent(row))),
        { key: 'bad', value: '{' },
      ]);
      await send(
        labelTopic(model),
        featureRows.map((row) => ({ key: row.card_id, value: JSON.stringify(cardTransactionLabel(row)) })),
      );
      await producer.disconnect();
      const ingestor = new FeatureIngestor({
        kafka,
        db: platform.database.db,
        registered,
        logger: quietLogger(),
      });
      await ingestor.start();
      try {
        await eventually(
          async () => {
            const metrics = await getFeatureViewMetrics(platform.database.db, admin, registered);
            return metrics.totalLag === 0 && metrics.eventsIngested === events + skewedEvents
              ? metrics
              : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 200, what: 'feature events ingested' },
        );
      } finally {
        await ingestor.stop();
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * The champion's traffic over the last hour as gateways count it (the gateway's own recorder,
   * with its clock set back), stopping six minutes ago: a quiet minute or two, then an incident of
   * slow and failing requests from 30 to 25 minutes ago.
   */
  async function seedServingStats() {
    const endpoint = (await platform.api<EndpointConfig>('GET', `/endpoints/${endpointName}`)).body;
    let clock = 0;
    const recorder = new StatsRecorder({
      db: platform.database.db,
      gatewayId: 'dashboard-test',
      logger: quietLogger(),
      now: () => clock,
    });
    const subject = {
      projectId: platform.project.id,
      endpointId: endpoint.id,
      endpoint: endpoint.name,
      versionId: endpoint.champion!.versionId,
      version: endpoint.champion!.version,
      role: 'champion' as const,
    };
    const start = Math.floor(Date.now() / 60_000) * 60_000;
    for (let minute = 55; minute >= 6; minute--) {
      if (minute === 40 || minute === 41) continue;
      const incident = minute <= 30 && minute > 25;
      for (let tick = 0; tick < 6; tick++) {
        clock = start - minute * 60_000 + tick * 10_000;
        const count = 4 + (minute % 5);
        const errors = incident && tick % 2 === 0 ? 1 : 0;
        recorder.record(subject, {
          count,
          errors,
          latencyMs: incident ? 60 + tick * 15 : 2 + (tick % 3) * 3,
          status: errors ? 500 : 200,
          predictions: Array.from({ length: count - errors }, (_, i) => ((i + tick) % 10) / 10),
        });
      }
    }
    await recorder.stop();
    expect(recorder.insertedRows).toBeGreaterThan(0);
  }

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'shepherd-dashboard-'));
    // The build is independent of the platform: run it while the worker bundles and trains.
    const built = build({
      root: dashboardDir,
      configFile: join(dashboardDir, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    platform = await startPlatform();

    // The browser's API: the platform's database and task queue, with Kafka so feature views report lag.
    kafka = createKafka({
      brokers: platform.env.KAFKA_BROKERS,
      clientId: 'dashboard-test',
      retries: 10,
    });
    const temporal = await connectTemporal({
      address: platform.env.TEMPORAL_ADDRESS,
      namespace: platform.env.TEMPORAL_NAMESPACE,
      dataConverter: dataConverterFor(platform.payloadKeys),
    });
    api = buildApp({
      logger: quietLogger(),
      readiness: [],
      services: {
        db: platform.database.db,
        temporal: temporal.client,
        mlflow: platform.mlflow,
        kafka,
        trainingTaskQueue: platform.taskQueue,
        // Rollouts and rollbacks run on the platform's test worker too.
        mainTaskQueue: platform.taskQueue,
      },
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const address = api.server.address();
    apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    closeApi = async () => {
      await api.close();
      await temporal.connection.close();
    };

    const features = seedFeatures(kafka);
    await Promise.all([seedModels(features), features, built]);
    await seedServingStats();

    // Pages poll every second, so a rollout's next state shows up quickly.
    process.env.DASHBOARD_POLL_INTERVAL_MS = '1000';
    const proxy = { '/v1': apiUrl, '/readyz': apiUrl, '/healthz': apiUrl };
    server = await preview({
      root: dashboardDir,
      configFile: join(dashboardDir, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir },
      preview: { host: '127.0.0.1', port: 0, strictPort: false, proxy },
    });
    baseUrl = server.resolvedUrls?.local[0]?.replace(/\/$/, '') ?? '';
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await mkdir(screenshots, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await closeApi?.();
    await platform?.stop();
    await rm(outDir, { recursive: true, force: true });
  });

  /** The viewport; `fullPage` for pages whose charts go below it. */
  const shoot = (name: string, options: { fullPage?: boolean } = {}) =>
    page.screenshot({ path: join(screenshots, `${name}.png`), ...options });
  const go = async (hash: string) => {
    await page.goto(`${baseUrl}/${hash}`);
    await page.locator('main').first().waitFor();
  };

  it('refuses a wrong token and signs in with the right one, which names its project', async () => {
    await page.goto(baseUrl);
    await page.getByLabel('API token').fill('shp_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByRole('alert').textContent()).toMatch(/token was not accepted/);
    await shoot('sign-in');

    await page.getByLabel('API token').fill(platform.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    // No project was asked for: whoami told the dashboard, and the event stream opened for it.
    const header = page.locator('header.top');
    expect(await header.textContent()).toContain(platform.project.name);
    expect(await header.textContent()).toContain('test-admin · admin');
    await poll(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    // The token stays in this tab's session storage only.
    expect(await page.evaluate(() => sessionStorage.getItem('shepherd.session'))).toContain(
      platform.adminToken,
    );
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
  });

  it('overview: the endpoint with its traffic and SLO, rollouts and alerts', async () => {
    await go('#/overview');
    const endpoints = page.getByTestId('overview-endpoints');
    await poll(() => endpoints.textContent()).toContain(endpointName);
    const card = (await endpoints.textContent()) ?? '';
    expect(card).toContain(model);
    expect(card).toContain('champion v1 100%');
    expect(card).toContain('no traffic');
    await poll(() => page.getByRole('region', { name: 'Rollouts in progress' }).textContent()).toContain(
      'No rollout in progress',
    );
    await poll(() => page.getByRole('region', { name: 'Firing alerts' }).textContent()).toContain(
      'No alerts firing',
    );
    await shoot('overview');
  });

  it('models: the model with its champion', async () => {
    await go('#/models');
    const row = page.getByTestId('models-table').getByRole('row', { name: new RegExp(model) });
    await poll(() => row.textContent()).toContain('champion v1');
    await shoot('models');
  });

  it('model: versions with metrics against the champion and gate results', async () => {
    await page.getByRole('link', { name: model }).click();
    const versions = page.getByTestId('versions-table');
    await versions.waitFor();
    const row = (version: number) => versions.getByRole('row', { name: new RegExp(`^v${version}\\b`) });
    await poll(() => versions.locator('tbody tr').count()).toBe(3);
    const rejectedRow = (await row(rejected.version).textContent()) ?? '';
    expect(rejectedRow).toMatch(/rejected/);
    expect(rejectedRow).toMatch(/of \d+ failed/);
    // The rejected version's roc_auc and its change against the champion (a drop).
    expect(rejectedRow).toContain(rejected.metrics.roc_auc!.toFixed(4));
    expect(rejectedRow).toContain(`−${Math.abs(rejected.metrics.roc_auc! - v1.metrics.roc_auc!).toFixed(4)}`);
    expect(await row(candidate.version).textContent()).toMatch(/challenger.*validated.*passed/);
    expect(await row(1).textContent()).toMatch(/champion.*production/);
    await poll(() => page.getByTestId('trainings-table').locator('tbody tr').count()).toBe(3);
    await shoot('model');
  });

  it('version: failed gates, metrics against the champion, artifact and links', async () => {
    await page
      .getByRole('link', { name: `v${rejected.version}`, exact: true })
      .first()
      .click();
    await page.getByTestId('gates-table').waitFor();
    const failedGates = rejected.evaluation!.gates.filter((gate) => !gate.passed);
    expect(failedGates.length).toBeGreaterThan(0);
    const gateRows = page.getByTestId('gates-table').locator('tbody tr');
    expect(await gateRows.count()).toBe(rejected.evaluation!.gates.length);
    expect(await page.getByTestId('gates-table').getByText('failed', { exact: true }).count()).toBe(
      failedGates.length,
    );
    expect(await page.getByTestId('failure-reason').textContent()).toContain('roc_auc');
    const metrics = await page.getByTestId('metrics-table').textContent();
    expect(metrics).toContain('Champion (v1)');
    expect(metrics).toContain(rejected.evaluation!.champion!.holdout.roc_auc!.toFixed(4));
    expect(await page.getByTestId('artifact-sha256').textContent()).toBe(rejected.artifactSha256);
    expect(await page.getByTestId('artifact-uri').textContent()).toBe(rejected.artifactUri);
    expect(await page.getByRole('link', { name: rejected.mlflowRunId! }).getAttribute('href')).toBe(
      `${mlflowUi}/#/runs/${rejected.mlflowRunId}`,
    );
    const workflowId = rejected.tags['shepherd.workflow_id']!;
    expect(await page.getByRole('link', { name: workflowId }).getAttribute('href')).toBe(
      `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
    );
    await shoot('version');
  });

  it('lineage: the graph from a version, details on click, and navigation upstream', async () => {
    await page.getByRole('link', { name: 'Show the lineage graph' }).click();
    const graph = page.getByTestId('lineage-graph');
    // training set → MLflow run → version
    await poll(() => graph.locator('.react-flow__node').count()).toBe(3);
    await poll(() => graph.locator('.react-flow__edge').count()).toBe(2);
    const details = page.getByTestId('node-details');
    expect(await details.locator('h2').textContent()).toContain(`${model} v${rejected.version}`);

    // Clicking the run selects it: its details link to MLflow, the version is downstream.
    await graph.locator('.react-flow__node', { hasText: 'Run' }).click();
    await poll(() => details.locator('h2').textContent()).toMatch(/^Run:/);
    expect(await details.getByRole('link', { name: /Open the run/ }).getAttribute('href')).toBe(
      `${mlflowUi}/#/runs/${rejected.mlflowRunId}`,
    );
    expect(await details.textContent()).toMatch(/Upstream \/ downstream\s*1 \/ 1 nodes/);
    expect(await graph.locator('.lineage-node.tone-upstream').count()).toBe(1);
    expect(await graph.locator('.lineage-node.tone-downstream').count()).toBe(1);
    await shoot('lineage');

    // Up to the training set with the keyboard-usable neighbour list, then re-root there.
    await details.getByRole('button', { name: /Training set/ }).click();
    await poll(() => details.locator('h2').textContent()).toMatch(/^Training set:/);
    expect(await details.textContent()).toContain(`${model} v${rejected.version}`);
    await details.getByRole('link', { name: 'Trace lineage from this node' }).click();
    await poll(() => page.url()).toContain(`#/lineage/training_set/${rejected.trainingSetId}`);
    await poll(() => graph.locator('.react-flow__node').count()).toBe(3);
    expect(await details.locator('h2').textContent()).toMatch(/^Training set:/);
  });

  it('feature views: events ingested, DLQ, lag, a clock running ahead, and a parity check run from the UI', async () => {
    await go('#/features');
    const row = page.getByTestId('features-table').locator('tbody > tr').first();
    await poll(() => row.textContent()).toContain((events + skewedEvents).toLocaleString('en-US'));
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('card_transactions');
    expect(text).toContain(topic);
    // One malformed event went to the DLQ; the newest event time is two hours ahead of the clock.
    expect(await row.locator('td').nth(2).textContent()).toBe('1');
    expect(await row.locator('td').nth(3).textContent()).toMatch(/^0/);
    expect(text).toMatch(/newest event [\d.]+ h in the future/);

    // No check yet; one run from the page finds the two entities whose newest event is not due yet.
    const parity = page.getByTestId('parity-report');
    await poll(() => parity.textContent()).toContain('No parity check yet');
    await parity.getByRole('button', { name: 'Run parity check' }).click();
    const summary = parity.getByTestId('parity-summary');
    await poll(() => summary.count()).toBe(1);
    const stored = await platform.api<{ reports: ParityReport[] }>(
      'GET',
      `/feature-views/${cardTransactionsV2.name}/parity-checks?limit=1`,
    );
    const report = stored.body.reports[0]!;
    expect(report.mismatchedEntities).toBe(skewedEvents);
    await poll(() => summary.textContent()).toContain('parity alert firing');
    expect(await summary.textContent()).toContain(
      `${report.sampled.toLocaleString('en-US')} entities sampled · ${skewedEvents} differ (${(report.mismatchRate * 100).toFixed(2)}%)`,
    );
    expect(await parity.locator('h2 .badge').textContent()).toBe('failing');
    const fields = (await parity.getByTestId('parity-fields').textContent()) ?? '';
    expect(fields).toContain('event_time');
    expect(fields).toContain(`${report.byField['event_time']}`);
    const examples = (await parity.getByTestId('parity-examples').textContent()) ?? '';
    for (const mismatch of report.mismatches.slice(0, 10)) expect(examples).toContain(mismatch.entity);

    // A monitor started from the page, then stopped from it.
    const monitor = parity.getByTestId('parity-monitor');
    await poll(() => monitor.textContent()).toContain('No monitor');
    await monitor.getByRole('button', { name: 'Check every 15 min' }).click();
    await poll(() => monitor.textContent()).toContain('Monitor: a check every 15 min, started by');
    const started = await platform.api<{ state: string; config: { everySeconds: number } }>(
      'GET',
      `/feature-views/${cardTransactionsV2.name}/parity-monitor`,
    );
    expect(started.body).toMatchObject({ state: 'running', config: { everySeconds: 900 } });
    await shoot('features', { fullPage: true });
    await monitor.getByRole('button', { name: 'Stop monitor' }).click();
    await poll(() => monitor.textContent()).toContain('No monitor');
    const stopped = await platform.api<{ state: string }>(
      'GET',
      `/feature-views/${cardTransactionsV2.name}/parity-monitor`,
    );
    expect(stopped.body.state).toBe('stopped');
  });

  it('audit log: the actions that seeded the project, with an intact chain', async () => {
    await go('#/audit');
    const table = page.getByTestId('audit-table');
    await table.waitFor();
    const text = (await table.textContent()) ?? '';
    expect(text).toContain('model.created');
    expect(text).toContain('feature_view.registered');
    await poll(() => page.getByText(/intact \(\d+ entries checked\)/).count()).toBe(1);
    await shoot('audit');
  });

  it('SLOs: objectives, windows, and latency, errors, throughput and burn over time', async () => {
    await go('#/slos');
    const section = page.getByTestId('slo-endpoint');
    await poll(() => section.textContent()).toContain(endpointName);
    const text = (await section.textContent()) ?? '';
    expect(text).toMatch(/objectives: p99 ≤ \d+ ms/);
    // The seeded traffic stopped six minutes ago: nothing in the last five.
    expect(text).toContain('no traffic');
    expect(await section.locator('table.slo-windows tbody tr').count()).toBeGreaterThan(0);

    // The last hour per minute, as the API sums it.
    const series = (
      await platform.api<SloSeries>('GET', `/endpoints/${endpointName}/slo/series?window=1h&step=1m`)
    ).body;
    const requests = series.points.reduce((sum, point) => sum + point.requests, 0);
    expect(requests).toBeGreaterThan(0);
    const charts = section.getByTestId('slo-charts');
    await poll(() => charts.getByTestId('slo-series-summary').textContent()).toContain(
      `${requests.toLocaleString('en-US')} requests · 60 points of 60 s`,
    );
    const points = (chart: string, name: string) =>
      charts.getByTestId(chart).locator(`path[data-series="${name}"]`).getAttribute('data-points');
    const withTraffic = series.points.filter((point) => point.requests > 0).length;
    expect(await points('chart-latency', 'p99')).toBe(String(withTraffic));
    expect(await points('chart-errors', 'error rate')).toBe(String(withTraffic));
    expect(await points('chart-throughput', 'requests/s')).toBe('60');
    // The incident burnt the error budget far faster than the fast-burn line.
    const worst = Math.max(...series.points.map((point) => point.burnRates.errors ?? 0));
    expect(worst).toBeGreaterThan(14.4);
    expect(await charts.getByTestId('chart-burn').textContent()).toContain('fast burn 14.4×');
    await shoot('slos', { fullPage: true });

    // Six hours in five-minute steps; then the champion's own series.
    await page.getByRole('button', { name: '6 hours' }).click();
    await poll(() => charts.getByTestId('slo-series-summary').textContent()).toContain(
      `${requests.toLocaleString('en-US')} requests · 72 points of 300 s`,
    );
    await charts.getByLabel('Series').selectOption({ label: 'v1 champion' });
    expect(await points('chart-throughput', 'requests/s')).toBe('72');
    await page.getByRole('button', { name: '1 hour' }).click();
  });

  it('rollout: approving the manual gate and rolling back from the UI change the rollout', async () => {
    // Started by someone else: whoever starts a rollout may not approve it (four eyes).
    const starter = await platform.api<{ token: string }>('POST', '/tokens', {
      name: 'release-bot',
      role: 'approver',
    });
    expect(starter.status).toBe(201);
    const started = await fetch(
      `${apiUrl}/v1/projects/${platform.projectSlug}/endpoints/${endpointName}/rollouts`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${starter.body.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          requestId: `dash-${randomUUID()}`,
          version: candidate.version,
          steps: [
            { weight: 20, bakeSeconds: 0, manualApproval: true },
            { weight: 50, bakeSeconds: 0, manualApproval: true },
            { weight: 100, bakeSeconds: 0 },
          ],
        }),
      },
    );
    expect(started.status, await started.clone().text()).toBe(202);
    const rollout = (await started.json()) as { id: string };
    const state = async () => {
      const response = await platform.api<{ state: string; step: number; weight: number }>(
        'GET',
        `/rollouts/${rollout.id}`,
      );
      return response.body;
    };

    await go('#/rollouts');
    const link = page.getByTestId('rollouts-table').getByRole('link', { name: new RegExp(endpointName) });
    await poll(() => page.getByTestId('rollouts-table').textContent()).toContain('awaiting approval');
    await shoot('rollouts');
    await link.click();
    await page.getByTestId('rollout-steps').waitFor();

    // Approve the first gate: traffic moves to 20 % and the rollout waits at the second gate.
    await page.getByRole('button', { name: 'Approve step' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Approve step' }).click();
    await poll(state).toMatchObject({ state: 'awaiting_approval', step: 0, weight: 20 });
    await poll(() => page.locator('main').textContent()).toContain(`candidate v${candidate.version} 20%`);
    expect(await page.locator('[aria-current="step"]').textContent()).toContain('Step 1: 20%');
    await shoot('rollout');

    // Roll back, with a reason: the rollout stops and the champion takes all traffic again.
    await page.getByRole('button', { name: 'Roll back endpoint' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('latency looks wrong');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await poll(async () => (await state()).state).toBe('rolled_back');
    await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('rolled back');
    const shown = (await page.locator('main').textContent()) ?? '';
    expect(shown).toContain('latency looks wrong');
    expect(shown).toContain('champion v1 100%');
    const endpoint = await platform.api<{ candidateWeight: number; champion: { version: number } }>(
      'GET',
      `/endpoints/${endpointName}`,
    );
    expect(endpoint.body).toMatchObject({ candidateWeight: 0, champion: { version: 1 } });
  });

  it('alerts: the failed rollout’s alert, acknowledged from the UI', async () => {
    // Rolling back the rollout above raised it (the worker's rollout_failed alert).
    let alert: AlertView | undefined;
    await poll(async () => {
      const response = await platform.api<{ alerts: AlertView[] }>('GET', '/alerts?state=firing');
      alert = response.body.alerts.find((candidate) => candidate.kind === 'rollout_failed');
      return alert;
    }).toBeDefined();
    expect(alert).toMatchObject({ kind: 'rollout_failed', severity: 'critical', state: 'firing' });

    await go('#/alerts');
    const row = page.locator(`[data-alert-id="${alert!.id}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain(alert!.summary);
    expect(text).toContain('critical');
    expect(text).toContain('rollout failed · rollout');
    // No docs base URL is configured: the runbook's repository path is shown as text.
    expect(text).toContain('runbook docs/runbooks/failed-rollout.md');
    expect(await row.getByRole('link', { name: /^rollout / }).getAttribute('href')).toBe(
      `#/rollouts/${alert!.subject.id}`,
    );
    await shoot('alerts');

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note (optional)').fill('on it');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    // Open alerts are shown: the row stays, now acknowledged by the signed-in token.
    await poll(() => row.textContent()).toMatch(/acknowledged\s*by token:test-admin/);
    const after = await platform.api<AlertView>('GET', `/alerts/${alert!.id}`);
    expect(after.body).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'token:test-admin' });

    await row.getByRole('link', { name: alert!.summary }).click();
    const facts = page.getByTestId('alert-facts');
    await poll(() => facts.textContent()).toContain('by token:test-admin');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('acknowledged');
    expect(await page.getByTestId('alert-actions').getByRole('button').allTextContents()).toEqual([
      'Resolve',
      'Roll back endpoint',
      'Retrain',
    ]);
    await shoot('alert');
  });

  it('lineage navigation from an alert back to the Kafka offsets the candidate was trained on', async () => {
    // On the acknowledged alert's page (the test above): its lineage, one neighbour at a time.
    await page.getByRole('link', { name: 'trace where it came from' }).click();
    const details = page.getByTestId('node-details');
    await poll(() => details.locator('h2').textContent()).toMatch(/^Alert:/);
    const upstream = async (neighbour: RegExp, heading: RegExp) => {
      await details.getByRole('button', { name: neighbour }).click();
      await poll(() => details.locator('h2').textContent()).toMatch(heading);
    };
    await upstream(new RegExp(`^Deployment ${endpointName}$`), new RegExp(`^Deployment: ${endpointName}$`));
    expect(await details.getByRole('link', { name: endpointName }).getAttribute('href')).toBe(
      `#/slos/${endpointName}`,
    );
    await upstream(new RegExp(`^Model version ${model} v${candidate.version}$`), /^Model version:/);
    await upstream(/^Run /, /^Run:/);
    await upstream(/^Training set /, /^Training set:/);
    // The set's upstream: the feature view it joined, and the offsets it read (features and labels).
    expect(
      await details
        .getByRole('button', {
          name: new RegExp(`^Feature view ${cardTransactionsV2.name}@${cardTransactionsV2.version}$`),
        })
        .count(),
    ).toBe(1);
    await upstream(new RegExp(`^Kafka offsets ${topic.slice(0, 8)}`), /^Kafka offsets:/);

    // What the training set recorded, and where the events really are on the topic.
    const set = await getTrainingSet(
      { db: platform.database.db, projectId: platform.project.id, actor: 'test' },
      candidate.trainingSetId!,
    );
    const manifest = (set.manifest as { pointInTime: PointInTimeManifest }).pointInTime;
    const view = manifest.views.find((entry) => entry.name === cardTransactionsV2.name)!;
    expect(view.topic).toBe(topic);
    expect(view.offsets).toEqual([
      { partition: 0, from: String(firstOffset), to: String(firstOffset + BigInt(events)) },
    ]);
    await poll(() => details.getByTestId('offset-topic').textContent()).toBe(topic);
    expect(await details.getByTestId('offset-ranges').textContent()).toBe(
      `partition 0: offsets ${firstOffset} – ${firstOffset + BigInt(events) - 1n} (${events.toLocaleString('en-US')} messages)`,
    );
    expect(await details.getByTestId('offset-rows').textContent()).toBe(
      `${view.offlineRowsRead.toLocaleString('en-US')} offline rows`,
    );
    await shoot('lineage-offsets');
  });

  it('live: an audit event over the stream refreshes the audit log without polling or reload', async () => {
    await go('#/audit');
    await page.getByTestId('audit-table').waitFor();
    await poll(() => page.getByTestId('live-status').getAttribute('data-status')).toBe('live');
    // Connecting refreshes the page once (it may have missed events before the stream was up); let
    // that settle before counting reads.
    await page.waitForTimeout(700);
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    const auditReads: number[] = [];
    const onRequest = (request: { url: () => string }) => {
      if (/\/audit\?/.test(request.url())) auditReads.push(Date.now());
    };
    page.on('request', onRequest);
    try {
      // Three poll intervals (1 s here): polling would read at least twice. One read is allowed: an
      // audit event from the platform's own background work refreshes the page, as it should.
      await page.waitForTimeout(3000);
      expect(auditReads.length).toBeLessThanOrEqual(1);
      auditReads.length = 0;

      const name = `live-${randomUUID().slice(0, 8)}`;
      const created = await platform.api<ModelView>('POST', '/models', { name });
      expect(created.status).toBe(201);
      const firstRow = page.getByTestId('audit-table').locator('tbody tr').first();
      await poll(() => firstRow.textContent()).toContain(created.body.id.slice(0, 12));
      expect(await firstRow.textContent()).toContain('model.created');
      expect(auditReads.length).toBeGreaterThan(0);
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
        true,
      );
    } finally {
      page.off('request', onRequest);
    }
  });

  it('drift: per-feature scores over time with thresholds, and reference vs current histograms', async () => {
    await go(`#/drift/${endpointName}`);
    await page.getByRole('heading', { name: `Drift: ${endpointName}`, exact: true }).waitFor();
    await poll(() => page.getByTestId('drift-monitor').textContent()).toContain(
      'No drift monitor watches this endpoint',
    );
    expect(await page.locator('main .state-empty').textContent()).toContain('No drift measured yet');
    expect(await page.getByRole('alert').count()).toBe(0);

    // A monitor run by the worker; the test plays the gateways' prediction log.
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: predictionsTopic, numPartitions: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const monitor = await platform.api('POST', `/endpoints/${endpointName}/monitor`, {
      windowSeconds: 1,
      baselineWindows: 2,
      minRows: 40,
      predictionsTopic,
      labelsTopic: `${predictionsTopic}-labels`,
    });
    expect(monitor.status, JSON.stringify(monitor.body)).toBe(202);
    const endpoint = (await platform.api<EndpointConfig>('GET', `/endpoints/${endpointName}`)).body;
    // Drawn at random from the champion's training data (in order, neighbouring rows share cards
    // and hours); then amounts beyond anything in training (another unit, say) and distances gone wrong.
    const training = [...generateFraudRows({ rows: 3000, seed: 1 })];
    const largest = Math.max(...training.map((row) => row.amount));
    const corrupt = (row: FraudRow): FraudRow => ({
      ...row,
      amount: row.amount + largest,
      log_amount: row.log_amount + 3,
      distance_from_home_km: row.distance_from_home_km * 6 + 50,
    });
    let drifted = false;
    let stop = false;
    const producer = kafka.producer();
    await producer.connect();
    const playing = (async () => {
      while (!stop) {
        const batch: PredictionEvent[] = Array.from({ length: 60 }, () => {
          const clean = training[Math.floor(Math.random() * training.length)]!;
          const row = drifted ? corrupt(clean) : clean;
          return {
            schemaVersion: 1,
            predictionId: randomUUID(),
            projectId: platform.project.id,
            endpoint: endpoint.name,
            model: endpoint.modelName,
            versionId: endpoint.champion!.versionId,
            version: endpoint.champion!.version,
            role: 'champion',
            entityId: row.card_id,
            features: Object.fromEntries(fraudFeatureNames.map((name) => [name, row[name]])),
            prediction: Math.min(1, row.merchant_risk),
            latencyMs: 2,
            at: new Date().toISOString(),
          };
        });
        await producer.send({
          topic: predictionsTopic,
          messages: batch.map((event) => ({ key: event.endpoint, value: JSON.stringify(event) })),
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const reports = async () =>
      (await platform.api<{ reports: DriftReportView[] }>('GET', `/endpoints/${endpointName}/drift`)).body
        .reports;
    const skewOf = (report: DriftReportView | undefined) =>
      report?.signals
        .find((signal) => signal.signal === 'skew')
        ?.features.find((f) => f.feature === 'amount');
    try {
      await eventually(
        async () => ((await reports()).filter((r) => skewOf(r)).length >= 2 ? true : undefined),
        {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: 'two judged windows of clean traffic',
        },
      );
      drifted = true;
      // Two drifted windows in a row, so the line shows where it went.
      await eventually(
        async () =>
          (await reports()).slice(-2).every((report) => skewOf(report)?.drifted) ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 250, what: 'two windows with the amounts drifted' },
      );
    } finally {
      stop = true;
      await playing;
      await producer.disconnect();
      const stopped = await platform.api('POST', `/endpoints/${endpointName}/monitor/stop`);
      expect(stopped.status).toBe(200);
    }
    // A window already under way when the monitor stopped still reports: wait for the last.
    let seen = -1;
    await eventually(
      async () => {
        const count = (await reports()).length;
        if (count === seen) return true;
        seen = count;
        return undefined;
      },
      { timeoutMs: 20_000, intervalMs: 1200, what: 'the last window reported' },
    );

    // The page: the monitor, a table of features, and the drifted amount in detail.
    await poll(() => page.getByTestId('drift-monitor').textContent()).toMatch(/Monitor\s*stopped/);
    const table = page.getByTestId('drift-table');
    const amountSkew = table
      .locator('tbody tr')
      .filter({ has: page.getByRole('button', { name: 'amount', exact: true }) })
      .filter({ has: page.getByRole('cell', { name: 'skew', exact: true }) });
    await poll(() => amountSkew.count()).toBe(1);
    await amountSkew.getByRole('button', { name: 'amount', exact: true }).click();
    const detail = page.getByTestId('drift-feature');
    await poll(() => detail.locator('h2').textContent()).toMatch(/^amount · skew\s*drifted/);
    const all = await reports();
    const scored = all.filter((report) => skewOf(report)?.score !== null && skewOf(report) !== undefined);
    await poll(() =>
      detail.getByTestId('drift-score-chart').locator('path[data-series]').getAttribute('data-points'),
    ).toBe(String(scored.length));
    const threshold = skewOf(scored.at(-1))!.threshold;
    expect(await detail.getByTestId('drift-score-chart').textContent()).toContain(
      `threshold ${Number.isInteger(threshold) ? threshold : threshold.toFixed(4)}`,
    );

    // The histogram: the window's amounts on the training profile's bins, all beyond its range.
    const histogram = (
      await platform.api<{
        current: { total: number; below: number; above: number; missing: number };
        window: { sequence: number };
      }>('GET', `/endpoints/${endpointName}/drift/histogram?feature=amount`)
    ).body;
    expect(histogram.current.above).toBeGreaterThan(0);
    const summary = detail.getByTestId('drift-histogram-summary');
    await poll(() => summary.textContent()).toContain(
      `${histogram.current.total.toLocaleString('en-US')} values, ${histogram.current.below.toLocaleString('en-US')} below and ${histogram.current.above.toLocaleString('en-US')} above the training range, ${histogram.current.missing} missing.`,
    );
    expect(await detail.getByTestId('drift-histogram').locator('figcaption').textContent()).toBe(
      `amount: training reference vs window ${histogram.window.sequence}`,
    );
    expect(await detail.locator('[data-bin^="> "]').count()).toBe(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shoot('drift');
  });
});
