import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCsv } from '@shepherd/datagen/csv';
import { fraudFeatureNames, generateFraudRows } from '@shepherd/datagen/fraud';
import type { LineageView, ModelView, TrainingRunView, VersionView } from '@shepherd/contracts/registry';
import { connectTemporal } from '@shepherd/clients/temporal';
import { experimentName } from '@shepherd/registry/mlflow-mirror';
import { eventually, scratchDir } from '@shepherd/testing/platform';
import type { EndpointConfig, RolloutView } from '@shepherd/contracts/serving';
import { buildProgram } from '../../cli/src/program.ts';
import { createKafka } from '@shepherd/clients/kafka';
import { labelTopic } from '@shepherd/contracts/features';
import { cardTransactionEvent, cardTransactionLabel } from '@shepherd/features/card-events';
import { registerFeatureView } from '@shepherd/features/registry';
import { cardTransactionsV2 } from '@shepherd/features/views';
import { writeEvents } from '../../../packages/features/test/store-helpers.ts';
import { scriptTrainer, startPlatform, type Platform } from './harness.ts';

const aucGate = { roc_auc: { threshold: 0.75, greaterIsBetter: true } };
// A candidate must not be worse than the champion on the same holdout.
const beatChampion = { roc_auc: { threshold: 0.75, minAbsoluteChange: 0, greaterIsBetter: true } };

