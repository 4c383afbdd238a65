import { z } from 'zod';
import { kafkaTopicName } from './kafka.ts';

/**
 * Feature views and the events that feed them.
 *
 * A view is declared in code (`featureViewDefinition`), registered in the database per project
 * under (name, version), and fed by the Kafka topic `features.<name>` with `featureEventEnvelope`
 * messages. Changing what a view accepts or computes needs a new version: registration refuses a
 * different definition under an existing (name, version).
 */

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, { message: 'must be lower snake_case, starting with a letter' });

export const featureTypes = ['float', 'int', 'bool', 'string'] as const;
export const featureType = z.enum(featureTypes);
export type FeatureType = z.infer<typeof featureType>;

export const featureSpec = z.strictObject({
  name: identifier,
  type: featureType,
  /** A nullable feature accepts `null`; aggregates skip nulls, as SQL does. */
  nullable: z.boolean().default(false),
  description: z.string().max(500).optional(),
});
export type FeatureSpec = z.infer<typeof featureSpec>;

export const aggregateFunctions = ['count', 'sum', 'avg', 'min', 'max'] as const;
export const aggregateFunction = z.enum(aggregateFunctions);
export type AggregateFunction = z.infer<typeof aggregateFunction>;

const windowUnitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A window length such as `30m`, `1h`, `24h` or `7d`. */
export const windowSpec = z
  .string()
  .regex(/^[1-9][0-9]{0,4}[smhd]$/, { message: 'must be a duration like 30m, 1h, 24h or 7d' });

export function windowMs(window: string): number {
  const unit = window.slice(-1) as keyof typeof windowUnitMs;
  return Number(window.slice(0, -1)) * windowUnitMs[unit];
}

/**
 * A time-window aggregate computed at ingestion, per entity, over the events whose event time lies in
 * (t − window, t] for the event at time t (the event itself included). `count` counts events;
 * the others read `field`, a numeric feature of the same view.
 */
export const aggregateSpec = z
  .strictObject({
    /** Defaults to `<function>_<field>_<window>` (`count_<window>` for count). */
    name: identifier.optional(),
    function: aggregateFunction,
    field: identifier.optional(),
    window: windowSpec,
  })
  .refine((agg) => agg.function === 'count' || agg.field !== undefined, {
    message: 'sum, avg, min and max need a field',
    path: ['field'],
  });
export type AggregateSpec = z.infer<typeof aggregateSpec>;

export function aggregateName(agg: AggregateSpec): string {
  if (agg.name !== undefined) return agg.name;
  return agg.function === 'count' || agg.field === undefined
    ? `count_${agg.window}`
    : `${agg.function}_${agg.field}_${agg.window}`;
}

export const featureViewDefinition = z
  .strictObject({
    name: identifier,
    version: z.number().int().min(1),
    description: z.string().max(2000).optional(),
    /**
     * What the envelope's `entityId` and `eventTime` are called in retrieval results and training
     * sets, e.g. `card_id` and `event_time`.
     */
    entityKey: identifier,
    eventTimeField: identifier.default('event_time'),
    features: z.array(featureSpec).min(1).max(500),
    /** Defaults to `features.<name>`. */
    sourceTopic: kafkaTopicName.optional(),
    /** An online value older than this is reported as stale. */
    ttlSeconds: z.number().int().positive(),
    aggregates: z.array(aggregateSpec).max(100).default([]),
  })
  .superRefine((view, ctx) => {
    const types = new Map<string, FeatureType>();
    view.features.forEach((feature, index) => {
      if (types.has(feature.name)) {
        ctx.addIssue({
          code: 'custom',
          message: `feature '${feature.name}' is declared twice`,
          path: ['features', index, 'name'],
        });
      }
      types.set(feature.name, feature.type);
    });
    const reserved = new Set([view.entityKey, view.eventTimeField]);
    for (const name of types.keys()) {
      if (reserved.has(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `feature '${name}' collides with the entity key or event-time field`,
          path: ['features'],
        });
      }
    }
    const aggregateNames = new Set<string>();
    view.aggregates.forEach((agg, index) => {
      const name = aggregateName(agg);
      if (aggregateNames.has(name) || types.has(name) || reserved.has(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `aggregate name '${name}' is already used`,
          path: ['aggregates', index, 'name'],
        });
      }
      aggregateNames.add(name);
      if (agg.field !== undefined) {
        const type = types.get(agg.field);
        if (type !== 'float' && type !== 'int') {
          ctx.addIssue({
            code: 'custom',
            message: `aggregate field '${agg.field}' must be a float or int feature of this view`,
            path: ['aggregates', index, 'field'],
          });
        }
      }
    });
  });

