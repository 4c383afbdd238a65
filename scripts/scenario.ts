import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore } from '@shepherd/artifacts/store';
import { dataConverterFor } from '@shepherd/clients/codec';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import { writeCsv } from '@shepherd/datagen/csv';
import { fraudFeatureNames, generateFraudRows, type FraudDataOptions } from '@shepherd/datagen/fraud';
import { createKafka } from '@shepherd/clients/kafka';
import type { OnlineFeaturesResponse } from '@shepherd/contracts/features';
import { cardTransactionEvent } from '@shepherd/features/card-events';
import { featureEventMessage } from '@shepherd/features/produce';
import { cardTransactionsV1, cardTransactionsV2 } from '@shepherd/features/views';
import type { AlertView } from '@shepherd/contracts/alerts';
import type { EndpointConfig, PredictionResult, RolloutView } from '@shepherd/contracts/serving';
import { startLoad } from '../apps/gateway/src/load.ts';
import { ApiClient } from '../apps/cli/src/api-client.ts';
import { ping } from '../apps/worker/src/workflows/ping.ts';

export interface ScenarioContext {
  log: (message: string) => void;
  env: Record<string, string>;
  apiUrl: string;
  gatewayUrl: string;
  /** An admin token of the default project. */
  token: string;
  links: { mlflow: string; temporal: string };
  /** Smaller data for tests and impatient people. */
  fast: boolean;
}

export interface ScenarioResult {
  model: string;
  champion: number;
  versions: { version: number; state: string; aliases: string[]; rocAuc: number | undefined }[];
  serving: {
    endpoint: string;
    /** The canary rollout of the version trained with the canary policy. */
    rollout: { version: number; state: string; analyses: number; passed: number };
    /** Predictions the gateway answered during the rollout, by version, and how many failed. */
    predictions: Record<string, number>;
    failedPredictions: number;
    /** After on-call's manual rollback: the champion the endpoint serves, and the alert raised. */
    championAfterRollback: number;
    rollbackAlert: string | null;
  };
}

/**
 * What the demo plays once the platform is up: a card-fraud model's life so far. Each capability
 * adds its act here.
 */
export async function playScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { log, env } = ctx;
  await pingWorker(ctx);

  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\..*/, '')
    .replace('T', '-')
    .toLowerCase();
  const model = `card-fraud-${stamp}`;
  const api = new ApiClient(ctx.apiUrl, 'default', ctx.token);
  const cards = await streamTransactions(ctx, api);
  await api.call<ModelView>('POST', '/models', { name: model, description: 'Card-transaction fraud (demo)' });
  log(`act 1: model ${model} created`);

  const scale = ctx.fast ? 0.25 : 1;
  const store = createArtifactStore({ ...env, ARTIFACT_DIR: join(process.cwd(), '.state', 'artifacts') });
  const dir = await mkdtemp(join(tmpdir(), 'shepherd-demo-'));
  const upload = async (name: string, options: FraudDataOptions) => {
    const path = join(dir, `${name}.csv`);
    const summary = await writeCsv(path, generateFraudRows(options));
    const { uri } = await store.put(`demo/${model}/${name}.csv`, { path });
    log(`  ${name}: ${summary.rows} transactions, ${summary.positives} fraudulent → ${uri}`);
    return uri;
  };
  log('act 2: generating card transactions with fraud labels');
  const data = {
    v1: await upload('january', { rows: Math.round(20_000 * scale), seed: 1 }),
    v2: await upload('january-march', { rows: Math.round(80_000 * scale), seed: 2 }),
    broken: await upload('mislabelled', { rows: Math.round(20_000 * scale), seed: 3, shuffleLabels: true }),
    v4: await upload('january-april', { rows: Math.round(100_000 * scale), seed: 4 }),
    // Large enough that a real improvement is not lost in the noise of a few hundred frauds.
    golden: await upload('golden', { rows: 40_000, seed: 99 }),
  };
  store.close();
  await rm(dir, { recursive: true, force: true });

  const gates = { roc_auc: { threshold: 0.8, minAbsoluteChange: 0, greaterIsBetter: true } };
  const train = async (label: string, uri: string, extra: Record<string, unknown> = {}) => {
    const run = await api.call<TrainingRunView>('POST', `/models/${model}/trainings`, {
      requestId: `${stamp}-${label}`,
      trainer: { name: 'reference-sklearn', params: {} },
      data: { uri },
      goldenSetUri: data.golden,
      gates,
      ...extra,
    });
    log(`  training ${label}: workflow ${ctx.links.temporal}/namespaces/default/workflows/${run.workflowId}`);
    let current = run;
    while (current.state === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      current = await api.call<TrainingRunView>('GET', `/trainings/${run.id}`);
    }
    const outcome = current.version === null ? current.state : `${current.state}, version ${current.version}`;
    log(`  training ${label}: ${outcome}${current.failureReason ? ` (${current.failureReason})` : ''}`);
    return current;
  };

  log('act 3: v1 trains on January, passes its gates and becomes champion');
  const v1 = await train('v1', data.v1);
  log('act 4: v2 trains on three months, beats the champion on the same holdout, is approved');
  const v2 = await train('v2', data.v2);
  if (v2.state === 'succeeded' && v2.version !== null) {
    await api.call<VersionView>('POST', `/models/${model}/versions/${v2.version}/approve`);
    log(`  v${v2.version} approved: champion`);
  }
  log('act 5: a model trained on mislabelled data is rejected by its gates');
  await train('broken', data.broken);

  if (v1.state !== 'succeeded') throw new Error(`v1 did not succeed: ${v1.failureReason ?? v1.state}`);
  const serving = await serveAndRollOut(ctx, api, { model, stamp, cards, train, data: data.v4 });

  const { versions } = await api.call<{ versions: VersionView[] }>('GET', `/models/${model}/versions`);
  const champion = versions.find((version) => version.aliases.includes('champion'));
  for (const version of [...versions].reverse()) {
    log(
      `  v${version.version}: ${version.state}${version.aliases.length ? ` [${version.aliases.join(', ')}]` : ''}, ` +
        `holdout roc_auc ${version.metrics.roc_auc?.toFixed(3) ?? '-'}, MLflow run ${version.mlflowRunId ?? '-'}`,
    );
  }
  return {
    serving,
    model,
    champion: champion?.version ?? 0,
    versions: versions.map((version) => ({
      version: version.version,
      state: version.state,
      aliases: version.aliases,
      rocAuc: version.metrics.roc_auc,
    })),
  };
}