describe('trainingPipeline on the real stack', { timeout: 600_000 }, () => {
  let platform: Platform;
  const model = `fraud-${Date.now().toString(36)}`;
  const uris: Record<string, string> = {};

  beforeAll(async () => {
    const dir = await scratchDir('trainers');
    platform = await startPlatform({
      trainers: {
        crasher: await scriptTrainer(dir, 'crasher', 'echo "out of memory while fitting" >&2; exit 3'),
        'no-artifact': await scriptTrainer(
          dir,
          'no-artifact',
          'echo \'{"featureNames":["a"],"trainingMetrics":{}}\' > "$SHEPHERD_OUTPUT_DIR/result.json"',
        ),
        'not-onnx': await scriptTrainer(
          dir,
          'not-onnx',
          'echo "this is not a model" > "$SHEPHERD_OUTPUT_DIR/model.onnx"; echo \'{"featureNames":["a"],"trainingMetrics":{}}\' > "$SHEPHERD_OUTPUT_DIR/result.json"',
        ),
      },
    });
    uris.v1 = await platform.dataset('v1', { rows: 20_000, seed: 1 });
    uris.v2 = await platform.dataset('v2', { rows: 60_000, seed: 2 });
    uris.broken = await platform.dataset('broken', { rows: 20_000, seed: 3, shuffleLabels: true });
    uris.golden = await platform.dataset('golden', { rows: 5_000, seed: 99 });
    const created = await platform.api<ModelView>('POST', '/models', {
      name: model,
      description: 'card fraud',
    });
    expect(created.status).toBe(201);
  }, 300_000);

  afterAll(() => platform?.stop());

  const train = async (requestId: string, data: string, extra: Record<string, unknown> = {}) => {
    const started = await platform.api<TrainingRunView>('POST', `/models/${model}/trainings`, {
      requestId,
      trainer: { name: 'reference-sklearn', params: { max_iter: 100 } },
      data: { uri: data },
      goldenSetUri: uris.golden,
      gates: beatChampion,
      ...extra,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return platform.waitForTraining(started.body.id);
  };
  const version = async (number: number) =>
    (await platform.api<VersionView>('GET', `/models/${model}/versions/${number}`)).body;

  it('trains v1, which passes its gates and becomes champion, mirrored to MLflow', async () => {
    const run = await train('v1', uris.v1!, { gates: aucGate });
    expect(run).toMatchObject({ state: 'succeeded', version: 1, failureReason: null });

    const v1 = await version(1);
    expect(v1).toMatchObject({ state: 'production', aliases: ['champion'] });
    expect(v1.metrics.roc_auc).toBeGreaterThan(0.8);
    expect(v1.evaluation?.candidate.golden?.roc_auc).toBeGreaterThan(0.8);
    expect(v1.artifactUri).toMatch(/^s3:\/\//);

    const mlflowRun = await platform.mlflow.getRun(v1.mlflowRunId!);
    expect(mlflowRun.info.status).toBe('FINISHED');
    expect(mlflowRun.data.params.map((param) => param.key)).toContain('max_iter');
    const champion = await platform.mlflow.getModelVersionByAlias(model, 'champion');
    expect(champion.run_id).toBe(v1.mlflowRunId);
  });

  it('trains v2 on more data; it beats the champion on the same holdout and becomes challenger', async () => {
    const run = await train('v2', uris.v2!);
    expect(run).toMatchObject({ state: 'succeeded', version: 2 });
    const v2 = await version(2);
    expect(v2).toMatchObject({ state: 'validated', aliases: ['challenger'] });
    expect(v2.evaluation?.champion?.version).toBe(1);
    expect(v2.evaluation!.candidate.holdout.roc_auc).toBeGreaterThanOrEqual(
      v2.evaluation!.champion!.holdout.roc_auc!,
    );
    expect(v2.evaluation?.gates.every((gate) => gate.passed)).toBe(true);
    const challenger = await platform.mlflow.getModelVersionByAlias(model, 'challenger');
    expect(challenger.run_id).toBe(v2.mlflowRunId);
  });

  it('rejects a model trained on shuffled labels and names the failed gates', async () => {
    const run = await train('broken', uris.broken!);
    expect(run).toMatchObject({ state: 'rejected', version: 3 });
    expect(run.failureReason).toMatch(/roc_auc/);
    const v3 = await version(3);
    expect(v3.state).toBe('rejected');
    expect(v3.aliases).toEqual([]);
    const failed = v3.evaluation!.gates.filter((gate) => !gate.passed);
    expect(failed.map((gate) => `${gate.dataset}:${gate.metric}:${gate.kind}`)).toEqual(
      expect.arrayContaining(['holdout:roc_auc:threshold', 'holdout:roc_auc:absolute_change']),
    );
    expect(v3.metrics.roc_auc).toBeLessThan(0.6);
  });

  it('trains once for a retried request', async () => {
    const again = await platform.api<TrainingRunView>('POST', `/models/${model}/trainings`, {
      requestId: 'v1',
      trainer: { name: 'reference-sklearn' },
      data: { uri: uris.v1 },
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ state: 'succeeded', version: 1 });
    const versions = await platform.api<{ versions: VersionView[] }>('GET', `/models/${model}/versions`);
    expect(versions.body.versions.map((v) => v.version)).toEqual([3, 2, 1]);
  });

  it('approves the challenger: it becomes champion, the old champion is archived, MLflow follows', async () => {
    const approved = await platform.api<VersionView>('POST', `/models/${model}/versions/2/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'production', aliases: ['champion'] });
    expect((await version(1)).state).toBe('archived');
    const champion = await platform.mlflow.getModelVersionByAlias(model, 'champion');
    expect(champion.run_id).toBe((await version(2)).mlflowRunId);
    const rejectedApproval = await platform.api<{ error: { code: string } }>(
      'POST',
      `/models/${model}/versions/3/approve`,
    );
    expect(rejectedApproval.status).toBe(409);
  });

  it('compares two versions and answers lineage both ways', async () => {
    const compared = await platform.api<{ metrics: { metric: string; absoluteChange: number | null }[] }>(
      'GET',
      `/models/${model}/compare?base=1&candidate=2`,
    );
    expect(compared.status).toBe(200);
    expect(compared.body.metrics.map((m) => m.metric)).toContain('roc_auc');

    const v2 = await version(2);
    const upstream = await platform.api<LineageView>(
      'GET',
      `/lineage/model_version/${v2.id}?direction=upstream`,
    );
    expect(upstream.body.nodes.map((node) => node.kind)).toEqual(['model_version', 'run', 'training_set']);
    const downstream = await platform.api<LineageView>(
      'GET',
      `/lineage/training_set/${v2.trainingSetId}?direction=downstream`,
    );
    expect(downstream.body.nodes.map((node) => node.id)).toContain(v2.id);
  });

  it.each([
    ['crasher', /trainer exited with code 3: out of memory while fitting/],
    ['no-artifact', /wrote no model\.onnx/],
    ['not-onnx', /not .*ONNX/i],
    ['no-such-trainer', /unknown trainer 'no-such-trainer'/],
  ])('fails cleanly when the trainer is %s, registering nothing', async (trainer, reason) => {
    const before = (await platform.api<{ versions: VersionView[] }>('GET', `/models/${model}/versions`)).body
      .versions.length;
    const started = await platform.api<TrainingRunView>('POST', `/models/${model}/trainings`, {
      requestId: `bad-${trainer}`,
      trainer: { name: trainer },
      data: { uri: uris.v1 },
    });
    const run = await platform.waitForTraining(started.body.id);
    expect(run.state).toBe('failed');
    expect(run.failureReason).toMatch(reason);
    expect(run.versionId).toBeNull();
    const after = (await platform.api<{ versions: VersionView[] }>('GET', `/models/${model}/versions`)).body
      .versions.length;
    expect(after).toBe(before);
    if (run.mlflowRunId) expect((await platform.mlflow.getRun(run.mlflowRunId)).info.status).toBe('FAILED');
  });

  it('refuses a tampered champion artifact: the candidate fails and says why', async () => {
    const champion = await version(2);
    const original = await platform.artifacts.get(champion.artifactUri);
    const key = champion.artifactUri.slice(champion.artifactUri.indexOf('/models/') + 1);
    const tampered = Buffer.from(original);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1]! + 1) % 256;
    await platform.artifacts.put(key, tampered);
    try {
      const run = await train('after-tamper', uris.v1!);
      expect(run.state).toBe('failed');
      expect(run.failureReason).toMatch(/sha256/);
      const candidate = await version(run.version!);
      expect(candidate.state).toBe('failed');
    } finally {
      await platform.artifacts.put(key, original);
    }
  });

  it('answers bad requests with 4xx and the error envelope, creating nothing', async () => {
    const unknownModel = await platform.api<{ error: { code: string; message: string } }>(
      'POST',
      '/models/nope/trainings',
      {
        requestId: 'x',
        trainer: { name: 'reference-sklearn' },
        data: { uri: uris.v1 },
      },
    );
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.error).toMatchObject({
      code: 'not_found',
      message: "model 'nope' does not exist",
    });

    const invalid = await platform.api<{ error: { code: string; message: string } }>(
      'POST',
      `/models/${model}/trainings`,
      {
        requestId: 'bad spec!',
        trainer: { name: 'reference-sklearn' },
        data: { uri: 'http://example.com/data.csv', holdoutFraction: 2 },
      },
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
    expect(invalid.body.error.message).toMatch(/body\.requestId/);
    expect(invalid.body.error.message).toMatch(/body\.data\.uri/);
    expect(invalid.body.error.message).toMatch(/body\.data\.holdoutFraction/);

    const duplicate = await platform.api<{ error: { code: string } }>('POST', '/models', { name: model });
    expect(duplicate.status).toBe(409);
    const runs = await platform.api<{ trainings: TrainingRunView[] }>('GET', `/models/${model}/trainings`);
    expect(runs.body.trainings.some((run) => run.requestId === 'bad spec!')).toBe(false);
  });

  it("edits a version's description and tags, keeping Shepherd's own tags out of reach", async () => {
    const edited = await platform.api<VersionView>('PATCH', `/models/${model}/versions/2`, {
      description: 'three months of data',
      tags: { owner: 'risk-team' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.description).toBe('three months of data');
    expect(edited.body.tags).toMatchObject({
      owner: 'risk-team',
      'shepherd.workflow_id': expect.any(String),
    });
    const removed = await platform.api<VersionView>('PATCH', `/models/${model}/versions/2`, {
      tags: { owner: null },
    });
    expect(removed.body.tags.owner).toBeUndefined();
    const refused = await platform.api<{ error: { code: string } }>('PATCH', `/models/${model}/versions/2`, {
      tags: { 'mlflow.version': '99' },
    });
    expect(refused.status).toBe(400);
    expect((await version(2)).tags['mlflow.version']).not.toBe('99');
  });

  it('shows the same registry through the CLI', async () => {
    const baseUrl = await platform.listen();
    const run = async (...args: string[]) => {
      const lines: string[] = [];
      process.env.SHEPHERD_API_URL = baseUrl;
      process.env.SHEPHERD_TOKEN = platform.adminToken;
      await buildProgram((text) => lines.push(text)).parseAsync([
        'node',
        'shepherd',
        '--project',
        platform.projectSlug,
        ...args,
      ]);
      return lines.join('\n');
    };
    expect(await run('versions', model)).toMatch(/^2\s+production\s+champion\s+0\.\d{4}/m);
    expect(await run('compare', model, '1', '2')).toMatch(/roc_auc/);
    expect(await run('version', model, '3')).toMatch(/FAIL holdout/);
    const v2 = await version(2);
    expect(await run('lineage', 'model_version', v2.id)).toContain(
      `run:${v2.mlflowRunId} --produced--> model_version:${v2.id}`,
    );
    await expect(run('approve', model, '3')).rejects.toThrow(/version 3 is rejected and cannot be promoted/);
    // Every registry action so far is in the project's audit chain, intact.
    expect(await run('audit', 'verify')).toMatch(/^audit chain intact: \d+ entries$/);
  });

  it('imports a model from any MLflow run that holds an ONNX model, evaluated and gated like the others', async () => {
    // A run made outside Shepherd: its own experiment, trained by the reference trainer by hand.
    const experiment = await platform.mlflow.getOrCreateExperiment(`outside-${model}`);
    const outside = await platform.mlflow.createRun(experiment.experiment_id, { runName: 'notebook run' });
    const dir = await scratchDir('byo');
    const trainPath = join(dir, 'train.csv');
    await writeCsv(trainPath, generateFraudRows({ rows: 20_000, seed: 11 }));
    const python = platform.trainers['reference-sklearn']!;
    const trained = spawnSync(python[0]!, [python[1]!], {
      env: {
        ...process.env,
        SHEPHERD_TRAIN_DATA: trainPath,
        SHEPHERD_OUTPUT_DIR: join(dir, 'out'),
        SHEPHERD_PARAMS: '{}',
        SHEPHERD_SEED: '3',
        MLFLOW_TRACKING_URI: platform.env.MLFLOW_TRACKING_URI,
        MLFLOW_RUN_ID: outside.info.run_id,
      },
      encoding: 'utf8',
    });
    expect(trained.status, trained.stderr).toBe(0);

    const started = await platform.api<TrainingRunView>('POST', `/models/${model}/imports`, {
      requestId: 'byo-1',
      mlflowRunId: outside.info.run_id,
      data: { uri: uris.v1 },
      gates: aucGate,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const run = await platform.waitForTraining(started.body.id);
    expect(run).toMatchObject({ state: 'succeeded', mlflowRunId: outside.info.run_id });
    const imported = await version(run.version!);
    expect(imported).toMatchObject({
      state: 'validated',
      aliases: ['challenger'],
      mlflowRunId: outside.info.run_id,
    });
    expect(imported.metrics.roc_auc).toBeGreaterThan(0.8);
    // Shepherd never closes a run it did not start.
    expect((await platform.mlflow.getRun(outside.info.run_id)).info.status).toBe('RUNNING');

    const missing = await platform.api<TrainingRunView>('POST', `/models/${model}/imports`, {
      requestId: 'byo-missing',
      mlflowRunId: outside.info.run_id,
      artifactPath: 'nothing/here.onnx',
      data: { uri: uris.v1 },
    });
    const failed = await platform.waitForTraining(missing.body.id);
    expect(failed.state).toBe('failed');
    expect(failed.failureReason).toMatch(/has no artifact 'nothing\/here\.onnx'/);
    expect(failed.versionId).toBeNull();
  });

  it('trains, scores and gates a regression model (expected loss per transaction)', async () => {
    const lossModel = `${model}-loss`;
    const created = await platform.api<ModelView>('POST', '/models', { name: lossModel, task: 'regression' });
    expect(created.status).toBe(201);
    const data = await platform.dataset('expected-loss', { rows: 20_000, seed: 3, target: 'expected_loss' });
    const started = await platform.api<TrainingRunView>('POST', `/models/${lossModel}/trainings`, {
      requestId: 'loss-v1',
      trainer: { name: 'reference-sklearn' },
      data: { uri: data },
      gates: {
        r2: { threshold: 0.2, greaterIsBetter: true },
        mae: { threshold: 12, greaterIsBetter: false },
      },
    });
    const run = await platform.waitForTraining(started.body.id);
    expect(run).toMatchObject({ state: 'succeeded', version: 1 });
    const v1 = (await platform.api<VersionView>('GET', `/models/${lossModel}/versions/1`)).body;
    expect(v1).toMatchObject({ state: 'production', aliases: ['champion'] });
    expect(Object.keys(v1.metrics)).toEqual(expect.arrayContaining(['rmse', 'mae', 'r2']));
    expect(v1.metrics).not.toHaveProperty('roc_auc');

    const strict = await platform.api<TrainingRunView>('POST', `/models/${lossModel}/trainings`, {
      requestId: 'loss-strict',
      trainer: { name: 'reference-sklearn' },
      data: { uri: data },
      gates: { mae: { threshold: 0.01, greaterIsBetter: false } },
    });
    const rejected = await platform.waitForTraining(strict.body.id);
    expect(rejected.state).toBe('rejected');
    expect(rejected.failureReason).toMatch(/holdout: mae = [\d.]+ is above the threshold/);
  });

  it('keeps workflow inputs and results encrypted inside Temporal', async () => {
    const v1 = await version(1);
    const run = (
      await platform.api<{ trainings: TrainingRunView[] }>('GET', `/models/${model}/trainings`)
    ).body.trainings.find((t) => t.requestId === 'v1')!;
    // A client without the key sees what the Temporal server stores.
    const raw = await connectTemporal({
      address: platform.env.TEMPORAL_ADDRESS,
      namespace: platform.env.TEMPORAL_NAMESPACE,
    });
    try {
      const history = await raw.client.workflow.getHandle(run.workflowId).fetchHistory();
      const started = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
      expect(new TextDecoder().decode(started.metadata!.encoding!)).toBe('binary/encrypted');
      const stored = Buffer.from(started.data!).toString('latin1');
      expect(stored).not.toContain(uris.v1!);
      expect(stored).not.toContain(model);
      expect(v1.artifactUri).not.toBe('');
    } finally {
      await raw.connection.close();
    }
  });

  it('keeps one MLflow experiment with one run per training', async () => {
    const experiment = await platform.mlflow.getExperimentByName(experimentName(model));
    const { runs } = await platform.mlflow.searchRuns([experiment.experiment_id], { maxResults: 100 });
    const byWorkflow = new Map<string, number>();
    for (const run of runs) {
      const tag = run.data.tags.find((t) => t.key === 'shepherd.workflow_id')?.value ?? '';
      byWorkflow.set(tag, (byWorkflow.get(tag) ?? 0) + 1);
    }
    expect([...byWorkflow.values()].every((count) => count === 1)).toBe(true);
  });
  it('rolls a validated version out on an endpoint with the canary policy; it becomes champion, MLflow follows', async () => {
    const endpoint = `${model}-scoring`;
    const created = await platform.api<EndpointConfig>('POST', '/endpoints', { name: endpoint, model });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const before = created.body.champion!.version;

    const run = await train('canary-policy', uris.v2!, {
      gates: aucGate,
      policy: {
        mode: 'canary',
        canary: {
          endpoint,
          steps: [
            { weight: 50, bakeSeconds: 1 },
            { weight: 100, bakeSeconds: 0 },
          ],
          analysisIntervalSeconds: 1,
        },
      },
    });
    // The run reads succeeded only once its rollout is recorded, and names it.
    expect(run.state).toBe('succeeded');
    expect(run.rolloutId).not.toBeNull();
    const rollouts = await platform.api<{ rollouts: RolloutView[] }>('GET', `/rollouts?endpoint=${endpoint}`);
    expect(rollouts.body.rollouts.map((r) => r.id)).toEqual([run.rolloutId]);
    expect(rollouts.body.rollouts[0]!.candidate.version).toBe(run.version);
    // Four eyes: the policy's plan had no gate, so the rollout waits before its final step for
    // someone other than who started the training.
    const waiting = await eventually(
      async () => {
        const { body } = await platform.api<RolloutView>('GET', `/rollouts/${run.rolloutId}`);
        return body.state === 'running' ? undefined : body;
      },
      { timeoutMs: 60_000, what: 'the canary rollout to reach its promotion gate' },
    );
    expect(waiting).toMatchObject({ state: 'awaiting_approval', step: 0, weight: 50 });
    const own = await platform.api('POST', `/rollouts/${run.rolloutId}/approve`, {});
    expect(own.status).toBe(403);
    const approved = await platform.api(
      'POST',
      `/rollouts/${run.rolloutId}/approve`,
      {},
      platform.approverToken,
    );
    expect(approved.status).toBe(202);
    const finished = await eventually(
      async () => {
        const { body } = await platform.api<RolloutView>('GET', `/rollouts/${run.rolloutId}`);
        return ['running', 'awaiting_approval'].includes(body.state) ? undefined : body;
      },
      { timeoutMs: 60_000, what: 'the canary rollout to finish' },
    );
    expect(finished.state).toBe('succeeded');
    const after = (await platform.api<EndpointConfig>('GET', `/endpoints/${endpoint}`)).body;
    expect(after.champion?.version).toBe(run.version);
    expect(after.champion?.version).not.toBe(before);
    expect(await version(run.version!)).toMatchObject({ state: 'production', aliases: ['champion'] });
    const champion = await platform.mlflow.getModelVersionByAlias(model, 'champion');
    expect(champion.run_id).toBe((await version(run.version!)).mlflowRunId);
  });
  it('trains from a point-in-time set of feature views and labels; lineage reaches the Kafka offsets', async () => {
    const ctx = { db: platform.database.db, projectId: platform.project.id, actor: 'test' };
    const viewName = `cards_${Date.now().toString(36)}`;
    const { registered } = await registerFeatureView(ctx, {
      ...cardTransactionsV2,
      name: viewName,
      sourceTopic: `features.${viewName}`,
    });
    const rows = [...generateFraudRows({ rows: 6000, cards: 150, seed: 21, days: 5 })];
    await writeEvents(platform.database.db, registered, rows.map(cardTransactionEvent), []);
    const kafka = createKafka({ brokers: platform.env.KAFKA_BROKERS, clientId: 'pit-pipeline-test' });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic: labelTopic(model),
        messages: rows.map((row) => ({ key: row.card_id, value: JSON.stringify(cardTransactionLabel(row)) })),
      });
    } finally {
      await producer.disconnect();
    }

    const run = await train('point-in-time', '', {
      data: { views: [{ name: viewName, features: [...fraudFeatureNames] }] },
      gates: aucGate,
    });
    expect(run.state, run.failureReason ?? '').toBe('succeeded');
    const v = await version(run.version!);
    expect(v.metrics.roc_auc).toBeGreaterThan(0.75);
    const lineage = await platform.api<LineageView>(
      'GET',
      `/lineage/model_version/${v.id}?direction=upstream`,
    );
    const ids = lineage.body.nodes.map((node) => `${node.kind}:${node.id}`);
    expect(ids).toContain(`feature_view:${viewName}@${cardTransactionsV2.version}`);
    expect(ids.some((id) => id.startsWith(`topic_range:${labelTopic(model)}#`))).toBe(true);
    const labelEdge = lineage.body.edges.find((edge) => edge.from.id.startsWith(`${labelTopic(model)}#`));
    expect(labelEdge?.to).toEqual({ kind: 'training_set', id: v.trainingSetId });
  });
});