export type FeatureViewDefinitionInput = z.input<typeof featureViewDefinition>;

/** A parsed definition: defaults applied, `sourceTopic` and every aggregate name resolved. */
export interface FeatureView extends Omit<z.infer<typeof featureViewDefinition>, 'aggregates'> {
  sourceTopic: string;
  aggregates: (AggregateSpec & { name: string })[];
}

/** Declares a view in code; throws on an invalid definition. */
export function defineFeatureView(input: FeatureViewDefinitionInput): FeatureView {
  return normalizeFeatureView(featureViewDefinition.parse(input));
}

export function normalizeFeatureView(parsed: z.infer<typeof featureViewDefinition>): FeatureView {
  return {
    ...parsed,
    sourceTopic: parsed.sourceTopic ?? `features.${parsed.name}`,
    aggregates: parsed.aggregates.map((agg) => ({ ...agg, name: aggregateName(agg) })),
  };
}

export const featureEventSchemaVersion = 1;

/** PostgreSQL text and jsonb cannot hold NUL; such a string must be refused here, not fail the batch's write. */
const storableText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !value.includes('\u0000'), { message: 'must not contain NUL characters' });

/** The envelope of every message on a `features.<view>` topic. Producers key messages by `entityId`. */
export const featureEventEnvelope = z.strictObject({
  schemaVersion: z.literal(featureEventSchemaVersion),
  entityId: storableText(256)
    .min(1)
    .refine((value) => ![...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f), {
      message: 'must not contain control characters',
    }),
  /** ISO 8601 with a timezone, e.g. 2025-01-01T12:00:00.000Z. */
  eventTime: z.iso.datetime({ offset: true }),
  values: z.record(z.string(), z.unknown()),
});
export type FeatureEventEnvelope = z.infer<typeof featureEventEnvelope>;

export type FeatureValue = number | boolean | string | null;

function valueSchema(feature: FeatureSpec): z.ZodType<FeatureValue> {
  const base =
    feature.type === 'float'
      ? z.number().finite()
      : feature.type === 'int'
        ? z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)
        : feature.type === 'bool'
          ? z.boolean()
          : storableText(4096);
  return feature.nullable ? base.nullable() : base;
}

/**
 * The schema one view's events must match: the envelope with exactly the view's features in
 * `values`. Unknown keys are refused rather than ignored, so a producer that changed its schema
 * shows up in the DLQ instead of silently losing data.
 */
export function featureEventSchema(view: FeatureView) {
  const shape: Record<string, z.ZodType<FeatureValue>> = {};
  for (const feature of view.features) shape[feature.name] = valueSchema(feature);
  return featureEventEnvelope.extend({ values: z.strictObject(shape) });
}

export interface FeatureEvent {
  schemaVersion: typeof featureEventSchemaVersion;
  entityId: string;
  eventTime: string;
  values: Record<string, FeatureValue>;
}

export const dlqTopic = 'shepherd.dlq';

export const dlqReasonCodes = [
  'too_large',
  'empty',
  'invalid_json',
  'invalid_envelope',
  'schema_mismatch',
] as const;
export const dlqReasonCode = z.enum(dlqReasonCodes);
export type DlqReasonCode = z.infer<typeof dlqReasonCode>;

/**
 * A rejected event on `shepherd.dlq`, keyed by its source topic. Delivery is at least once: a
 * consumer that crashes after producing it and before committing its offset produces it again on
 * replay, so readers deduplicate on (source.topic, source.partition, source.offset).
 */
export const dlqMessage = z.object({
  schemaVersion: z.literal(1),
  reason: z.object({
    code: dlqReasonCode,
    message: z.string(),
  }),
  source: z.object({
    topic: z.string(),
    partition: z.number().int().nonnegative(),
    offset: z.string().regex(/^\d+$/),
    /** Kafka's message timestamp, ms since the epoch, as a string (as kafkajs gives it). */
    timestamp: z.string(),
    keyBase64: z.string().nullable(),
  }),
  consumer: z.object({
    kind: z.literal('feature_ingestion'),
    projectId: z.string(),
    view: z.string(),
    version: z.number().int(),
    groupId: z.string(),
  }),
  /**
   * The original message value, byte for byte, up to dlqPayloadLimitBytes; a larger one is cut
   * there (base64 grows it by a third, and the DLQ must stay under the broker's message limit),
   * and `payload` says so, with the full value's size and sha256.
   */
  payloadBase64: z.string().nullable(),
  payload: z
    .object({ bytes: z.number().int().nonnegative(), sha256: z.string(), truncated: z.boolean() })
    .nullable()
    .optional(),
  rejectedAt: z.iso.datetime(),
});
export type DlqMessage = z.infer<typeof dlqMessage>;

