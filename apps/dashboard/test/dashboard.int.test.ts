import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/src/app.ts';
import { createKafka } from '@shepherd/clients/kafka';
import { dataConverterFor } from '@shepherd/clients/codec';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { AlertView } from '@shepherd/contracts/alerts';
import type { ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import { generateFraudRows } from '@shepherd/datagen/fraud';
import { cardTransactionEvent } from '@shepherd/features/card-events';
import { FeatureIngestor } from '@shepherd/features/ingest';
import { getFeatureViewMetrics } from '@shepherd/features/metrics';
import { featureEventMessage } from '@shepherd/features/produce';
import { registerFeatureView } from '@shepherd/features/registry';
import { cardTransactionsV2 } from '@shepherd/features/views';
import { eventually, quietLogger } from '@shepherd/testing/platform';
import { startPlatform, type Platform } from '../../worker/test/harness.ts';

/**
 * The dashboard in headless Chromium against the real platform: the API on a database of its own,
 * versions trained by a real worker through Temporal and MLflow, a feature view fed through Kafka.
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
  const events = 120;
  const endpointName = 'fraud-scoring';
  let v1: VersionView;
  let rejected: VersionView;
  let candidate: VersionView;
  let apiUrl: string;

  /**
   * Versions through the real pipeline: v1 passes and becomes champion; then, side by side, one
   * trained on shuffled labels fails its gates (rejected) and one on fresh data passes (validated,
   * the rollout's candidate). Which of the two is v2 or v3 depends on which registers first.
   */
  async function seedModels() {
    const [good, fresh, broken] = await Promise.all([
      platform.dataset('good', { rows: 3000, seed: 1 }),
      platform.dataset('fresh', { rows: 3000, seed: 2 }),
      platform.dataset('broken', { rows: 3000, seed: 3, shuffleLabels: true }),
    ]);
    expect(
      (await platform.api<ModelView>('POST', '/models', { name: model, description: 'card fraud' })).status,
    ).toBe(201);
    const train = async (requestId: string, uri: string, gates: object) => {
      const started = await platform.api<TrainingRunView>('POST', `/models/${model}/trainings`, {
        requestId,
        trainer: { name: 'reference-sklearn', params: { max_iter: 50 } },
        data: { uri },
        gates,
      });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      return platform.waitForTraining(started.body.id, 90_000);
    };
    expect(await train('v1', good, aucGate)).toMatchObject({ state: 'succeeded', version: 1 });
    const [rejectedRun, candidateRun] = await Promise.all([
      train('broken', broken, beatChampion),
      train('fresh', fresh, aucGate),
    ]);
    expect(rejectedRun.state).toBe('rejected');
    expect(candidateRun.state).toBe('succeeded');
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

  /** A feature view on a fresh topic with `events` valid events and one that goes to the DLQ. */
  async function seedFeatures(kafka: ReturnType<typeof createKafka>) {
    const { registered } = await registerFeatureView(
      { db: platform.database.db, projectId: platform.project.id, actor: 'test' },
      { ...cardTransactionsV2, sourceTopic: topic },
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer();
      await producer.connect();
      const rows = [...generateFraudRows({ rows: events, seed: 5 })];
      await producer.send({
        topic,
        acks: -1,
        messages: [
          ...rows.map((row) => featureEventMessage(cardTransactionEvent(row))),
          { key: 'bad', value: '{' },
        ],
      });
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
            return metrics.totalLag === 0 && metrics.eventsIngested === events ? metrics : undefined;
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
    const kafka = createKafka({
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

    await Promise.all([seedModels(), seedFeatures(kafka), built]);

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

  const shoot = (name: string) => page.screenshot({ path: join(screenshots, `${name}.png`) });
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

  it('feature views: events ingested, DLQ, lag and freshness', async () => {
    await go('#/features');
    const row = page.getByTestId('features-table').locator('tbody > tr').first();
    await poll(() => row.textContent()).toContain(String(events));
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('card_transactions');
    expect(text).toContain(topic);
    // One malformed event went to the DLQ; the generated events are old, so the view is stale.
    expect(await row.locator('td').nth(2).textContent()).toBe('1');
    expect(await row.locator('td').nth(3).textContent()).toMatch(/^0/);
    expect(text).toMatch(/stale · [\d.]+ (d|h|min|s) old/);
    await shoot('features');
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

  it('SLOs: objectives and windows of the endpoint', async () => {
    await go('#/slos');
    const section = page.getByTestId('slo-endpoint');
    await poll(() => section.textContent()).toContain(endpointName);
    const text = (await section.textContent()) ?? '';
    expect(text).toMatch(/objectives: p99 ≤ \d+ ms/);
    expect(text).toContain('no traffic');
    expect(await section.locator('table.slo-windows tbody tr').count()).toBeGreaterThan(0);
    await shoot('slos');
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

  it('drift: the endpoint without a monitor says so', async () => {
    await go(`#/drift/${endpointName}`);
    await page.getByRole('heading', { name: `Drift: ${endpointName}`, exact: true }).waitFor();
    await poll(() => page.getByTestId('drift-monitor').textContent()).toContain(
      'No drift monitor watches this endpoint',
    );
    expect(await page.locator('main .state-empty').textContent()).toContain('No drift measured yet');
    expect(await page.getByRole('alert').count()).toBe(0);
    await shoot('drift');
  });
});
