import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createArtifactStore } from '@shepherd/artifacts/store';
import { dataConverterFor } from '@shepherd/clients/codec';
import { connectTemporal } from '@shepherd/clients/temporal';
import type { ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import { writeCsv } from '@shepherd/datagen/csv';
import { generateFraudRows, type FraudDataOptions } from '@shepherd/datagen/fraud';
import { createKafka } from '@shepherd/clients/kafka';
import type { OnlineFeaturesResponse } from '@shepherd/contracts/features';
import { cardTransactionEvent } from '@shepherd/features/card-events';
import { featureEventMessage } from '@shepherd/features/produce';
import { cardTransactionsV1 } from '@shepherd/features/views';
import { ApiClient } from '../apps/cli/src/api-client.ts';
import { ping } from '../apps/worker/src/workflows/ping.ts';

export interface ScenarioContext {
  log: (message: string) => void;
  env: Record<string, string>;
  apiUrl: string;
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
  await streamTransactions(ctx, api);
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
    // Large enough that a real improvement is not lost in the noise of a few hundred frauds.
    golden: await upload('golden', { rows: 40_000, seed: 99 }),
  };
  store.close();
  await rm(dir, { recursive: true, force: true });

  const gates = { roc_auc: { threshold: 0.8, minAbsoluteChange: 0, greaterIsBetter: true } };
  const train = async (label: string, uri: string) => {
    const run = await api.call<TrainingRunView>('POST', `/models/${model}/trainings`, {
      requestId: `${stamp}-${label}`,
      trainer: { name: 'reference-sklearn', params: {} },
      data: { uri },
      goldenSetUri: data.golden,
      gates,
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

  const { versions } = await api.call<{ versions: VersionView[] }>('GET', `/models/${model}/versions`);
  const champion = versions.find((version) => version.aliases.includes('champion'));
  for (const version of [...versions].reverse()) {
    log(
      `  v${version.version}: ${version.state}${version.aliases.length ? ` [${version.aliases.join(', ')}]` : ''}, ` +
        `holdout roc_auc ${version.metrics.roc_auc?.toFixed(3) ?? '-'}, MLflow run ${version.mlflowRunId ?? '-'}`,
    );
  }
  if (v1.state !== 'succeeded') throw new Error(`v1 did not succeed: ${v1.failureReason ?? v1.state}`);
  return {
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
async function streamTransactions(ctx: ScenarioContext, api: ApiClient): Promise<void> {
  const { log, env } = ctx;
  const rows = [
    ...generateFraudRows({
      rows: ctx.fast ? 5_000 : 20_000,
      seed: Date.now() % 100_000,
      start: new Date(Date.now() - 7 * 86_400_000),
      days: 7,
    }),
  ];
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
        `  online store, ${last.card_id}: amount ${String(values.amount)}, ${String(aggregates.txn_count_24h)} ` +
          `transactions in 24h (avg ${Number(aggregates.amount_avg_24h).toFixed(2)}), ${vector.ageSeconds}s old`,
      );
      return;
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
