import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { trainerProgress, trainerResult, type ModelTask } from '@shepherd/contracts/trainer';
import type { trainerSpec } from '@shepherd/contracts/training';
import { ShepherdError } from '@shepherd/core/errors';
import { loadModel } from '@shepherd/evaluation/model';
import { getTrainingSet, updateTrainingRun } from '@shepherd/registry/training';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';

export interface TrainedArtifact {
  uri: string;
  sha256: string;
  featureNames: string[];
  trainingMetrics: Record<string, number>;
}

export function trainActivities(deps: ActivityDeps) {
  return {
    /**
     * Runs the trainer as a child process in its own process group, heartbeating while it works.
     * Cancellation (or a lost heartbeat) kills the whole group; the next attempt starts clean.
     */
    trainModel: (
      input: Scope & {
        modelName: string;
        modelTask: ModelTask;
        trainer: z.infer<typeof trainerSpec>;
        trainingSetId: string;
        mlflowRunId: string | null;
      },
    ) =>
      guarded(async (): Promise<TrainedArtifact> => {
        const command = deps.trainers[input.trainer.name];
        if (!command || command.length === 0) {
          throw new ShepherdError(
            'unprocessable',
            `unknown trainer '${input.trainer.name}' (registered: ${Object.keys(deps.trainers).join(', ') || 'none'})`,
          );
        }
        const ctx = registryContext(deps, input);
        const set = await getTrainingSet(ctx, input.trainingSetId);
        const attempt = Context.current().info.attempt;
        const dir = resolve(deps.workDir, input.workflowId, `attempt-${attempt}`);
        await rm(dir, { recursive: true, force: true });
        const outputDir = join(dir, 'output');
        await mkdir(outputDir, { recursive: true });
        const trainPath = join(dir, 'train.csv');
        await deps.artifacts.download(set.trainUri, trainPath, set.trainSha256);

        await runTrainer(command, {
          SHEPHERD_TRAIN_DATA: trainPath,
          SHEPHERD_OUTPUT_DIR: outputDir,
          // The task belongs to the model; a trainer learns it through its params.
          SHEPHERD_PARAMS: JSON.stringify(
            input.modelTask === 'regression'
              ? { task: 'regression', ...input.trainer.params }
              : input.trainer.params,
          ),
          SHEPHERD_SEED: String(input.trainer.seed),
          ...(input.mlflowRunId && deps.mlflow
            ? { MLFLOW_TRACKING_URI: deps.mlflow.trackingUri, MLFLOW_RUN_ID: input.mlflowRunId }
            : {}),
        });

        const modelPath = join(outputDir, 'model.onnx');
        if (!(await stat(modelPath).catch(() => undefined))) {
          throw new ShepherdError(
            'unprocessable',
            `trainer '${input.trainer.name}' exited 0 but wrote no model.onnx`,
          );
        }
        const result = trainerResult.safeParse(
          JSON.parse(await readFile(join(outputDir, 'result.json'), 'utf8').catch(() => 'null')),
        );
        if (!result.success) {
          throw new ShepherdError(
            'unprocessable',
            `trainer '${input.trainer.name}' wrote no valid result.json: ${result.error.message}`,
          );
        }
        const bytes = await readFile(modelPath);
        const model = await loadModel(bytes, { task: input.modelTask });
        try {
          if (model.nFeatures !== undefined && model.nFeatures !== result.data.featureNames.length) {
            throw new ShepherdError(
              'unprocessable',
              `model.onnx expects ${model.nFeatures} features but result.json names ${result.data.featureNames.length}`,
            );
          }
        } finally {
          await model.close();
        }
        const stored = await deps.artifacts.put(
          `models/${input.modelName}/${input.workflowId}/model.onnx`,
          bytes,
        );
        await updateTrainingRun(ctx, input.workflowId, { step: 'trained' });
        await rm(dir, { recursive: true, force: true });
        return {
          uri: stored.uri,
          sha256: stored.sha256,
          featureNames: result.data.featureNames,
          trainingMetrics: result.data.trainingMetrics,
        };
      }),
  };
}

const setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/** Runs the trainer, turning its progress lines into heartbeats and its failure into a clear error. */
async function runTrainer(command: string[], env: Record<string, string>): Promise<void> {
  const context = Context.current();
  const [program, ...args] = command as [string, ...string[]];
  // Its own process group so cancellation kills everything it forked; and, where util-linux's
  // setpriv exists, a parent-death signal so a killed worker leaves no orphaned trainer behind.
  const [launcher, launcherArgs] = setprivPath
    ? [setprivPath, ['--pdeathsig', 'SIGKILL', '--', program, ...args]]
    : [program, args];
  const child = spawn(launcher, launcherArgs, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderrTail = '';
  let lastProgress: z.infer<typeof trainerProgress> = { progress: 0 };
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const parsed = trainerProgress.safeParse(JSON.parse(line));
        if (parsed.success) lastProgress = parsed.data;
      } catch {
        // not a progress line
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2000);
  });
  const heartbeat = setInterval(() => context.heartbeat(lastProgress), 2000);
  const kill = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  context.cancellationSignal.addEventListener('abort', kill);
  try {
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('close', resolvePromise);
    });
    if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason ?? new Error('cancelled');
    if (code !== 0) {
      const tail = stderrTail.trim().split('\n').slice(-5).join('\n');
      throw new ShepherdError(
        'unprocessable',
        `trainer exited with code ${code}: ${tail || '(no output on stderr)'}`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ShepherdError('unprocessable', `trainer command not found: ${program}`);
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
    context.cancellationSignal.removeEventListener('abort', kill);
    kill();
  }
}
