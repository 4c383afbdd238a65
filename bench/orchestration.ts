/**
 * Orchestration overhead, on the real stack with api, worker and gateway as processes:
 *
 * (a) a registered candidate to 100 % traffic through a canary rollout with zero bake time (the
 *     API starts the `canaryRollout` workflow, the worker runs it on the local Temporal), against
 *     the same traffic changes written directly with the registry's `setTraffic`;
 * (b) 100 training pipelines at once with a trivial trainer, against the same activities called in
 *     this process with the same concurrency and no Temporal.
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { eq, inArray } from 'drizzle-orm';
import { pino } from 'pino';
import type { RolloutView } from '../packages/contracts/src/serving.ts';
import {
  startTrainingBody,
  trainingWorkflowId,
  type TrainingPipelineInput,
} from '../packages/contracts/src/training.ts';
import type { TrainingRunView } from '../packages/contracts/src/registry.ts';
import { endpoints, trainingRuns } from '../packages/db/src/schema.ts';
import { setTraffic } from '../packages/registry/src/endpoints.ts';
import { createTrainingRun } from '../packages/registry/src/training.ts';
import { scratchDir } from '../packages/testing/src/platform.ts';
import { startLoad, type LoadRun } from '../apps/gateway/src/load.ts';
import { predict } from '../apps/gateway/test/harness.ts';
import { createActivities } from '../apps/worker/src/activities/index.ts';
import { COPY_TRAINER, ENTITIES, percentile, startPlatform, until, type Platform } from './_platform.ts';
import type { Benchmark, BenchResult } from './lib.ts';

const round1 = (value: number) => Math.round(value * 10) / 10;

/** Canary steps with no bake: every step moves traffic and goes straight on. */
const zeroBakeSteps = [10, 50, 100].map((weight) => ({ weight, bakeSeconds: 0, manualApproval: false }));

export interface RolloutTimings {
  /** Request sent → the candidate is the endpoint's champion in PostgreSQL (ms). */
  workflowCommittedMs: number[];
  /** Request sent → the gateway answers every request with the candidate (ms, seen by the load). */
  workflowServedMs: number[];
  /** First setTraffic → the last one committed (ms). */
  directCommittedMs: number[];
  directServedMs: number[];
  /** Requests of the steady load that failed while traffic moved. */
  loadFailures: number;
}

/**
 * The first moment from which the load saw only `version`: the scheduled time (ms since the load
 * started) of the request after the last one answered otherwise, within [fromMs, toMs).
 */
function allServedBy(load: LoadRun, version: number, fromMs: number, toMs: number): number {
  const window = load.results
    .filter((r) => r.atMs >= fromMs && r.atMs < toMs)
    .sort((a, b) => a.atMs - b.atMs);
  let firstAllCandidate: number | undefined;
  for (const result of window) {
    if (result.status === 200 && result.version === version) firstAllCandidate ??= result.atMs;
    else firstAllCandidate = undefined;
  }
  if (firstAllCandidate === undefined) throw new Error(`the load never saw version ${version} alone`);
  return firstAllCandidate;
}

/**
 * `count` rollouts through the workflow and `count` direct traffic changes, interleaved on one
 * endpoint under a steady load of `rate` predictions a second through the gateway.
 */
