import { and, eq } from 'drizzle-orm';
import type { Admin } from 'kafkajs';
import type { FeatureViewMetrics } from '@shepherd/contracts/features';
import type { Database } from '@shepherd/db/client';
import { featureIngestionProgress } from '@shepherd/db/schema';
import { consumerGroupId } from './ingest.ts';
import type { RegisteredFeatureView } from './registry.ts';

/**
 * Ingestion metrics of one view: counts from the progress rows (written in the ingestion
 * transactions, so they agree with the stores) and lag per partition from Kafka (the group's
 * committed offset against the high watermark). `admin` must be connected.
 */
export async function getFeatureViewMetrics(
  db: Database,
  admin: Admin,
  registered: RegisteredFeatureView,
): Promise<FeatureViewMetrics> {
  const topic = registered.view.sourceTopic;
  const groupId = consumerGroupId(registered);
  const progress = await db
    .select()
    .from(featureIngestionProgress)
    .where(
      and(
        eq(featureIngestionProgress.projectId, registered.projectId),
        eq(featureIngestionProgress.viewId, registered.id),
        eq(featureIngestionProgress.topic, topic),
      ),
    );
  // One Kafka request at a time: concurrent coordinator lookups on one admin fail with "No brokers
  // in the broker pool" when the client does not retry (the API's fails fast for readiness).
  const topicOffsets = await admin.fetchTopicOffsets(topic);
  const groupOffsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = new Map(
    (groupOffsets.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, p.offset]),
  );
  const progressByPartition = new Map(progress.map((p) => [p.partition, p]));

  const partitions = topicOffsets
    .map((p) => {
      const committedOffset = committed.get(p.partition);
      const hasCommit = committedOffset !== undefined && BigInt(committedOffset) >= 0n;
      // Without a commit the group starts at the earliest retained offset.
      const position = hasCommit ? BigInt(committedOffset) : BigInt(p.low);
      const high = BigInt(p.high);
      const lag = high > position ? Number(high - position) : 0;
      return {
        partition: p.partition,
        committedOffset: hasCommit ? committedOffset : null,
        highWatermark: p.high,
        lag,
        lastIngestedOffset: progressByPartition.get(p.partition)?.lastOffset.toString() ?? null,
      };
    })
    .sort((a, b) => a.partition - b.partition);

  let lastEventTime: Date | null = null;
  let lastIngestedAt: Date | null = null;
  for (const p of progress) {
    if (p.lastEventTime && (!lastEventTime || p.lastEventTime > lastEventTime))
      lastEventTime = p.lastEventTime;
    if (!lastIngestedAt || p.updatedAt > lastIngestedAt) lastIngestedAt = p.updatedAt;
  }
  return {
    view: registered.view.name,
    version: registered.view.version,
    topic,
    groupId,
    eventsIngested: progress.reduce((sum, p) => sum + p.eventsIngested, 0),
    dlqCount: progress.reduce((sum, p) => sum + p.dlqCount, 0),
    lastEventTime: lastEventTime?.toISOString() ?? null,
    lastIngestedAt: lastIngestedAt?.toISOString() ?? null,
    totalLag: partitions.reduce((sum, p) => sum + p.lag, 0),
    partitions,
  };
}