/** How much of a rejected message's value the DLQ keeps. */
export const dlqPayloadLimitBytes = 256 * 1024;

/** What the online store answers for one entity. */
export const onlineFeatureVector = z.object({
  entityId: z.string(),
  found: z.boolean(),
  eventTime: z.iso.datetime().nullable(),
  values: z.record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.null()])),
  aggregates: z.record(z.string(), z.number().nullable()),
  /** Seconds between the value's event time and the time of the lookup. */
  ageSeconds: z.number().nullable(),
  /** Older than the view's TTL, or missing. */
  stale: z.boolean(),
});
export type OnlineFeatureVector = z.infer<typeof onlineFeatureVector>;

export const onlineFeaturesResponse = z.object({
  view: z.string(),
  version: z.number().int(),
  ttlSeconds: z.number().int(),
  asOf: z.iso.datetime(),
  vectors: z.array(onlineFeatureVector),
});
export type OnlineFeaturesResponse = z.infer<typeof onlineFeaturesResponse>;

export const partitionIngestionMetrics = z.object({
  partition: z.number().int(),
  /** The group's committed offset (the next offset it will read); null before the first commit. */
  committedOffset: z.string().nullable(),
  highWatermark: z.string(),
  lag: z.number().int().nonnegative(),
  /** The last offset written to the database, from the ingestion transaction itself. */
  lastIngestedOffset: z.string().nullable(),
});

export const featureViewMetrics = z.object({
  view: z.string(),
  version: z.number().int(),
  topic: z.string(),
  groupId: z.string(),
  eventsIngested: z.number().int(),
  dlqCount: z.number().int(),
  lastEventTime: z.iso.datetime().nullable(),
  lastIngestedAt: z.iso.datetime().nullable(),
  totalLag: z.number().int().nonnegative(),
  partitions: z.array(partitionIngestionMetrics),
});
export type FeatureViewMetrics = z.infer<typeof featureViewMetrics>;

/** A feature view as `GET …/feature-views` lists it; `metrics` is null when the API has no Kafka to ask. */
export const featureViewSummary = z.object({
  name: z.string(),
  version: z.number(),
  entityKey: z.string(),
  sourceTopic: z.string(),
  ttlSeconds: z.number(),
  features: z.array(z.object({ name: z.string(), type: z.string() })),
  metrics: featureViewMetrics.nullable(),
});
export type FeatureViewSummary = z.infer<typeof featureViewSummary>;

/**
 * Late ground truth on `labels.<model>`, keyed by `entityId`: the label of something that happened
 * to an entity at `eventTime` (a transaction later charged back, say). Training sets join each label
 * with the features as they were at `eventTime`, never later.
 */
export const labelEventSchemaVersion = 1;

export const labelEvent = z.strictObject({
  schemaVersion: z.literal(labelEventSchemaVersion),
  /** What was labelled (e.g. a transaction id); a label sent again under the same id replaces the earlier one. */
  id: storableText(256).min(1).optional(),
  entityId: featureEventEnvelope.shape.entityId,
  /** When the labelled thing happened (not when the label arrived), ISO 8601 with a timezone. */
  eventTime: z.iso.datetime({ offset: true }),
  /** 0/1 for classification, any finite number for regression. */
  label: z.number().finite(),
});
export type LabelEvent = z.infer<typeof labelEvent>;

/** The label topic of a model. */
export function labelTopic(model: string): string {
  return `labels.${model}`;
}

/** Offsets of one partition read for a training set: [from, to) — `to` is the next offset not read. */
export const offsetRange = z.object({
  partition: z.number().int().nonnegative(),
  from: z.string().regex(/^\d+$/),
  to: z.string().regex(/^\d+$/),
});
export type OffsetRange = z.infer<typeof offsetRange>;

