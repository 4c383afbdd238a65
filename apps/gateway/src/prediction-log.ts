import type { PredictionEvent } from '@shepherd/contracts/serving';
import type { Logger } from '@shepherd/core/logger';
import type { LogProducer, ProducerSource } from './kafka-thread.ts';

export interface PredictionLogOptions {
  /** kafkajs's client will do; the gateway gives it `producerThreads` (kafka-thread.ts). */
  kafka: ProducerSource;
  topic: string;
  logger: Logger;
  /** Events held at most (queued plus the batch being sent); beyond it new events are shed. */
  capacity: number;
  /** Events per Kafka request. */
  batchSize?: number;
  /** How long a partial batch waits for company before it is sent (Kafka's linger.ms). */
  lingerMs?: number;
  /** How long `close` may take before what is still held is given up (and counted as lost). */
  closeTimeoutMs?: number;
}

export interface PredictionLogCounters {
  /** Offered and not accepted because the buffer was full: lost from the log. */
  shed: number;
  /** Given up at shutdown because Kafka did not take them in time: lost from the log. */
  droppedAtShutdown: number;
  sent: number;
  /** Queued plus in flight. */
  held: number;
  capacity: number;
  sendFailures: number;
  connected: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The prediction log, off the request path: `offer` only appends to a bounded in-memory buffer, and
 * a background loop drains it to Kafka in batches. When Kafka is slow or down the buffer fills and
 * new events are shed (the newest go, so what is held stays in order); every shed event is counted,
 * so the shed count says exactly what the log is missing. Requests never wait for Kafka.
 */
export class PredictionLog {
  private queue: PredictionEvent[] = [];
  /** Read position in `queue`; compacted now and then instead of shifting per event. */
  private head = 0;
  private inFlight = 0;
  private producer: LogProducer | undefined;
  private connected = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly counters = { shed: 0, droppedAtShutdown: 0, sent: 0, sendFailures: 0 };
  private lastShedLogAt = 0;
  private shedSinceLog = 0;

  constructor(private readonly options: PredictionLogOptions) {}

  /** Never blocks and never throws: false when the event was shed. */
  offer(event: PredictionEvent): boolean {
    if (this.queue.length - this.head + this.inFlight >= this.options.capacity) {
      this.counters.shed += 1;
      this.shedSinceLog += 1;
      const now = Date.now();
      // Logged at most every 10 s with the count since the last line, so an outage is one line per 10 s.
      if (now - this.lastShedLogAt >= 10_000) {
        this.options.logger.warn(
          { shed: this.shedSinceLog, shedTotal: this.counters.shed, capacity: this.options.capacity },
          'prediction log buffer full: shedding events (Kafka slow or unreachable)',
        );
        this.lastShedLogAt = now;
        this.shedSinceLog = 0;
      }
      return false;
    }
    this.queue.push(event);
    if (this.wake) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
    return true;
  }

  stats(): PredictionLogCounters {
    return {
      ...this.counters,
      held: this.queue.length - this.head + this.inFlight,
      capacity: this.options.capacity,
      connected: this.connected,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.drain();
  }

  /**
   * Stops within `closeTimeoutMs`: a last attempt to send what is held, then what remains is counted
   * as dropped at shutdown and logged. Kafka being down never holds a shutdown up.
   */
  async close(): Promise<void> {
    const timeoutMs = this.options.closeTimeoutMs ?? 3000;
    this.running = false;
    this.wake?.();
    const deadline = sleep(timeoutMs).then(() => 'timeout' as const);
    await Promise.race([this.loop, deadline]);
    const remaining = this.queue.length - this.head + this.inFlight;
    if (remaining > 0) {
      this.counters.droppedAtShutdown += remaining;
      this.options.logger.warn(
        { dropped: remaining, shedTotal: this.counters.shed },
        'prediction log: events not delivered to Kafka before shutdown',
      );
      this.queue = [];
      this.head = 0;
      this.inFlight = 0;
    }
    const producer = this.producer;
    this.producer = undefined;
    this.connected = false;
    if (producer) {
      await Promise.race([producer.disconnect().catch(() => undefined), sleep(1000)]);
    }
  }

  private async drain(): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    let backoffMs = 100;
    // After `close`, keep sending until the queue is empty (or `close` gives up on us).
    while (this.running || (this.connected && this.queue.length - this.head > 0)) {
      if (this.queue.length - this.head === 0) {
        if (!this.running) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          // A periodic wake-up too, in case an offer raced the assignment above.
          setTimeout(resolve, 100).unref();
        });
        this.wake = undefined;
        continue;
      }
      // Linger a little for a fuller batch: one request per event would cost more CPU than the events.
      const lingerMs = this.options.lingerMs ?? 20;
      if (this.running && lingerMs > 0 && this.queue.length - this.head < batchSize) await sleep(lingerMs);
      try {
        const producer = await this.connect();
        const batch = this.queue.slice(this.head, this.head + batchSize);
        this.head += batch.length;
        this.inFlight = batch.length;
        if (this.head > 10_000 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        try {
          await producer.send({
            topic: this.options.topic,
            messages: batch.map((event) => ({ key: event.endpoint, value: JSON.stringify(event) })),
          });
          this.counters.sent += batch.length;
          this.inFlight = 0;
          backoffMs = 100;
        } catch (err) {
          // Put the batch back in front: it is still held (and counted as held), not lost.
          this.queue = batch.concat(this.queue.slice(this.head));
          this.head = 0;
          this.inFlight = 0;
          throw err;
        }
      } catch (err) {
        this.counters.sendFailures += 1;
        if (this.connected || this.counters.sendFailures === 1) {
          this.options.logger.warn({ err }, 'prediction log: Kafka send failed; holding events and retrying');
        }
        await this.disconnect();
        if (!this.running) break;
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  private async connect(): Promise<LogProducer> {
    if (this.producer && this.connected) return this.producer;
    const producer = this.options.kafka.producer({
      allowAutoTopicCreation: true,
      // The log tolerates a lost event far better than a stalled buffer: fail fast and let the loop retry.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.producer = producer;
    await producer.connect();
    this.connected = true;
    this.options.logger.info({ topic: this.options.topic }, 'prediction log connected to Kafka');
    return producer;
  }

  private async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connected = false;
    if (producer) await Promise.race([producer.disconnect().catch(() => undefined), sleep(1000)]);
  }
}
