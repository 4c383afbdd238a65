import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Connection } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { Check } from './health.ts';

/** Readiness checks for each real dependency; each proves a request round trip, not an open port. */

export const postgresCheck = (ping: () => Promise<void>, name = 'postgres'): Check => ({ name, run: ping });

export const temporalCheck = (connection: Connection): Check => ({
  name: 'temporal',
  run: async () => {
    const response = await connection.healthService.check({});
    if (response.status !== 1) throw new Error(`health status ${String(response.status)}`);
  },
});

export const kafkaCheck = (kafka: Kafka): Check => ({
  name: 'kafka',
  run: async () => {
    const admin = kafka.admin({ retry: { retries: 0 } });
    await admin.connect();
    try {
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
  },
});

export const s3Check = (s3: S3Client, bucket: string): Check => ({
  name: 's3',
  run: async () => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  },
});

export const mlflowCheck = (trackingUri: string): Check => ({
  name: 'mlflow',
  run: async () => {
    const response = await fetch(new URL('/health', trackingUri), { signal: AbortSignal.timeout(2500) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  },
});
