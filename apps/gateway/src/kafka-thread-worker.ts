/**
 * The prediction log's Kafka producer, on its own thread (see kafka-thread.ts). Answers each
 * request from the gateway's main thread with `{ id, ok, result }` or `{ id, ok: false, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Producer } from 'kafkajs';
import { createKafka } from '@shepherd/clients/kafka';
import type { TsWorkerData } from '@shepherd/core/ts-worker';
import type { ProducerRequest, ProducerThreadData, SenderError } from './kafka-thread.ts';

const port = parentPort!;
const kafka = createKafka((workerData as TsWorkerData<ProducerThreadData>).data.kafka);
let producer: Producer | undefined;

async function handle(request: ProducerRequest): Promise<unknown> {
  switch (request.op) {
    case 'connect': {
      const connecting = kafka.producer(request.config);
      await connecting.connect();
      producer = connecting;
      return undefined;
    }
    case 'send':
      if (!producer) throw new Error('prediction log producer: send before connect');
      return producer.send(request.record);
    case 'disconnect':
      await producer?.disconnect();
      producer = undefined;
      return undefined;
  }
}

port.on('message', (request: ProducerRequest) => {
  handle(request).then(
    (result) => port.postMessage({ id: request.id, ok: true, result }),
    (err: unknown) => {
      const { name, message, retriable } = err as { name?: string; message?: string; retriable?: boolean };
      const error: SenderError = {
        name: name ?? 'Error',
        message: message ?? String(err),
        retriable: retriable === true,
      };
      port.postMessage({ id: request.id, ok: false, error });
    },
  );
});
