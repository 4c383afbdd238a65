import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

export interface KafkaOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs retries for minutes by default; callers that probe health want an answer fast. */
  connectionTimeoutMs?: number;
  retries?: number;
}

export function createKafka(options: KafkaOptions): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 10_000,
    retry: { retries: options.retries ?? 5 },
    // kafkajs logs through console by default; our apps log structured JSON on their own.
    logLevel: logLevel.NOTHING,
  };
  return new Kafka(config);
}
