import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { ShepherdError } from '@shepherd/core/errors';

export interface TemporalOptions {
  address: string;
  namespace: string;
  connectTimeoutMs?: number;
  /** Payload codecs (encryption); must match the workers'. */
  dataConverter?: DataConverter | undefined;
}

/**
 * Connects and proves the server answers, so a wrong TEMPORAL_ADDRESS fails at start with the
 * address in the message instead of as a gRPC stack trace on the first request.
 */
export async function connectTemporal(
  options: TemporalOptions,
): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: options.address,
      connectTimeout: options.connectTimeoutMs ?? 5000,
    });
    await connection.healthService.check({});
  } catch (err) {
    throw new ShepherdError(
      'upstream_unavailable',
      `cannot reach Temporal at ${options.address}: ${reason(err)}`,
      {
        cause: err,
      },
    );
  }
  const client = new Client({
    connection,
    namespace: options.namespace,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
  return { client, connection };
}

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
