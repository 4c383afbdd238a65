import { datasetColumns, featureColumns } from '@shepherd/contracts/trainer';
import type { z } from 'zod';
import type { trainingDataSpec } from '@shepherd/contracts/training';
import { ShepherdError } from '@shepherd/core/errors';
import { saveTrainingSet, updateTrainingRun } from '@shepherd/registry/training';
import { createHash } from 'node:crypto';
import { registryContext, type ActivityDeps, type Scope } from './deps.ts';
import { guarded } from './failures.ts';

/** Deterministic in (seed, row id): the same source always splits the same way, whatever its order. */
export function inHoldout(rowId: string, seed: number, fraction: number): boolean {
  const digest = createHash('sha1').update(`${seed}:${rowId}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < fraction;
}

export interface SplitResult {
  header: string;
  train: string[];
  holdout: string[];
  featureNames: string[];
}

export function splitCsv(text: string, seed: number, fraction: number): SplitResult {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const headerLine = lines[0];
  if (headerLine === undefined) throw new ShepherdError('unprocessable', 'training data is empty');
  const header = headerLine.split(',').map((column) => column.trim());
  const idIndex = header.indexOf(datasetColumns.id);
  const labelIndex = header.indexOf(datasetColumns.label);
  if (idIndex < 0)
    throw new ShepherdError('unprocessable', `training data has no '${datasetColumns.id}' column`);
  if (labelIndex < 0)
    throw new ShepherdError('unprocessable', `training data has no '${datasetColumns.label}' column`);
  const featureNames = featureColumns(header);
  if (featureNames.length === 0)
    throw new ShepherdError('unprocessable', 'training data has no feature columns');

  const train: string[] = [];
  const holdout: string[] = [];
  for (let i = 1; i < lines.length; i += 1) {
    const line = lines[i]!;
    const fields = line.split(',');
    if (fields.length !== header.length) {
      throw new ShepherdError(
        'unprocessable',
        `training data line ${i + 1} has ${fields.length} fields, expected ${header.length}`,
      );
    }
    (inHoldout(fields[idIndex]!, seed, fraction) ? holdout : train).push(line);
  }
  const labels = (rows: string[]) => new Set(rows.map((row) => row.split(',')[labelIndex]));
  if (train.length === 0 || holdout.length === 0) {
    throw new ShepherdError('unprocessable', `training data has too few rows to split (${lines.length - 1})`);
  }
  if (labels(train).size < 2)
    throw new ShepherdError('unprocessable', 'training rows contain a single class');
  return { header: headerLine, train, holdout, featureNames };
}

export function trainingSetActivities(deps: ActivityDeps) {
  return {
    /** Snapshots the source into train and holdout sets in the artifact store; idempotent per workflow. */
    prepareTrainingSet: (input: Scope & { data: z.infer<typeof trainingDataSpec> }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const source = await deps.artifacts.get(input.data.uri);
        const split = splitCsv(source.toString('utf8'), input.data.splitSeed, input.data.holdoutFraction);
        const prefix = `training-sets/${input.workflowId}`;
        const toCsv = (rows: string[]) => Buffer.from(`${split.header}\n${rows.join('\n')}\n`);
        const train = await deps.artifacts.put(`${prefix}/train.csv`, toCsv(split.train));
        const holdout = await deps.artifacts.put(`${prefix}/holdout.csv`, toCsv(split.holdout));
        const set = await saveTrainingSet(ctx, {
          sourceUri: input.data.uri,
          trainUri: train.uri,
          trainSha256: train.sha256,
          holdoutUri: holdout.uri,
          holdoutSha256: holdout.sha256,
          trainRows: split.train.length,
          holdoutRows: split.holdout.length,
          featureNames: split.featureNames,
          manifest: {
            source: {
              uri: input.data.uri,
              sha256: createHash('sha256').update(source).digest('hex'),
              bytes: source.length,
            },
            split: {
              seed: input.data.splitSeed,
              holdoutFraction: input.data.holdoutFraction,
              by: datasetColumns.id,
            },
          },
          requestId: input.workflowId,
        });
        await updateTrainingRun(ctx, input.workflowId, { trainingSetId: set.id });
        return {
          id: set.id,
          featureNames: set.featureNames,
          trainRows: set.trainRows,
          holdoutRows: set.holdoutRows,
        };
      }),
  };
}
