import type { Admin } from 'kafkajs';
import { and, eq, sql } from 'drizzle-orm';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { featureIngestionProgress, featureOnlineRows, type NewFeatureOnlineRow } from '@shepherd/db/schema';
import { consumerGroupId } from './ingest.ts';
import { offlineAsOf } from './parity.ts';
import { rowsOf } from './point-in-time.ts';
import { getFeatureView, type RegisteredFeatureView } from './registry.ts';

export interface RebuildResult {
  view: string;
  version: number;
  /** Online rows before the rebuild. */
  removed: number;
  /** Online rows written from the offline store. */
  written: number;
}

/** Entities per round trip while rebuilding. */
const rebuildChunk = 1000;

/**
 * Rebuilds a view's online store from its offline store: for every entity, the latest offline row
 * by event time (ties: later Kafka position) with the window aggregates recomputed from the offline
 * rows. One transaction: readers see the old store or the rebuilt one. It holds the view's
 * ingestion progress rows locked, so ingestion of the view waits for it instead of interleaving.
 */
export async function rebuildOnlineStore(
  db: Database,
  projectId: string,
  viewName: string,
  options: { version?: number } = {},
): Promise<RebuildResult> {
  const registered = await getFeatureView(db, projectId, viewName, options.version);
  return db.transaction(async (tx) => {
    await tx
      .select({ partition: featureIngestionProgress.partition })
      .from(featureIngestionProgress)
      .where(eq(featureIngestionProgress.viewId, registered.id))
      .for('update');
    const removed = await tx
      .delete(featureOnlineRows)
      .where(and(eq(featureOnlineRows.projectId, projectId), eq(featureOnlineRows.viewId, registered.id)))
      .returning({ entityId: featureOnlineRows.entityId });
    const entities = rowsOf<{ entity_id: string }>(
      await tx.execute(sql`
        select distinct entity_id from feature_offline_rows
        where project_id = ${projectId} and view_id = ${registered.id}`),
    ).map((row) => row.entity_id);
    let written = 0;
    for (let i = 0; i < entities.length; i += rebuildChunk) {
      const chunk = entities.slice(i, i + rebuildChunk);
      const latest = await offlineAsOf(tx, registered, chunk, 'latest');
      const rows: NewFeatureOnlineRow[] = [...latest].map(([entityId, { latest: row, aggregates }]) => ({
        projectId,
        viewId: registered.id,
        entityId,
        eventTime: new Date(row.timeMs),
        values: row.values,
        aggregates,
        topic: row.topic,
        partition: row.partition,
        kafkaOffset: row.offset,
      }));
      if (rows.length > 0) await tx.insert(featureOnlineRows).values(rows);
      written += rows.length;
    }
    return { view: registered.view.name, version: registered.view.version, removed: removed.length, written };
  });
}

export interface PartitionOffset {
  partition: number;
  /** The next offset the group reads. */
  offset: string;
}

/**
 * Replays a view's topic from given offsets: moves the view's consumer group back (or forward) to
 * them, so the ingestion process reads from there when it next joins. Nothing is written twice:
 * offline rows are keyed by their Kafka position, the online upsert only takes a newer event, and
 * the progress row tells which rejects were already counted. The group must have no live member
 * (stop the ingestion of this view first); Kafka refuses to move a live group's offsets.
 */
export async function replayFromOffsets(
  admin: Admin,
  registered: Pick<RegisteredFeatureView, 'projectId' | 'view'>,
  offsets: readonly PartitionOffset[],
): Promise<{ groupId: string; topic: string; offsets: PartitionOffset[] }> {
  const groupId = consumerGroupId(registered);
  const topic = registered.view.sourceTopic;
  if (offsets.length === 0) throw new ShepherdError('bad_request', 'no partitions given to replay');
  const watermarks = await admin.fetchTopicOffsets(topic);
  for (const { partition, offset } of offsets) {
    const w = watermarks.find((x) => x.partition === partition);
    if (!w) throw new ShepherdError('bad_request', `topic '${topic}' has no partition ${partition}`);
    if (!/^\d+$/.test(offset) || BigInt(offset) < BigInt(w.low) || BigInt(offset) > BigInt(w.high)) {
      throw new ShepherdError(
        'bad_request',
        `offset ${offset} of partition ${partition} is outside the retained range ${w.low}..${w.high}`,
      );
    }
  }
  const [description] = (await admin.describeGroups([groupId])).groups;
  if (description && description.members.length > 0) {
    throw new ShepherdError(
      'conflict',
      `consumer group '${groupId}' has ${description.members.length} live member(s); stop ingestion of ` +
        `${registered.view.name} v${registered.view.version} before replaying`,
    );
  }
  await admin.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ ...o })) });
  return { groupId, topic, offsets: [...offsets] };
}