export async function timeRollouts(
  platform: Platform,
  count: number,
  options: { rate: number; log: (message: string) => void },
): Promise<RolloutTimings> {
  const { fx } = platform;
  const suffix = randomUUID().slice(0, 6);
  const model = await fx.model(`orch-${suffix}`);
  const first = await fx.version(model.id, 'a');
  const endpoint = await fx.endpoint(`orch-${suffix}`, model.name, first.version);
  await until(
    async () =>
      (await predict(platform.gatewayUrl, endpoint.name, fx.token, { entityId: 'card-1' })).status === 200 ||
      undefined,
    'the gateway to serve the new endpoint',
    20_000,
    100,
  );
  const champion = async () =>
    (
      await fx.db
        .select({ id: endpoints.championVersionId })
        .from(endpoints)
        .where(eq(endpoints.id, endpoint.id))
    )[0]?.id;

  const loadStart = performance.now();
  const load = startLoad({
    baseUrl: platform.gatewayUrl,
    endpoint: endpoint.name,
    token: fx.token,
    ratePerSecond: options.rate,
    entities: ENTITIES,
    entityPrefix: 'card-',
    timeoutMs: 5000,
  });
  const timings: RolloutTimings = {
    workflowCommittedMs: [],
    workflowServedMs: [],
    directCommittedMs: [],
    directServedMs: [],
    loadFailures: 0,
  };
  // Gateways poll endpoints every 250 ms: after a second, every request goes to the new champion.
  const settleMs = 1000;
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < count; i++) {
      // Through the workflow: what an ML engineer does.
      const candidate = await fx.version(model.id, 'a');
      const started = performance.now();
      const response = await platform.api<RolloutView>('POST', `/endpoints/${endpoint.name}/rollouts`, {
        requestId: `orch-${suffix}-${i}`,
        version: candidate.version,
        steps: zeroBakeSteps,
        analysisIntervalSeconds: 1,
      });
      if (response.status !== 202) throw new Error(`rollout refused: ${JSON.stringify(response.body)}`);
      await until(
        async () => ((await champion()) === candidate.id ? true : undefined),
        `rollout ${i}`,
        60_000,
        5,
      );
      const committed = performance.now();
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const served = allServedBy(load, candidate.version, started - loadStart, performance.now() - loadStart);
      timings.workflowCommittedMs.push(committed - started);
      timings.workflowServedMs.push(served - (started - loadStart));
      const rollout = (await platform.api<RolloutView>('GET', `/rollouts/${response.body.id}`)).body;
      if (rollout.state !== 'succeeded') throw new Error(`rollout ${i} ended ${rollout.state}`);

      // The reference: the same five traffic changes, written directly.
      const direct = await fx.version(model.id, 'a');
      const ctx = { ...fx.ctx, actor: 'bench' };
      const directStarted = performance.now();
      await setTraffic(ctx, endpoint.id, {
        candidateVersionId: direct.id,
        candidateWeight: 0,
        mode: 'canary',
        reason: 'bench: begin',
      });
      for (const step of zeroBakeSteps) {
        await setTraffic(ctx, endpoint.id, {
          candidateWeight: step.weight,
          reason: `bench: ${step.weight} %`,
        });
      }
      await setTraffic(ctx, endpoint.id, {
        championVersionId: direct.id,
        candidateVersionId: null,
        candidateWeight: 0,
        reason: 'bench: promoted',
      });
      const directCommitted = performance.now();
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const directServed = allServedBy(
        load,
        direct.version,
        directStarted - loadStart,
        performance.now() - loadStart,
      );
      timings.directCommittedMs.push(directCommitted - directStarted);
      timings.directServedMs.push(directServed - (directStarted - loadStart));
      options.log(
        `rollout ${i + 1}/${count}: workflow ${round1(committed - started)} ms (served ${round1(served - (started - loadStart))} ms), direct ${round1(directCommitted - directStarted)} ms`,
      );
    }
  } finally {
    const summary = await load.stop();
    timings.loadFailures = summary.failed;
  }
  return timings;
}

export interface PipelineTimings {
  pipelines: number;
  temporalSeconds: number;
  temporalFailures: number;
  referenceSeconds: number;
  referenceFailures: number;
  failureReasons: string[];
}

const MODELS = 10;

/** The pipelines' request bodies, as an ML engineer would send them: the trivial trainer, the tiny CSV. */
const trainingBody = (platform: Platform, requestId: string) => ({
  requestId,
  trainer: { name: COPY_TRAINER },
  data: { uri: platform.datasetUri },
});

/**
 * The trainingPipeline workflow's activities in its order (trainer source, manual policy), called
 * in this process: what the pipeline costs without Temporal's dispatch, history and durability.
 */
async function pipelineInProcess(
  activities: ReturnType<typeof createActivities>,
  input: TrainingPipelineInput,
): Promise<void> {
  const run = <A, R>(fn: (arg: A) => Promise<R>, arg: A) =>
    new MockActivityEnvironment().run(fn, arg) as Promise<R>;
  const scope = { projectId: input.projectId, actor: input.actor, workflowId: input.workflowId };
  const step = (name: string) => run(activities.recordTrainingStep, { ...scope, step: name });
  if (input.source.kind !== 'trainer') throw new Error('only trainer pipelines are benchmarked');
  await step('building_training_set');
  const trainingSet = await run(activities.prepareTrainingSet, { ...scope, data: input.data });
  await step('starting_mlflow_run');
  const mlflowRunId = await run(activities.startMlflowRun, {
    ...scope,
    modelName: input.modelName,
    trainingSetId: trainingSet.id,
  });
  await step('training');
  const artifact = await run(activities.trainModel, {
    ...scope,
    modelName: input.modelName,
    modelTask: input.modelTask,
    trainer: input.source.trainer,
    trainingSetId: trainingSet.id,
    mlflowRunId,
  });
  await step('registering');
  const version = await run(activities.registerCandidate, {
    ...scope,
    modelId: input.modelId,
    trainingSetId: trainingSet.id,
    mlflowRunId,
    artifact,
    description: input.description,
  });
  await run(activities.buildReferenceProfile, {
    ...scope,
    versionId: version.id,
    trainingSetId: trainingSet.id,
    modelTask: input.modelTask,
  });
  await step('evaluating');
  const report = await run(activities.evaluateCandidate, {
    ...scope,
    modelId: input.modelId,
    modelTask: input.modelTask,
    versionId: version.id,
    trainingSetId: trainingSet.id,
    goldenSetUri: input.goldenSetUri,
    gates: input.gates,
  });
  await step('deciding');
  await run(activities.decideVersion, {
    ...scope,
    modelId: input.modelId,
    modelName: input.modelName,
    versionId: version.id,
    report,
    policy: input.policy,
    mlflowRunId,
    ownsMlflowRun: true,
  });
  await step('done');
}

