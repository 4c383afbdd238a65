import { Kafka, logLevel, type Admin, type AdminConfig, type KafkaConfig } from 'kafkajs';

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
  return new ShepherdKafka(config);
}

/** kafkajs's client, whose admins retry the group-coordinator calls (see withCoordinatorRetry). */
class ShepherdKafka extends Kafka {
  override admin(config?: AdminConfig): Admin {
    return withCoordinatorRetry(super.admin(config));
  }
}

/**
 * An admin whose group-coordinator calls (fetchOffsets, describeGroups, setOffsets) retry while
 * Kafka calls the error retriable. kafkajs retries its other admin calls itself but not these,
 * which fail with "The coordinator is loading" for a while after a broker start or a group's first
 * use (a CI run's dashboard test failed on it).
 */
export function withCoordinatorRetry(admin: Admin): Admin {
  return Object.assign(Object.create(admin) as Admin, {
    fetchOffsets: ((options) => retryRetriable(() => admin.fetchOffsets(options))) as Admin['fetchOffsets'],
    describeGroups: ((groupIds) =>
      retryRetriable(() => admin.describeGroups(groupIds))) as Admin['describeGroups'],
    setOffsets: ((options) => retryRetriable(() => admin.setOffsets(options))) as Admin['setOffsets'],
  });
}

/** Runs a Kafka call again, with a growing pause, while it fails with an error Kafka marks retriable. */
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
