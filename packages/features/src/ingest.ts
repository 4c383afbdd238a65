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
   * Events per view kept in memory for window aggregates, so a batch does not read its entities'
   * recent history back from the offline store; default 1,000,000 (roughly 100 MB). 0 turns it off.
   */
  windowCacheEvents?: number;
  /** The producer that writes rejects to the DLQ; default one of `kafka`'s own. */
  dlqProducer?: Pick<Producer, 'connect' | 'disconnect' | 'send'>;
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
 * Pipelined per partition: while a batch is written, the consumer fetches and validates the next
 * one, which waits for that write before its own starts. Batches of one partition are still
 * written and committed in order, one at a time.
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
  /**
   * Per partition (`topic|partition`), the write of its latest batch: true once written (and its
   * offset committed, or the commit given up), false if the write failed.
   */
  private readonly writes = new Map<string, Promise<boolean>>();
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
      const pending = [...this.writes.values()];
      await Promise.all(pending);
      if ([...this.writes.values()].every((write) => pending.includes(write))) break;
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
    if (batch.messages.length === 0 || !isRunning() || isStale() || this.stopping) return;
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
    const firstOffset = batch.messages[0]!.offset;
    const lastOffset = batch.messages[batch.messages.length - 1]!.offset;

    // The partition's previous batch may still be writing (validated while it was): it goes first.
    const key = `${batch.topic}|${batch.partition}`;
    const previous = this.writes.get(key);
    // A failed write has rewound the partition to its own first offset: this batch comes again.
    if (previous && !(await previous)) return;
    if (!isRunning() || isStale() || this.stopping) return;

    // Throws on failure: nothing is resolved, so the batch is read again.
    await this.sendToDlq(batch.topic, batch.partition, rejected);

    const write = this.writeAndCommit({
      topic: batch.topic,
      partition: batch.partition,
      valid,
      rejected,
      firstOffset,
      lastOffset,
      started,
    });
    this.writes.set(key, write);
    void write.then((ok) => {
      if (!ok && this.writes.get(key) === write) this.writes.delete(key);
    });
    // Resolving lets the consumer fetch the next batch while this one is written. Only the offset
    // commit, after the write, tells the group where to resume.
    resolveOffset(lastOffset);
    await heartbeat();
  }

  /**
   * Writes a validated batch and then commits its offset. Resolves to false when the write failed:
   * the partition is then rewound to the batch's first offset, so it is read and written again
   * (nothing after it can have been committed, since its next batch waits for this one).
   */
  private async writeAndCommit(b: {
    topic: string;
    partition: number;
    valid: ValidEvent[];
    rejected: Rejection[];
    firstOffset: string;
    lastOffset: string;
    started: number;
  }): Promise<boolean> {
    let written: Awaited<ReturnType<typeof writeBatch>>;
    try {
      written = await writeBatch(
        this.options.db,
        this.options.registered,
        {
          topic: b.topic,
          partition: b.partition,
          events: b.valid,
          rejectedOffsets: b.rejected.map((r) => r.message.offset),
          lastOffset: b.lastOffset,
        },
        { ...(this.windowCache ? { cache: this.windowCache } : {}) },
      );
    } catch (err) {
      this.log.error(
        { err, partition: b.partition, firstOffset: b.firstOffset, lastOffset: b.lastOffset },
        'batch write failed; the partition is read again from the batch',
      );
      try {
        this.consumer.seek({ topic: b.topic, partition: b.partition, offset: b.firstOffset });
      } catch (seekError) {
        // Not running any more: the group resumes from the last committed offset anyway.
        this.log.warn({ err: seekError, partition: b.partition }, 'could not rewind the partition');
      }
      return false;
    }
    try {
      await this.consumer.commitOffsets([
        { topic: b.topic, partition: b.partition, offset: (BigInt(b.lastOffset) + 1n).toString() },
      ]);
    } catch (err) {
      // The rows are in: whoever reads the batch again finds them and writes nothing twice.
      this.log.warn(
        { err, partition: b.partition, lastOffset: b.lastOffset },
        'offset commit failed after the batch was written; it will be read again',
      );
    }

    this.stats.batches += 1;
    this.stats.eventsIngested += written.inserted;
    this.stats.duplicates += written.duplicates;
    this.stats.rejected += b.rejected.length;
    this.log.debug(
      {
        partition: b.partition,
        firstOffset: b.firstOffset,
        lastOffset: b.lastOffset,
        messages: b.valid.length + b.rejected.length,
        inserted: written.inserted,
        duplicates: written.duplicates,
        historyLoaded: written.historyLoaded,
        rejected: b.rejected.length,
        ms: Math.round(performance.now() - b.started),
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
