import { createHash } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import {
  dlqPayloadLimitBytes,
  dlqTopic,
  type DlqMessage,
  type DlqReasonCode,
} from '@shepherd/contracts/features';
import type { Logger } from '@shepherd/core/logger';
import type { Database } from '@shepherd/db/client';
import type { RegisteredFeatureView } from './registry.ts';
import { writeBatch, type ValidEvent } from './store.ts';
import { createEventValidator, defaultMaxEventBytes } from './validate.ts';
import { EntityWindowCache } from './window-cache.ts';

/** One consumer group per project, view and version: two versions of a view read the topic apart. */
export function consumerGroupId(registered: Pick<RegisteredFeatureView, 'projectId' | 'view'>): string {
  return `shepherd.features.${registered.projectId}.${registered.view.name}.v${registered.view.version}`;
}

/** Bytes of DLQ messages per produce request: under the broker's 1 MiB default with room for framing. */
const dlqSendBytes = 512 * 1024;

export interface Rejection {
  message: KafkaMessage;
  code: DlqReasonCode;
  reason: string;
}

export interface IngestorOptions {
  kafka: Kafka;
  db: Database;
  registered: RegisteredFeatureView;
  logger: Logger;
  /** Default 64 KiB. */
  maxEventBytes?: number;
  /** Where a new consumer group starts; default the beginning of the topic (nothing skipped). */
  fromBeginning?: boolean;
  /** Partitions created when the source topic doesn't exist yet. */
  topicPartitions?: number;
  /**
   * How long the broker waits for a silent member before giving its partitions away: after a
   * crash, the restarted process waits this long for its old self. Default 15 s.
   */
  sessionTimeoutMs?: number;
  /**
   * Partitions whose batches are written at the same time, each in its own transaction; default 3.
   * Writers of one partition are still serialised (by its progress row), and online rows are
   * written in entity order, so concurrent batches cannot deadlock.
   */
  partitionsConsumedConcurrently?: number;
  /**
   * How much one fetch brings per partition; default 4 MiB. Bigger batches spread the fixed cost
   * of a transaction (locks, window history, progress) over more events.
   */
  maxBytesPerPartition?: number;
  /**
   * The most events one transaction takes: consecutive Kafka batches of a partition that queued up
   * while the previous write ran are written together, up to this; default 32,000. Also bounds
   * what a partition holds waiting (about as much again).
   */
  maxEventsPerWrite?: number;
  /**
   * Events per view kept in memory for window aggregates, so a batch does not read its entities'
   * recent history back from the offline store; default 1,000,000 (roughly 100 MB). 0 turns it off.
   */
  windowCacheEvents?: number;
  /** The producer that writes rejects to the DLQ; default one of `kafka`'s own. */
  dlqProducer?: Pick<Producer, 'connect' | 'disconnect' | 'send'>;
}

/** A Kafka batch, validated, with its rejects already on the DLQ, waiting for its write. */
interface Validated {
  valid: ValidEvent[];
  rejected: Rejection[];
  firstOffset: string;
  lastOffset: string;
  /** performance.now() when it was handed over. */
  started: number;
}

const size = (item: Validated) => item.valid.length + item.rejected.length;

/** One partition's write pipeline. */
interface PartitionWrites {
  topic: string;
  partition: number;
  queue: Validated[];
  /** Events in `queue`. */
  queued: number;
  /** The loop writing `queue`, while it runs. */
  draining?: Promise<void> | undefined;
  /** Its write under way: resolves to false if that write failed. */
  current?: Promise<boolean> | undefined;
}

export interface IngestorStats {
  batches: number;
  eventsIngested: number;
  duplicates: number;
  rejected: number;
}

/**
 * Feeds one feature view from its topic. Per Kafka batch (one partition): validate every message,
 * send rejects to the DLQ (acknowledged by all replicas), write offline + online rows in one
 * transaction, and only then commit the offset. A failure anywhere before the commit leaves the
 * offset where it was, so the batch is read again; the offline primary key and the progress row
 * make that replay write nothing twice.
 *
 * Pipelined per partition: while a write runs, the consumer fetches and validates the next
 * batches, which queue up and go together in the next write. Batches of one partition are still
 * written and committed in order, one write at a time.
 */
export class FeatureIngestor {
  readonly groupId: string;
  readonly topic: string;
  readonly stats: IngestorStats = { batches: 0, eventsIngested: 0, duplicates: 0, rejected: 0 };
  private readonly consumer: Consumer;
  private readonly producer: Pick<Producer, 'connect' | 'disconnect' | 'send'>;
  private readonly validate: ReturnType<typeof createEventValidator>;
  private readonly log: Logger;
  private readonly windowCache: EntityWindowCache | undefined;
  /** Per partition (`topic|partition`), its validated batches and the write under way. */
  private readonly writes = new Map<string, PartitionWrites>();
  private readonly maxEventsPerWrite: number;
  private stopping = false;
  private started = false;

