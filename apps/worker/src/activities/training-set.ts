import { datasetColumns, featureColumns } from '@shepherd/contracts/trainer';
import type { z } from 'zod';
import type { trainingDataSpec } from '@shepherd/contracts/training';
import { ShepherdError } from '@shepherd/core/errors';
import { saveTrainingSet, updateTrainingRun } from '@shepherd/registry/training';
import { createHash } from 'node:crypto';
import { parquetReadObjects } from 'hyparquet';
import { labelTopic, type OffsetRange, type PointInTimeManifest } from '@shepherd/contracts/features';
import { buildPointInTimeSet } from '@shepherd/features/point-in-time';
import { addEdges, type NewEdge } from '@shepherd/registry/lineage';
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

type DataSpec = z.infer<typeof trainingDataSpec>;

/** A CSV cell: empty for a missing value (features outside TTL), numbers as JavaScript writes them. */
const cell = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  const text = value instanceof Date ? value.toISOString() : String(value);
  if (/[",\n]/.test(text))
    throw new ShepherdError('unprocessable', `a training value contains a comma or quote: ${text}`);
  return text;
};

export function trainingSetActivities(deps: ActivityDeps) {
  /**
   * A point-in-time set from feature views and labels, as the labelled CSV the trainer contract
   * takes: the entity column renamed to the contract's, features in the set's column order.
   */
  async function pointInTimeSource(input: Scope & { data: DataSpec; modelName: string }) {
    if (!deps.kafka)
      throw new ShepherdError(
        'unprocessable',
        'this worker has no Kafka: point-in-time training sets need one',
      );
    const built = await buildPointInTimeSet(
      { db: deps.db, kafka: deps.kafka, artifacts: deps.artifacts },
      {
        projectId: input.projectId,
        setId: input.workflowId,
        labels: { topic: input.data.labelTopic ?? labelTopic(input.modelName) },
        views: input.data.views!,
      },
    );
    const { columns } = built.manifest;
    const rows = await parquetReadObjects({ file: toArrayBuffer(await deps.artifacts.get(built.dataUri)) });
    const header = [
      datasetColumns.id,
      datasetColumns.entity,
      datasetColumns.time,
      ...columns.features.map((f) => f.name),
      datasetColumns.label,
    ];
    const sourceColumns = [
      columns.id,
      columns.entity,
      columns.time,
      ...columns.features.map((f) => f.name),
      columns.label,
    ];
    const lines = rows.map((row) => sourceColumns.map((name) => cell(row[name])).join(','));
    return {
      text: `${header.join(',')}\n${lines.join('\n')}\n`,
      uri: built.dataUri,
      sha256: built.sha256,
      manifest: built.manifest,
    };
  }

  return {
    /** Snapshots the source into train and holdout sets in the artifact store; idempotent per workflow. */
    prepareTrainingSet: (input: Scope & { data: DataSpec; modelName?: string }) =>
      guarded(async () => {
        const ctx = registryContext(deps, input);
        const pit = input.data.views
          ? await pointInTimeSource({ ...input, modelName: input.modelName ?? '' })
          : undefined;
        const source = pit ? Buffer.from(pit.text) : await deps.artifacts.get(input.data.uri!);
        const sourceUri = pit ? pit.uri : input.data.uri!;
        const split = splitCsv(source.toString('utf8'), input.data.splitSeed, input.data.holdoutFraction);
        const prefix = `training-sets/${input.workflowId}`;
        const toCsv = (rows: string[]) => Buffer.from(`${split.header}\n${rows.join('\n')}\n`);
        const train = await deps.artifacts.put(`${prefix}/train.csv`, toCsv(split.train));
        const holdout = await deps.artifacts.put(`${prefix}/holdout.csv`, toCsv(split.holdout));
        const set = await saveTrainingSet(ctx, {
          sourceUri,
          trainUri: train.uri,
          trainSha256: train.sha256,
          holdoutUri: holdout.uri,
          holdoutSha256: holdout.sha256,
          trainRows: split.train.length,
          holdoutRows: split.holdout.length,
          featureNames: split.featureNames,
          manifest: {
            source: {
              uri: sourceUri,
              sha256: pit ? pit.sha256 : createHash('sha256').update(source).digest('hex'),
              bytes: source.length,
            },
            split: {
              seed: input.data.splitSeed,
              holdoutFraction: input.data.holdoutFraction,
              by: datasetColumns.id,
            },
            ...(pit ? { pointInTime: pit.manifest } : {}),
          },
          requestId: input.workflowId,
        });
        if (pit) await addEdges(deps.db, input.projectId, pointInTimeLineage(set.id, pit.manifest));
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

const toArrayBuffer = (buffer: Buffer): ArrayBuffer =>
  buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;

/**
 * A topic's offset ranges as one lineage node id: the topic and a digest of the ranges, short
 * enough for a URL path segment; the ranges themselves are in the edge's metadata.
 */
const topicRangeId = (topic: string, offsets: readonly OffsetRange[]) =>
  `${topic}#${createHash('sha256')
    .update(offsets.map((o) => `${o.partition}:${o.from}-${o.to}`).join(','))
    .digest('hex')
    .slice(0, 12)}`;

/** Where a point-in-time set came from: label offsets, and each view with the offsets of its rows. */
export function pointInTimeLineage(setId: string, manifest: PointInTimeManifest): NewEdge[] {
  const set = { kind: 'training_set' as const, id: setId };
  const edges: NewEdge[] = [
    {
      from: { kind: 'topic_range', id: topicRangeId(manifest.labels.topic, manifest.labels.offsets) },
      to: set,
      relation: 'labelled',
      metadata: {
        topic: manifest.labels.topic,
        offsets: manifest.labels.offsets,
        rows: manifest.labels.rows,
      },
    },
  ];
  // The offsets a set read hang off the set, not the view: a view feeds many sets, and walking
  // upstream from one version must reach its own offsets, not every range any set ever read.
  for (const view of manifest.views) {
    const node = { kind: 'feature_view' as const, id: `${view.name}@${view.version}` };
    edges.push({
      from: { kind: 'topic_range', id: topicRangeId(view.topic, view.offsets) },
      to: set,
      relation: 'read',
      metadata: {
        topic: view.topic,
        offsets: view.offsets,
        rows: view.offlineRowsRead,
        featureView: node.id,
      },
    });
    edges.push({ from: node, to: set, relation: 'features', metadata: { rowsMatched: view.rowsMatched } });
  }
  return edges;
}