/**
 * `count` pipelines spread over ten models, started at once through the API and run by the worker
 * process on the local Temporal; then the reference: the same pipelines (new models, same data)
 * run in this process with the same concurrency.
 */
export async function timePipelines(
  platform: Platform,
  count: number,
  options: { log: (message: string) => void; reference?: boolean },
): Promise<PipelineTimings> {
  const { fx } = platform;
  const suffix = randomUUID().slice(0, 6);
  const models = await Promise.all(
    Array.from({ length: MODELS }, (_, k) => fx.model(`orch-train-${suffix}-${k}`)),
  );

  const started = Date.now();
  const runs = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await platform.api<TrainingRunView>(
        'POST',
        `/models/${models[i % MODELS]!.name}/trainings`,
        trainingBody(platform, `p-${suffix}-${i}`),
      );
      if (response.status !== 202) throw new Error(`training refused: ${JSON.stringify(response.body)}`);
      return response.body.id;
    }),
  );
  options.log(`${count} pipelines started in ${Date.now() - started} ms`);
  const finished = await until(
    async () => {
      const rows = await fx.db
        .select({
          state: trainingRuns.state,
          updatedAt: trainingRuns.updatedAt,
          reason: trainingRuns.failureReason,
        })
        .from(trainingRuns)
        .where(inArray(trainingRuns.id, runs));
      return rows.every((row) => row.state !== 'running') ? rows : undefined;
    },
    `${count} training pipelines`,
    600_000,
    250,
  );
  const temporalSeconds = (Math.max(...finished.map((row) => row.updatedAt.getTime())) - started) / 1000;
  const failed = finished.filter((row) => row.state !== 'succeeded');
  options.log(`temporal: ${count} pipelines in ${round1(temporalSeconds)} s, ${failed.length} not succeeded`);

  let referenceSeconds = NaN;
  let referenceFailures = 0;
  if (options.reference !== false) {
    const workDir = await scratchDir('bench-orchestration');
    try {
      const activities = createActivities({
        db: fx.db,
        artifacts: fx.artifacts,
        trainers: { [COPY_TRAINER]: platform.trainerCommand },
        workDir: join(workDir, 'work'),
        logger: pino({ level: 'silent' }),
      });
      const refModels = await Promise.all(
        Array.from({ length: MODELS }, (_, k) => fx.model(`orch-ref-${suffix}-${k}`)),
      );
      const referenceStarted = Date.now();
      const outcomes = await Promise.allSettled(
        Array.from({ length: count }, async (_, i) => {
          const model = refModels[i % MODELS]!;
          const body = startTrainingBody.parse(trainingBody(platform, `r-${suffix}-${i}`));
          const { trainer, ...fields } = body;
          const workflowId = trainingWorkflowId(fx.project.slug, fields.requestId);
          const ctx = { ...fx.ctx, actor: 'token:bench-admin' };
          // What the API does before it starts the workflow.
          await createTrainingRun(ctx, {
            modelId: model.id,
            requestId: fields.requestId,
            workflowId,
            spec: { source: { kind: 'trainer', trainer }, ...fields },
          });
          await pipelineInProcess(activities, {
            projectId: fx.project.id,
            modelId: model.id,
            modelName: model.name,
            modelTask: 'binary_classification',
            workflowId,
            actor: ctx.actor,
            source: { kind: 'trainer', trainer },
            ...fields,
          });
        }),
      );
      referenceSeconds = (Date.now() - referenceStarted) / 1000;
      referenceFailures = outcomes.filter((o) => o.status === 'rejected').length;
      const firstFailure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (firstFailure) options.log(`in-process failure: ${String(firstFailure.reason)}`);
      options.log(
        `in process: ${count} pipelines in ${round1(referenceSeconds)} s, ${referenceFailures} failed`,
      );
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
  return {
    pipelines: count,
    temporalSeconds,
    temporalFailures: failed.length,
    referenceSeconds,
    referenceFailures,
    failureReasons: [...new Set(failed.map((row) => row.reason ?? 'no reason recorded'))].slice(0, 3),
  };
}

const benchmark: Benchmark = async ({ quick, log }): Promise<BenchResult> => {
  const rollouts = quick ? 2 : 10;
  const pipelines = quick ? 10 : 100;
  const platform = await startPlatform(log);
  try {
    const r = await timeRollouts(platform, rollouts, { rate: 200, log });
    const p = await timePipelines(platform, pipelines, { log });
    const workflowP50 = percentile(r.workflowCommittedMs, 0.5);
    const directP50 = percentile(r.directCommittedMs, 0.5);
    const figures: Record<string, number> = {
      rollouts,
      rollout_workflow_p50_ms: round1(workflowP50),
      rollout_workflow_max_ms: round1(Math.max(...r.workflowCommittedMs)),
      rollout_direct_p50_ms: round1(directP50),
      rollout_direct_max_ms: round1(Math.max(...r.directCommittedMs)),
      rollout_workflow_served_p50_ms: round1(percentile(r.workflowServedMs, 0.5)),
      rollout_workflow_served_max_ms: round1(Math.max(...r.workflowServedMs)),
      rollout_direct_served_p50_ms: round1(percentile(r.directServedMs, 0.5)),
      rollout_direct_served_max_ms: round1(Math.max(...r.directServedMs)),
      rollout_load_failures: r.loadFailures,
      pipelines: p.pipelines,
      pipelines_temporal_seconds: round1(p.temporalSeconds),
      pipelines_per_s_temporal: Math.round((p.pipelines / p.temporalSeconds) * 100) / 100,
      pipelines_failed_temporal: p.temporalFailures,
      pipelines_in_process_seconds: round1(p.referenceSeconds),
      pipelines_per_s_in_process: Math.round((p.pipelines / p.referenceSeconds) * 100) / 100,
      pipelines_failed_in_process: p.referenceFailures,
      pipelines_temporal_over_in_process: Math.round((p.temporalSeconds / p.referenceSeconds) * 100) / 100,
    };
    log(JSON.stringify(figures));
    const overhead = workflowP50 / directP50;
    return {
      name: 'orchestration',
      description: `(a) A registered candidate to 100 % traffic by a canary rollout with zero bake time (steps 10/50/100 %), requested over the API process and run by the worker process on the local Temporal, ${rollouts} times under 200 predictions/s through a gateway process; (b) ${pipelines} training pipelines at once (trivial trainer, ${MODELS} models, 300-row CSV) on the same processes.`,
      reference:
        "(a) the same five traffic changes (candidate at 0 %, 10, 50, 100 %, promotion) written directly with the registry's setTraffic, interleaved with the rollouts on the same endpoint; (b) the same pipelines' activities, in the workflow's order, called in the benchmark process with the same concurrency (all at once) and no Temporal",
      figures,
      ratio: { label: 'rollout p50: workflow / direct setTraffic', value: Math.round(overhead * 100) / 100 },
      target: {
        description: `${pipelines} concurrent pipelines on the local Temporal, none failing (issue #10 sets no time target)`,
        met: p.temporalFailures === 0 && r.loadFailures === 0,
      },
      notes: [
        'rollout_*_ms: from the request (POST …/rollouts, or the first setTraffic) to the candidate being the endpoint’s champion in PostgreSQL, polled every 5 ms; *_served_*: to the first request from which the load generator saw only the candidate (gateways poll endpoints every 250 ms).',
        'The workflow also does what the reference leaves out: the rollout record and its progress, the version’s state changes, the champion alias, lineage, audit; and Temporal’s dispatch of one workflow and six activities.',
        'pipelines_*_seconds: from the first POST to the last run finished (its updated_at). The in-process reference shares this process with nothing else; the Temporal side also pays the API, payload encryption and history.',
        ...(p.failureReasons.length > 0 ? [`Pipeline failures: ${p.failureReasons.join(' | ')}`] : []),
        'API, worker, gateway, the load generator and the whole local stack share the same cores.',
      ],
    };
  } finally {
    await platform.dispose();
  }
};

export default benchmark;