/**
 * Card transactions stream into Kafka; the ingestion process writes them to the offline and online
 * stores. Waits until the online store has the last transaction of a card, and shows its features.
 */
async function streamTransactions(ctx: ScenarioContext, api: ApiClient): Promise<string[]> {
  const { log, env } = ctx;
  const generated = [
    ...generateFraudRows({
      rows: ctx.fast ? 5_000 : 20_000,
      seed: Date.now() % 100_000,
      start: new Date(Date.now() - 7 * 86_400_000),
      days: 7,
    }),
  ];
  // The simulated week ends now, so the last transaction is the newest the store has seen (even
  // after earlier demo runs) and freshness reads as it would in production.
  const shiftMs = Date.now() - Date.parse(generated[generated.length - 1]!.event_time);
  const rows = generated.map((row) => ({
    ...row,
    event_time: new Date(Date.parse(row.event_time) + shiftMs).toISOString(),
  }));
  const kafka = createKafka({
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'shepherd-demo',
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  try {
    for (let i = 0; i < rows.length; i += 2000) {
      await producer.send({
        topic: cardTransactionsV1.sourceTopic,
        messages: rows.slice(i, i + 2000).map((row) => featureEventMessage(cardTransactionEvent(row))),
      });
    }
  } finally {
    await producer.disconnect();
  }
  log(`act 0: ${rows.length} card transactions streamed to ${cardTransactionsV1.sourceTopic}`);

  const last = rows[rows.length - 1]!;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const online = await api
      .call<OnlineFeaturesResponse>(
        'GET',
        `/feature-views/${cardTransactionsV1.name}/online?entity=${last.card_id}`,
      )
      .catch(() => undefined);
    const vector = online?.vectors[0];
    if (vector?.found && vector.values.transaction_id === last.transaction_id) {
      const { values, aggregates } = vector;
      log(
        `  online store, ${last.card_id}: amount ${String(values.amount)}, ${String(values.txn_count_24h ?? aggregates.txn_count_24h)} ` +
          `transactions in 24h (avg ${Number(aggregates.amount_avg_24h).toFixed(2)}), ${vector.ageSeconds}s old`,
      );
      return [...new Set(rows.map((row) => row.card_id))];
    }
    if (Date.now() > deadline)
      throw new Error('the feature store did not ingest the streamed transactions within 2 minutes');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** The control path end to end: a workflow started through Temporal runs on the worker. */
async function pingWorker({ log, env }: ScenarioContext): Promise<void> {
  const { client, connection } = await connectTemporal({
    address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    dataConverter: dataConverterFor(env.SHEPHERD_PAYLOAD_KEYS),
  });
  try {
    const workflowId = `demo-ping-${randomUUID()}`;
    const result = await client.workflow.execute(ping, {
      taskQueue: 'shepherd-main',
      workflowId,
      args: ['hello from the demo'],
      workflowExecutionTimeout: '1 minute',
    });
    log(`worker ${result.worker} is polling`);
  } finally {
    await connection.close();
  }
}

/**
 * Acts 6–8: the champion serves live predictions through the gateway, with features from the
 * online store; a version trained with the canary policy rolls out step by step under that traffic
 * and becomes champion; then on-call rolls back by hand and the previous champion returns.
 */
async function serveAndRollOut(
  ctx: ScenarioContext,
  api: ApiClient,
  options: {
    model: string;
    stamp: string;
    cards: string[];
    data: string;
    train: (label: string, uri: string, extra?: Record<string, unknown>) => Promise<TrainingRunView>;
  },
): Promise<ScenarioResult['serving']> {
  const { log } = ctx;
  const endpoint = options.model;
  const created = await api.call<EndpointConfig>('POST', '/endpoints', {
    name: endpoint,
    model: options.model,
    featureView: { name: cardTransactionsV2.name },
  });
  log(
    `act 6: endpoint ${endpoint} serves v${created.champion?.version} through the gateway (${ctx.gatewayUrl})`,
  );
  const first = await eventuallyServed(ctx, endpoint, options.cards[0]!);
  log(
    `  ${options.cards[0]}: fraud probability ${first.prediction.toFixed(4)} from v${first.version} ` +
      `(features from the online store, prediction ${first.predictionId})`,
  );

  // Live traffic: new transactions scored as a payment system would, the transaction's own
  // features in the request. Keyed by transaction, so the canary gets a random share of them.
  const live = [
    ...generateFraudRows({ rows: 4000, seed: 7, start: new Date(Date.now() - 86_400_000), days: 1 }),
  ];
  const load = startLoad({
    baseUrl: ctx.gatewayUrl,
    endpoint,
    token: ctx.token,
    ratePerSecond: 80,
    entities: live.length,
    entityIds: live.map((row) => row.transaction_id),
    features: (_id, index) => Object.fromEntries(fraudFeatureNames.map((name) => [name, live[index]![name]])),
    timeoutMs: 5000,
  });
  try {
    log('act 7: v4 trains on four months with the canary policy: 20 % → 50 % → 100 %, analysed every 4 s');
    const run = await options.train('v4', options.data, {
      // An absolute bar only: under the canary policy, live traffic decides against the champion.
      gates: { roc_auc: { threshold: 0.8, greaterIsBetter: true } },
      policy: {
        mode: 'canary',
        canary: {
          endpoint,
          steps: [
            { weight: 20, bakeSeconds: 8 },
            { weight: 50, bakeSeconds: 8 },
            { weight: 100, bakeSeconds: 0 },
          ],
          analysisIntervalSeconds: 4,
          thresholds: { minRequests: 20, maxLatencyP99Ratio: 3 },
        },
      },
    });
    // The run is decided before its rollout starts: the rollout appears a moment later.
    let rollout: RolloutView | undefined;
    for (let waited = 0; !rollout && waited < 30_000; waited += 500) {
      ({
        rollouts: [rollout],
      } = await api.call<{ rollouts: RolloutView[] }>('GET', `/rollouts?endpoint=${endpoint}`));
      if (!rollout) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (!rollout) throw new Error(`v4 (${run.state}) started no rollout: ${run.failureReason ?? ''}`);
    let shown = -1;
    while (['running', 'awaiting_approval', 'paused'].includes(rollout.state)) {
      if (rollout.weight !== shown && rollout.weight > 0) {
        log(
          `  rollout ${rollout.id}: step ${rollout.step + 1}/${rollout.steps.length}, ${rollout.weight} % to v${rollout.candidate.version}`,
        );
        shown = rollout.weight;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      rollout = await api.call<RolloutView>('GET', `/rollouts/${rollout.id}`);
    }
    for (const analysis of rollout.analyses) {
      log(
        `  analysis at ${analysis.weight} %: ${analysis.verdict} (canary ${analysis.canary.requests} requests, ` +
          `champion ${analysis.champion.requests}; ` +
          analysis.checks
            .filter((check) => check.value !== null)
            .map((check) => `${check.name} ${check.value!.toFixed(3)}`)
            .join(', ') +
          ')',
      );
    }
    log(`  rollout ${rollout.state}${rollout.reasons.length ? `: ${rollout.reasons.join('; ')}` : ''}`);
    const summary = await load.stop();
    log(`  the gateway answered ${summary.ok} predictions during the rollout, ${summary.failed} failed`);

    log('act 8: on-call rolls the endpoint back by hand; the previous champion takes all traffic again');
    const rollback = await api.call<{ kind: string; from?: number; to?: number }>(
      'POST',
      `/endpoints/${endpoint}/rollback`,
      {
        requestId: `${options.stamp}-rollback`,
        reason: 'demo: fraud analysts report too many declines',
      },
    );
    const after = await api.call<EndpointConfig>('GET', `/endpoints/${endpoint}`);
    const { alerts } = await api.call<{ alerts: AlertView[] }>('GET', '/alerts?state=firing');
    const alert = alerts.find((a) => a.kind === 'rollback' && a.subject.id === after.id) ?? null;
    log(
      `  v${rollback.from} → v${rollback.to}; alert: ${alert?.summary ?? 'none'} (runbook ${alert?.runbook ?? '-'})`,
    );
    return {
      endpoint,
      rollout: {
        version: rollout.candidate.version,
        state: rollout.state,
        analyses: rollout.analyses.length,
        passed: rollout.analyses.filter((a) => a.verdict === 'passed').length,
      },
      predictions: summary.versions,
      failedPredictions: summary.failed,
      championAfterRollback: after.champion?.version ?? 0,
      rollbackAlert: alert?.id ?? null,
    };
  } finally {
    await load.stop();
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
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