/** The manifest written next to a point-in-time training set: enough to rebuild it and to trace it. */
export const pointInTimeManifest = z.object({
  kind: z.literal('point_in_time_training_set'),
  schemaVersion: z.literal(1),
  setId: z.string(),
  createdAt: z.iso.datetime(),
  data: z.object({
    uri: z.string(),
    sha256: z.string(),
    bytes: z.number().int(),
    format: z.literal('parquet'),
  }),
  columns: z.object({
    id: z.string(),
    entity: z.string(),
    time: z.string(),
    label: z.string(),
    features: z.array(z.object({ name: z.string(), view: z.string(), source: z.string(), type: z.string() })),
  }),
  labels: z.object({
    topic: z.string(),
    offsets: z.array(offsetRange),
    /** Valid label events read. */
    read: z.number().int(),
    /** Rows written: read minus superseded duplicates. */
    rows: z.number().int(),
    duplicatesSuperseded: z.number().int(),
    /** Invalid label events, counted and skipped; the first few reasons are kept. */
    rejected: z.number().int(),
    rejectedExamples: z.array(
      z.object({ partition: z.number().int(), offset: z.string(), reason: z.string() }),
    ),
    minEventTime: z.iso.datetime().nullable(),
    maxEventTime: z.iso.datetime().nullable(),
  }),
  views: z.array(
    z.object({
      name: z.string(),
      version: z.number().int(),
      definitionHash: z.string(),
      ttlSeconds: z.number().int(),
      topic: z.string(),
      /** The offline rows the join could use, by Kafka position. */
      offsets: z.array(offsetRange),
      offlineRowsRead: z.number().int(),
      /** Label rows that found a feature row within TTL. */
      rowsMatched: z.number().int(),
      /** Label rows whose latest feature row was older than the TTL (features left null). */
      rowsExpired: z.number().int(),
      /** Label rows with no feature row at or before their time. */
      rowsMissing: z.number().int(),
    }),
  ),
  rows: z.number().int(),
});
export type PointInTimeManifest = z.infer<typeof pointInTimeManifest>;

/** One field of one entity whose online value differs from the offline store's as of now. */
export const parityMismatch = z.object({
  entity: z.string(),
  /** A feature or aggregate name, or `event_time`, or `presence` when one side has no row. */
  field: z.string(),
  online: z.union([z.number(), z.boolean(), z.string(), z.null()]),
  offline: z.union([z.number(), z.boolean(), z.string(), z.null()]),
});
export type ParityMismatch = z.infer<typeof parityMismatch>;

/** The online store against offline-as-of-now for a sample of a view's entities. */
export const parityReport = z.object({
  id: z.string().optional(),
  view: z.string(),
  version: z.number().int(),
  sampled: z.number().int(),
  /** Sampled entities with at least one mismatching field. */
  mismatchedEntities: z.number().int(),
  /** mismatchedEntities / sampled (0 when nothing was sampled). */
  mismatchRate: z.number(),
  /** Mismatches per field, so a report reads per feature. */
  byField: z.record(z.string(), z.number().int()),
  /** Every mismatching field, up to a limit (see `truncated`). */
  mismatches: z.array(parityMismatch),
  truncated: z.boolean(),
  checkedAt: z.iso.datetime(),
});
export type ParityReport = z.infer<typeof parityReport>;

/** A report's mismatches per field, most first: `amount 12, event_time 3` (the first `limit`). */
export const parityFieldsSummary = (byField: ParityReport['byField'], limit = Infinity): string =>
  Object.entries(byField)
    .sort(([, a], [, b]) => b - a)
    .slice(0, limit)
    .map(([field, count]) => `${field} ${count}`)
    .join(', ');

/**
 * A recurring parity check of one view (POST …/feature-views/{view}/parity-monitor). The default
 * interval keeps a report well inside the hour a canary analysis trusts one for.
 */
export const parityMonitorConfig = z.strictObject({
  everySeconds: z.number().int().min(10).max(86_400).default(900),
  sampleSize: z.number().int().min(1).max(100_000).default(1000),
  /** Above this share of mismatching entities a parity alert fires. */
  maxMismatchRate: z.number().min(0).max(1).default(0.01),
  /** Pin a version; without it each check takes the view's highest version. */
  version: z.number().int().positive().max(2_147_483_647).optional(),
});
export type ParityMonitorConfig = z.output<typeof parityMonitorConfig>;

export const parityMonitorView = z.object({
  id: z.string(),
  view: z.string(),
  state: z.enum(['running', 'stopped']),
  config: parityMonitorConfig,
  workflowId: z.string(),
  startedBy: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  stoppedAt: z.iso.datetime().nullable(),
  /** The view's newest parity report, from this monitor or any other check; null before the first. */
  latestReport: parityReport.nullable(),
});
export type ParityMonitorView = z.infer<typeof parityMonitorView>;

/** One workflow id per start: a stopped monitor's workflow may still be ending when it is restarted. */
export const parityMonitorWorkflowId = (projectId: string, view: string, startedAtMs: number) =>
  `parity-monitor-${projectId}-${view}-${startedAtMs.toString(36)}`;
