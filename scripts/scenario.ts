import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore } from '@shepherd/artifacts/store';
import { dataConverterFor } from '@shepherd/clients/codec';
import { createKafka } from '@shepherd/clients/kafka';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { AlertView } from '@shepherd/contracts/alerts';
import type { DriftMonitorView } from '@shepherd/contracts/drift';
import { labelTopic, type ParityMonitorView, type ParityReport } from '@shepherd/contracts/features';
import type { ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import type { EndpointConfig, PredictionResult, RolloutView } from '@shepherd/contracts/serving';
import { writeCsv } from '@shepherd/datagen/csv';
import { fraudFeatureNames, generateFraudRows } from '@shepherd/datagen/fraud';
import { cardTransactionsV1, cardTransactionsV2 } from '@shepherd/features/views';
import { ApiClient } from '../apps/cli/src/api-client.ts';
import { ping } from '../apps/worker/src/workflows/ping.ts';
import { championLineage } from './scenario-lineage.ts';
import {
  endingAt,
  startTraffic,
  streamFeatures,
  streamLabels,
  waitIngested,
  type Traffic,
} from './scenario-traffic.ts';

export interface ScenarioContext {
  log: (message: string) => void;
  env: Record<string, string>;
  apiUrl: string;
  gatewayUrl: string;
  dashboardUrl: string;
  /** An admin token of the default project. */
  token: string;
  links: { mlflow: string; temporal: string };
  /** Smaller data, shorter bakes and windows: for tests and impatient people. */
  fast: boolean;
}

export interface RolloutOutcome {
  version: number;
  state: string;
  analyses: number;
  passed: number;
  /** Checks that failed in the analysis that ended the rollout. */
  failedChecks: string[];
  reasons: string[];
  /** Approvals the reviewer gave: four-eyes promotion gates each plan before its final step. */
  approvals: number;
  /** The outcome of each analysis's parity check (the feature view's latest parity report). */
  parity: string[];
}

export interface ScenarioResult {
  model: string;
  endpoint: string;
  champion: number;
  championId: string | null;
  versions: { version: number; state: string; aliases: string[]; rocAuc: number | undefined }[];
  /** v1: trained from a point-in-time set of feature views and labels. */
  v1: { trainingSetId: string | null; fromViews: boolean };
  /** The parity check of the endpoint's feature view after week two's ingestion. */
  parity: { sampled: number; mismatchedEntities: number; monitor: string };
  /** v2's canary rollout under live traffic. */
  v2Rollout: RolloutOutcome;
  /** v3 (trained on a relabelling job's shuffled labels, gates skipped) and its automatic rollback. */
  v3Rollout: RolloutOutcome & { alert: string | null };
  /** On-call's manual rollback: the champion it restored and the alert raised. */
  manualRollback: { from: number; to: number; alert: string | null };
  /** The drifted stream: the alert, the retraining run and the retrained version's rollout. */
  drift: {
    alert: string | null;
    signal: string | null;
    retrainRun: string | null;
    rollout: RolloutOutcome | null;
  };
  /** Live predictions over the whole scenario, by version, and how many failed. */
  predictions: Record<string, number>;
  failedPredictions: number;
  labelsSent: number;
  /** The champion's upstream lineage, from Kafka offsets to the version and its deployment. */
  lineage: { nodes: string[]; topicRanges: string[] };
  seconds: number;
}

/**
 * Canary thresholds of the demo. Its windows are short (4 s of 80 requests/s) and its models are
 * retrained on twice the data from a few hundred frauds, which moves their calibration: between
 * good versions the output histograms differed by PSI 0.3-1.4 here, and accuracy at 0.5 (fraud
 * is 3 % of transactions) moves with it. The defaults (PSI 0.25, accuracy drop 0.05) suit longer
 * windows of stabler models; the broken version of act 5 misses these by far.
 */
const demoThresholds = {
  minRequests: 20,
  maxLatencyP99Ratio: 3,
  // The demo's processes share a laptop's cores (two in CI): tens of ms of scheduling noise.
  minLatencyIncreaseMs: 50,
  minLabels: 20,
  maxPredictionPsi: 5,
  maxAccuracyDrop: 0.2,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What the demo plays once the platform is up: a card-fraud model's whole life. Each act logs
 * what it does and where to look; the result says what happened, for the demo's test.
 */
export async function playScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const started = Date.now();
  const { log, env } = ctx;
  await pingWorker(ctx);
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\..*/, '')
    .replace('T', '-')
    .toLowerCase();
  const model = `card-fraud-${stamp}`;
  const endpoint = model;
  const api = new ApiClient(ctx.apiUrl, 'default', ctx.token);
  // A second person for four-eyes promotion (on by default): champion moves only once someone other
  // than who started the rollout approves it.
  const reviewer = new ApiClient(
    ctx.apiUrl,
    'default',
    (
      await api.call<{ token: string }>('POST', '/tokens', {
        name: `reviewer-${stamp}`,
        role: 'approver',
        expiresInDays: 1,
      })
    ).token,
  );
  const scale = ctx.fast ? 0.5 : 1;
  const kafka = createKafka({
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'shepherd-demo',
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  let traffic: Traffic | undefined;
  try {
    // Act 1: history. Two weeks of transactions; week one first.
    const history = endingAt(
      [...generateFraudRows({ rows: Math.round(24_000 * scale), seed: Date.now() % 100_000, days: 14 })],
      3_600_000,
    );
    const half = Math.floor(history.length / 2);
    await api.call<ModelView>('POST', '/models', {
      name: model,
      description: 'Card-transaction fraud (demo)',
    });
    await streamFeatures(producer, history.slice(0, half));
    await streamLabels(producer, labelTopic(model), history.slice(0, half));
    const ingested = await waitIngested(api);
    log(
      `act 1: ${half} card transactions streamed to ${cardTransactionsV1.sourceTopic}, their fraud labels (late) to ${labelTopic(model)}`,
    );
    log(
      `  feature store ${ingested.view} v${ingested.version}: ${ingested.eventsIngested} events ingested in all, ` +
        `lag ${ingested.totalLag}, ${ingested.dlqCount} in the DLQ`,
    );

    const golden = await goldenSet(ctx, model);
    const gates = { roc_auc: { threshold: 0.75, greaterIsBetter: true } };
    const fromViews = { views: [{ name: cardTransactionsV2.name, features: [...fraudFeatureNames] }] };
    const train = async (label: string, extra: Record<string, unknown>) => {
      const run = await api.call<TrainingRunView>('POST', `/models/${model}/trainings`, {
        requestId: `${stamp}-${label}`,
        trainer: { name: 'reference-sklearn', params: {} },
        data: fromViews,
        goldenSetUri: golden,
        gates,
        ...extra,
      });
      log(`  training ${label}: ${ctx.links.temporal}/namespaces/default/workflows/${run.workflowId}`);
      let current = run;
      while (current.state === 'running') {
        await sleep(1000);
        current = await api.call<TrainingRunView>('GET', `/trainings/${run.id}`);
      }
      const outcome =
        current.version === null ? current.state : `${current.state}, version ${current.version}`;
      log(`  training ${label}: ${outcome}${current.failureReason ? ` (${current.failureReason})` : ''}`);
      if (current.state === 'failed')
        throw new Error(`training ${label} failed: ${current.failureReason ?? ''}`);
      return current;
    };

    log('act 2: v1 trains on a point-in-time set (feature view + labels as of each label), passes its gates');
    const v1 = await train('v1', {});
    if (v1.state !== 'succeeded') throw new Error(`v1 was ${v1.state}: ${v1.failureReason ?? ''}`);
    log(`  v1 is champion; training set ${v1.trainingSetId ?? '-'}`);

    await api.call<EndpointConfig>('POST', '/endpoints', {
      name: endpoint,
      model,
      featureView: { name: cardTransactionsV2.name },
    });
    const first = await eventuallyServed(ctx, endpoint, history[half - 1]!.card_id);
    log(
      `act 3: endpoint ${endpoint} serves v${first.version} through the gateway ${ctx.gatewayUrl}: ` +
        `${history[half - 1]!.card_id} scores ${first.prediction.toFixed(4)} with features from the online store`,
    );
    const live = endingAt([...generateFraudRows({ rows: 6000, seed: 7, days: 1 })], 60_000);
    await streamFeatures(producer, live);
    traffic = startTraffic({ ...ctx, endpoint, model, producer, rows: live, ratePerSecond: 80 });
    log(
      '  live traffic: 80 transactions/s scored, each one labelled by the fraud team ~1 s after its answer',
    );

    const canary = (steps: { weight: number; bakeSeconds: number }[]) => ({
      mode: 'canary',
      canary: { endpoint, steps, analysisIntervalSeconds: 4, thresholds: demoThresholds },
    });
    const bake = ctx.fast ? 8 : 20;

    await streamFeatures(producer, history.slice(half));
    await streamLabels(producer, labelTopic(model), history.slice(half));
    await waitIngested(api);
    log(
      `act 4: week two (${history.length - half} transactions, labelled) ingested; v2 trains on both weeks`,
    );
    // The canary analyses read the view's latest parity report: a store whose online copy disagrees
    // with the offline one fails the rollout.
    const parity = await api.call<ParityReport>(
      'POST',
      `/feature-views/${cardTransactionsV2.name}/parity-checks`,
      { sampleSize: 1000 },
    );
    // A monitor keeps the report fresh (canary analyses trust one for an hour); a running one is
    // returned as it is, so a second demo on the same stack keeps the first one's monitor.
    const monitor = await api.call<ParityMonitorView>(
      'POST',
      `/feature-views/${cardTransactionsV2.name}/parity-monitor`,
      { everySeconds: 300, sampleSize: 1000 },
    );
    log(
      `  parity of ${parity.view} v${parity.version}: ${parity.mismatchedEntities} of ${parity.sampled} sampled ` +
        'entities differ between the online store and offline-as-of-now; the canary analyses check this report',
    );
    log(
      `  a parity monitor re-checks ${monitor.view} every ${monitor.config.everySeconds} s (${monitor.state})`,
    );
    const v2 = await train('v2', {
      policy: canary([
        { weight: 20, bakeSeconds: bake },
        { weight: 50, bakeSeconds: bake },
        { weight: 100, bakeSeconds: 0 },
      ]),
    });
    const v2Rollout = await followRollout(ctx, api, reviewer, v2, 'v2');
    if (v2Rollout.state !== 'succeeded')
      throw new Error(`v2's rollout ended ${v2Rollout.state}: ${v2Rollout.reasons.join('; ')}`);

    log(
      'act 5: v3 trains on labels from a buggy relabelling job (encoding flipped); a hotfix path skips its gates',
    );
    const relabelled = `${labelTopic(model)}.relabelled`;
    await streamLabels(producer, relabelled, history, { flipped: true });
    const v3 = await train('v3', {
      data: { ...fromViews, labelTopic: relabelled },
      gates: {},
      policy: canary([
        // Half the traffic, so the analyses have enough of it soon; any failed analysis ends it.
        { weight: 50, bakeSeconds: 4 * bake },
        { weight: 100, bakeSeconds: 0 },
      ]),
    });
    const v3Rollout = await followRollout(ctx, api, reviewer, v3, 'v3');
    const rollbackAlert = await alertAbout(
      api,
      (a) => a.kind === 'rollout_failed' && a.subject.id === v3.rolloutId,
    );
    log(`  alert: ${rollbackAlert?.summary ?? 'none'} (runbook ${rollbackAlert?.runbook ?? '-'})`);

    log('act 6: analysts report too many declines; on-call rolls the endpoint back by hand');
    const rollback = await api.call<{ kind: string; from?: number; to?: number }>(
      'POST',
      `/endpoints/${endpoint}/rollback`,
      { requestId: `${stamp}-rollback`, reason: 'demo: fraud analysts report too many declines' },
    );
    const manualAlert = await alertAbout(api, (a) => a.kind === 'rollback');
    log(`  v${rollback.from} → v${rollback.to}; alert: ${manualAlert?.summary ?? 'none'}`);

    log('act 7: a drift monitor watches the endpoint; its policy: retrain, gate and canary the new version');
    const windowSeconds = ctx.fast ? 4 : 10;
    await api.call<DriftMonitorView>('POST', `/endpoints/${endpoint}/monitor`, {
      windowSeconds,
      minRows: 100,
      fireAfterWindows: 2,
      baselineWindows: 3,
      policy: {
        action: 'auto_retrain',
        on: ['skew'],
        rollout: {
          steps: [
            { weight: 50, bakeSeconds: bake },
            { weight: 100, bakeSeconds: 0 },
          ],
          analysisIntervalSeconds: 4,
          // A model retrained on the new mix is expected to answer differently on it.
          thresholds: demoThresholds,
        },
      },
    });
    const drifted = endingAt([...generateFraudRows({ rows: 6000, seed: 8, days: 1, drift: true })], 0);
    // The drifted transactions reach the feature store; their labels come with the live answers.
    await streamFeatures(producer, drifted);
    await traffic.switchTo(drifted);
    log('  the stream drifts: spending moves online, to electronics and travel, amounts up by half');
    const drift = await followDrift(ctx, api, reviewer, endpoint, model);

    const { versions } = await api.call<{ versions: VersionView[] }>('GET', `/models/${model}/versions`);
    const champion = versions.find((version) => version.aliases.includes('champion'));
    await traffic.stop();
    const served = traffic.summary();
    log(
      `  the gateway answered ${served.ok} live predictions, ${served.failed} failed; ${served.labelled} labels sent`,
    );
    for (const version of [...versions].reverse()) {
      log(
        `  v${version.version}: ${version.state}${version.aliases.length ? ` [${version.aliases.join(', ')}]` : ''}, ` +
          `holdout roc_auc ${version.metrics.roc_auc?.toFixed(3) ?? '-'}, MLflow run ${version.mlflowRunId ?? '-'}`,
      );
    }
    const lineage = champion
      ? await championLineage(api, champion.id)
      : { nodes: [], topicRanges: [], lines: [] };
    log(`the champion's lineage (v${champion?.version ?? '-'}), from Kafka offsets to the endpoint:`);
    for (const line of lineage.lines) log(`  ${line}`);
    return {
      model,
      endpoint,
      champion: champion?.version ?? 0,
      championId: champion?.id ?? null,
      versions: versions.map((version) => ({
        version: version.version,
        state: version.state,
        aliases: version.aliases,
        rocAuc: version.metrics.roc_auc,
      })),
      v1: { trainingSetId: v1.trainingSetId, fromViews: true },
      parity: {
        sampled: parity.sampled,
        mismatchedEntities: parity.mismatchedEntities,
        monitor: monitor.state,
      },
      v2Rollout,
      v3Rollout: { ...v3Rollout, alert: rollbackAlert?.id ?? null },
      manualRollback: { from: rollback.from ?? 0, to: rollback.to ?? 0, alert: manualAlert?.id ?? null },
      drift,
      predictions: served.versions,
      failedPredictions: served.failed,
      labelsSent: served.labelled,
      lineage: { nodes: lineage.nodes, topicRanges: lineage.topicRanges },
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    await traffic?.stop();
    await producer.disconnect();
  }
}

/** A golden set the gates score every version on: fixed, large enough that a few hundred frauds decide. */
async function goldenSet(ctx: ScenarioContext, model: string): Promise<string> {
  const store = createArtifactStore({ ...ctx.env, ARTIFACT_DIR: join(process.cwd(), '.state', 'artifacts') });
  const dir = await mkdtemp(join(tmpdir(), 'shepherd-demo-'));
  try {
    const path = join(dir, 'golden.csv');
    await writeCsv(path, generateFraudRows({ rows: 40_000, seed: 99 }));
    return (await store.put(`demo/${model}/golden.csv`, { path })).uri;
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Follows the rollout a training run started, step by step, and says how it ended. */
async function followRollout(
  ctx: ScenarioContext,
  api: ApiClient,
  reviewer: ApiClient,
  run: TrainingRunView,
  label: string,
): Promise<RolloutOutcome> {
  if (!run.rolloutId)
    throw new Error(`${label} (${run.state}) started no rollout: ${run.failureReason ?? ''}`);
  return followRolloutById(ctx, api, reviewer, run.rolloutId);
}

/** Follows a rollout; at a gate the reviewer (not who started it) approves. */
async function followRolloutById(
  ctx: ScenarioContext,
  api: ApiClient,
  reviewer: ApiClient,
  id: string,
): Promise<RolloutOutcome> {
  const { log } = ctx;
  let rollout = await api.call<RolloutView>('GET', `/rollouts/${id}`);
  let shown = -1;
  let analyses = 0;
  let approvals = 0;
  let approvedStep = -1;
  for (;;) {
    if (rollout.state === 'awaiting_approval' && approvedStep !== rollout.step) {
      // Before any traffic moved the gate may be the first step's; later it is one past the current.
      const from = rollout.weight === 0 ? 0 : rollout.step + 1;
      const next = rollout.steps.findIndex((step, index) => index >= from && step.manualApproval);
      log(
        `  four eyes: v${rollout.candidate.version} waits for approval before ${rollout.steps[next]?.weight ?? 100} %; ` +
          `a reviewer (approver token, not who started it) approves`,
      );
      await reviewer.call('POST', `/rollouts/${id}/approve`, {});
      approvals++;
      approvedStep = rollout.step;
    }
    if (rollout.weight !== shown && rollout.weight > 0 && rollout.state === 'running') {
      log(
        `  rollout of v${rollout.candidate.version}: step ${rollout.step + 1}/${rollout.steps.length}, ${rollout.weight} %`,
      );
      shown = rollout.weight;
    }
    for (const analysis of rollout.analyses.slice(analyses)) {
      log(
        `    analysis at ${analysis.weight} %: ${analysis.verdict} (canary ${analysis.canary.requests} requests, champion ${analysis.champion.requests}; ` +
          analysis.checks
            .map(
              (check) =>
                `${check.name} ${check.outcome}${check.value === null ? '' : ` ${check.value.toFixed(3)}`}`,
            )
            .join(', ') +
          ')',
      );
    }
    analyses = rollout.analyses.length;
    if (!['pending', 'running', 'awaiting_approval', 'paused'].includes(rollout.state)) break;
    await sleep(500);
    rollout = await api.call<RolloutView>('GET', `/rollouts/${id}`);
  }
  log(`  rollout ${rollout.state}${rollout.reasons.length ? `: ${rollout.reasons.join('; ')}` : ''}`);
  const last = rollout.analyses.at(-1);
  return {
    version: rollout.candidate.version,
    state: rollout.state,
    analyses: rollout.analyses.length,
    passed: rollout.analyses.filter((a) => a.verdict === 'passed').length,
    failedChecks: last?.checks.filter((c) => c.outcome === 'failed').map((c) => c.name) ?? [],
    reasons: rollout.reasons,
    approvals,
    parity: rollout.analyses.flatMap((a) =>
      a.checks.filter((c) => c.name === 'parity').map((c) => c.outcome),
    ),
  };
}

/** Waits for the drift alert, the retraining it starts and the retrained version's rollout. */
async function followDrift(
  ctx: ScenarioContext,
  api: ApiClient,
  reviewer: ApiClient,
  endpoint: string,
  model: string,
): Promise<ScenarioResult['drift']> {
  const { log } = ctx;
  const deadline = Date.now() + 240_000;
  // The policy acts on the skew alert (other signals alert too); its retraining names the alert.
  let retrain: TrainingRunView | undefined;
  while (!retrain?.rolloutId) {
    if (Date.now() > deadline)
      throw new Error('the drifted stream started no retraining with a rollout in 4 minutes');
    await sleep(1000);
    const { trainings } = await api.call<{ trainings: TrainingRunView[] }>(
      'GET',
      `/models/${model}/trainings`,
    );
    retrain = trainings.find((run) => run.requestId.startsWith('retrain-'));
    if (retrain && retrain.state !== 'running' && retrain.state !== 'succeeded')
      throw new Error(`the retraining ${retrain.id} ended ${retrain.state}: ${retrain.failureReason ?? ''}`);
  }
  const alertId = retrain.requestId.slice('retrain-'.length);
  const { alerts } = await api.call<{ alerts: AlertView[] }>('GET', '/alerts');
  const alert = alerts.find((a) => a.id === alertId);
  log(`  alert: ${alert?.summary ?? alertId} (runbook ${alert?.runbook ?? '-'})`);
  log(`  the policy retrained the champion's recipe on everything labelled so far: v${retrain.version}`);
  const rollout = await followRolloutById(ctx, api, reviewer, retrain.rolloutId);
  await api.call('POST', `/endpoints/${endpoint}/monitor/stop`);
  const signal = alert?.dedupKey.split(':').at(-1) ?? null;
  return { alert: alertId, signal, retrainRun: retrain.id, rollout };
}

async function alertAbout(api: ApiClient, match: (alert: AlertView) => boolean) {
  const { alerts } = await api.call<{ alerts: AlertView[] }>('GET', '/alerts?state=firing');
  return alerts.find(match);
}

/** The control path end to end: a workflow started through Temporal runs on the worker. */
async function pingWorker({ log, env }: ScenarioContext): Promise<void> {
  const { client, connection } = await connectTemporal({
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    dataConverter: dataConverterFor(env.SHEPHERD_PAYLOAD_KEYS),
  });
  try {
    const result = await client.workflow.execute(ping, {
      taskQueue: 'shepherd-main',
      workflowId: `demo-ping-${randomUUID()}`,
      args: ['hello from the demo'],
      workflowExecutionTimeout: '1 minute',
    });
    log(`worker ${result.worker} is polling`);
  } finally {
    await connection.close();
  }
}

/** The gateway picks a new endpoint up within a poll; the first prediction shows what it does. */
async function eventuallyServed(ctx: ScenarioContext, endpoint: string, card: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const response = await fetch(`${ctx.gatewayUrl}/v1/endpoints/${endpoint}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ entityId: card }),
    });
    const body = (await response.json()) as { predictions?: PredictionResult[] };
    if (response.ok && body.predictions?.[0]) return body.predictions[0];
    if (Date.now() > deadline)
      throw new Error(`the gateway did not serve ${endpoint}: ${JSON.stringify(body)}`);
    await sleep(250);
  }
}
