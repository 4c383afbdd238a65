import type { Worker } from 'node:worker_threads';
import type { Producer, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';
import type { KafkaOptions } from '@shepherd/clients/kafka';
import { startTsWorker } from '@shepherd/core/ts-worker';

/** The part of a kafkajs producer the prediction log uses. */
export type LogProducer = Pick<Producer, 'connect' | 'send' | 'disconnect'>;

/** Where the prediction log gets its producers: kafkajs's client, or `producerThreads` below. */
export interface ProducerSource {
  producer(config: ProducerConfig): LogProducer;
}

export interface ProducerThreadData {
  kafka: KafkaOptions;
}

type ProducerOp =
  { op: 'connect'; config: ProducerConfig } | { op: 'send'; record: ProducerRecord } | { op: 'disconnect' };

export type ProducerRequest = ProducerOp & { id: number };

export interface SenderError {
  name: string;
  message: string;
  retriable: boolean;
}

type ProducerReply =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SenderError };

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

const workerEntry = new URL('./kafka-thread-worker.ts', import.meta.url);

/**
 * Producers whose kafkajs client runs on a worker thread of its own, one thread per producer.
 *
 * Why: in the gateway, kafkajs's work for each batch of the prediction log (partitioning, record
 * encoding, checksums, socket writes) ran on the thread that answers requests, about 0.5–1 ms every
 * 20 ms, and requests that arrived meanwhile waited for it: with the log on, the gateway's p99 at
 * 1,000 predictions/s was 1–2.3 ms higher than with it off (bench/README.md, `gateway`). Here the
 * main thread only serializes the batch and posts it.
 *
 * A thread that dies fails what it had in hand; the prediction log then holds the batch and
 * reconnects, which starts a new thread.
 */
export function producerThreads(kafka: KafkaOptions): ProducerSource {
  return { producer: (config) => new ThreadProducer(kafka, config) };
}

class ThreadProducer implements LogProducer {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(
    private readonly kafka: KafkaOptions,
    private readonly config: ProducerConfig,
  ) {}

  async connect(): Promise<void> {
    await this.call({ op: 'connect', config: this.config });
  }

  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.call({ op: 'send', record }) as Promise<RecordMetadata[]>;
  }

  /** Ends the thread within a second, whether or not kafkajs managed to say goodbye to the broker. */
  async disconnect(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([this.call({ op: 'disconnect' }).catch(() => undefined), timeout]);
    this.worker = undefined;
    await worker.terminate();
  }

  private call(request: ProducerOp): Promise<unknown> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Held open while an answer is due (a last batch at shutdown), never otherwise.
      worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  private start(): Worker {
    const worker = startTsWorker<ProducerThreadData>(workerEntry, { kafka: this.kafka });
    worker.on('message', (reply: ProducerReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(Object.assign(new Error(reply.error.message), reply.error));
    });
    const fail = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`prediction log producer thread exited (code ${code})`)));
    return worker;
  }
}