  constructor(private readonly options: IngestorOptions) {
    const { registered } = options;
    this.groupId = consumerGroupId(registered);
    this.topic = registered.view.sourceTopic;
    this.consumer = options.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs ?? 15_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: 3 * (options.maxBytesPerPartition ?? 4 * 1024 * 1024),
    });
    this.producer = options.dlqProducer ?? options.kafka.producer({ allowAutoTopicCreation: false });
    this.validate = createEventValidator(registered.view, {
      maxEventBytes: options.maxEventBytes ?? defaultMaxEventBytes,
    });
    this.maxEventsPerWrite = options.maxEventsPerWrite ?? 32_000;
    if (!Number.isSafeInteger(this.maxEventsPerWrite) || this.maxEventsPerWrite < 1) {
      throw new RangeError(`maxEventsPerWrite must be a positive integer, got ${this.maxEventsPerWrite}`);
    }
    const cacheEvents = options.windowCacheEvents ?? 1_000_000;
    this.windowCache = cacheEvents > 0 ? new EntityWindowCache(registered.id, cacheEvents) : undefined;
    this.log = options.logger.child({
      view: registered.view.name,
      version: registered.view.version,
      topic: this.topic,
      groupId: this.groupId,
    });
  }

  /** Connects, makes sure the source topic and the DLQ exist, and starts consuming. */
  async start(): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        { topic: this.topic, numPartitions: this.options.topicPartitions ?? 3 },
        { topic: dlqTopic, numPartitions: 3 },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: this.options.fromBeginning ?? true });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      this.log.error(
        { err: event.payload.error, restart: event.payload.restart },
        'feature ingestion consumer crashed',
      );
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.started = true;
    this.log.info('feature ingestion started');
  }

  /** Finishes the batches in hand (their writes and offset commits), then leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Still a member of the group while these finish, so their offset commits count.
    for (;;) {
      const draining = [...this.writes.values()].flatMap((w) => (w.draining ? [w.draining] : []));
      if (draining.length === 0) break;
      await Promise.all(draining);
    }
    await this.consumer.disconnect();
    this.stopping = false;
    await this.producer.disconnect();
    if (this.started) this.log.info({ stats: this.stats }, 'feature ingestion stopped');
    this.started = false;
  }

  /** Lets a supervisor stop the process when the consumer gives up (it restarts itself otherwise). */
  onCrash(listener: (error: Error, restart: boolean) => void): void {
    this.consumer.on(this.consumer.events.CRASH, (event) =>
      listener(event.payload.error, event.payload.restart),
    );
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) {
    const usable = () => isRunning() && !isStale() && !this.stopping;
    if (batch.messages.length === 0 || !usable()) return;
    const started = performance.now();
    const valid: ValidEvent[] = [];
    const rejected: Rejection[] = [];
    for (const message of batch.messages) {
      const outcome = this.validate(message.value);
      if (outcome.ok) {
        valid.push({ offset: message.offset, event: outcome.event, eventTimeMs: outcome.eventTimeMs });
      } else {
        rejected.push({ message, code: outcome.code, reason: outcome.message });
      }
    }
    const item: Validated = {
      valid,
      rejected,
      firstOffset: batch.messages[0]!.offset,
      lastOffset: batch.messages[batch.messages.length - 1]!.offset,
      started,
    };

    const key = `${batch.topic}|${batch.partition}`;
    let writes = this.writes.get(key);
    if (!writes) {
      writes = { topic: batch.topic, partition: batch.partition, queue: [], queued: 0 };
      this.writes.set(key, writes);
    }
    // Bounded: a partition holds at most one write's worth of events waiting.
    while (writes.queued >= this.maxEventsPerWrite && writes.current) await writes.current;
    // A write that failed meanwhile rewound the partition: this batch will be fetched again.
    if (!usable()) return;

    // Throws on failure: nothing is resolved, so the batch is read again.
    await this.sendToDlq(batch.topic, batch.partition, rejected);
    if (!usable()) return;

    writes.queue.push(item);
    writes.queued += size(item);
    writes.draining ??= this.drain(writes);
    // Resolving lets the consumer fetch the next batch while this one waits or is written. Only the
    // offset commit, after the write, tells the group where to resume.
    resolveOffset(item.lastOffset);
    await heartbeat();
  }

  /**
   * Writes a partition's validated batches in order, each write taking whatever has queued up
   * since the last one (up to `maxEventsPerWrite` events) in one transaction: while PostgreSQL is
   * busy, writes grow and their fixed costs (locking and upserting each entity's online row once
   * per write) are paid less often.
   */
  private async drain(writes: PartitionWrites): Promise<void> {
    try {
      while (writes.queue.length > 0) {
        const items: Validated[] = [];
        let events = 0;
        while (
          writes.queue.length > 0 &&
          (items.length === 0 || events + size(writes.queue[0]!) <= this.maxEventsPerWrite)
        ) {
          const item = writes.queue.shift()!;
          items.push(item);
          events += size(item);
        }
        writes.queued -= events;
        writes.current = this.writeAndCommit(writes, items);
        if (!(await writes.current)) {
          // Rewound to the first of these: what is queued behind them is read again too.
          writes.queue = [];
          writes.queued = 0;
          return;
        }
      }
    } finally {
      writes.current = undefined;
      writes.draining = undefined;
    }
  }

  /**
   * Writes consecutive batches of one partition in one transaction, then commits the offset after
   * the last. Resolves to false when the write failed: the partition is then rewound to the first
   * batch's first offset, so it is read and written again (nothing after it can have been
   * committed, since later writes of the partition wait for this one).
   */
  private async writeAndCommit(writes: PartitionWrites, items: readonly Validated[]): Promise<boolean> {
    const { topic, partition } = writes;
    const firstOffset = items[0]!.firstOffset;
    const lastOffset = items[items.length - 1]!.lastOffset;
    const rejectedOffsets = items.flatMap((item) => item.rejected.map((r) => r.message.offset));
    let written: Awaited<ReturnType<typeof writeBatch>>;
    try {
      written = await writeBatch(
        this.options.db,
        this.options.registered,
        {
          topic,
          partition,
          events: items.length === 1 ? items[0]!.valid : items.flatMap((item) => item.valid),
          rejectedOffsets,
          lastOffset,
        },
        { ...(this.windowCache ? { cache: this.windowCache } : {}) },
      );
    } catch (err) {
      this.log.error(
        { err, partition, firstOffset, lastOffset },
        'batch write failed; the partition is read again from the batch',
      );
      try {
        this.consumer.seek({ topic, partition, offset: firstOffset });
      } catch (seekError) {
        // Not running any more: the group resumes from the last committed offset anyway.
        this.log.warn({ err: seekError, partition }, 'could not rewind the partition');
      }
      return false;
    }
    try {
      await this.consumer.commitOffsets([{ topic, partition, offset: (BigInt(lastOffset) + 1n).toString() }]);
    } catch (err) {
      // The rows are in: whoever reads the batch again finds them and writes nothing twice.
      this.log.warn(
        { err, partition, lastOffset },
        'offset commit failed after the batch was written; it will be read again',
      );
    }

    this.stats.batches += items.length;
    this.stats.eventsIngested += written.inserted;
    this.stats.duplicates += written.duplicates;
    this.stats.rejected += rejectedOffsets.length;
    this.log.debug(
      {
        partition,
        firstOffset,
        lastOffset,
        kafkaBatches: items.length,
        messages: items.reduce((n, item) => n + size(item), 0),
        inserted: written.inserted,
        duplicates: written.duplicates,
        historyLoaded: written.historyLoaded,
        rejected: rejectedOffsets.length,
        ms: Math.round(performance.now() - items[0]!.started),
      },
      'batch ingested',
    );
    return true;
  }

  /**
   * Sends rejects to the DLQ, acknowledged by all replicas. Sent in parts: one produce request of
   * many large rejects would exceed the broker's limit (all DLQ messages share a key, so they land
   * in one partition's record batch).
   */
  private async sendToDlq(topic: string, partition: number, rejected: readonly Rejection[]): Promise<void> {
    let part: { key: string; value: string; headers: Record<string, string> }[] = [];
    let partBytes = 0;
    for (const r of rejected) {
      const value = JSON.stringify(this.dlqMessage(topic, partition, r));
      if (part.length > 0 && partBytes + value.length > dlqSendBytes) {
        await this.producer.send({ topic: dlqTopic, acks: -1, messages: part });
        part = [];
        partBytes = 0;
      }
      part.push({ key: topic, value, headers: { 'source-topic': topic, reason: r.code } });
      partBytes += value.length;
    }
    if (part.length > 0) await this.producer.send({ topic: dlqTopic, acks: -1, messages: part });
  }

  private dlqMessage(topic: string, partition: number, rejection: Rejection): DlqMessage {
    const { registered } = this.options;
    return {
      schemaVersion: 1,
      reason: { code: rejection.code, message: rejection.reason },
      source: {
        topic,
        partition,
        offset: rejection.message.offset,
        timestamp: rejection.message.timestamp,
        keyBase64: rejection.message.key ? rejection.message.key.toString('base64') : null,
      },
      consumer: {
        kind: 'feature_ingestion',
        projectId: registered.projectId,
        view: registered.view.name,
        version: registered.view.version,
        groupId: this.groupId,
      },
      ...dlqPayload(rejection.message.value),
      rejectedAt: new Date().toISOString(),
    };
  }
}

/** The rejected value as the DLQ keeps it: whole when small, cut with its size and hash when not. */
function dlqPayload(value: Buffer | null): Pick<DlqMessage, 'payloadBase64' | 'payload'> {
  if (!value) return { payloadBase64: null, payload: null };
  const truncated = value.length > dlqPayloadLimitBytes;
  return {
    payloadBase64: (truncated ? value.subarray(0, dlqPayloadLimitBytes) : value).toString('base64'),
    payload: { bytes: value.length, sha256: createHash('sha256').update(value).digest('hex'), truncated },
  };
}

/** Creates the topics that don't exist yet; existing ones are left as they are. */
export async function ensureTopics(
  admin: Admin,
  topics: { topic: string; numPartitions: number }[],
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another process created it between the list and the create.
    if ((err as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw err;
  }
}
