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

/**
 * Runs a Kafka admin call again while it fails with an error Kafka marks retriable. kafkajs retries
 * some admin calls itself but not group-coordinator ones (fetchOffsets, describeGroups, setOffsets),
 * which fail with "The coordinator is loading" for a while after a broker start or a group's first
 * use.
 */
export async function retryRetriable<T>(
  call: () => Promise<T>,
  { attempts = 8, delayMs = 250 }: { attempts?: number; delayMs?: number } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = (error as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
    }
  }
}
