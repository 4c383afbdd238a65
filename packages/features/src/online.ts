import { and, eq, inArray } from 'drizzle-orm';
import type { OnlineFeaturesResponse, OnlineFeatureVector } from '@shepherd/contracts/features';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { featureOnlineRows } from '@shepherd/db/schema';
import { getFeatureView } from './registry.ts';

export interface OnlineLookupOptions {
  /** Default: the highest registered version. */
  version?: number;
  /** The time freshness is measured against; default now. */
  now?: Date;
}

/** At most this many entities per call: one query, bounded response. */
export const maxEntitiesPerLookup = 1000;

/**
 * Feature vectors for `entityIds`, in the order asked, with their freshness: the age of each
 * vector (its event time against `now`) and `stale` when that age exceeds the view's TTL. An entity
 * the store has never seen comes back with `found: false` and `stale: true`, never as an error.
 */
export async function getOnlineFeatures(
  db: Database,
  projectId: string,
  viewName: string,
  entityIds: readonly string[],
  options: OnlineLookupOptions = {},
): Promise<OnlineFeaturesResponse> {
  if (entityIds.length > maxEntitiesPerLookup) {
    throw new ShepherdError(
      'bad_request',
      `at most ${maxEntitiesPerLookup} entities per lookup, got ${entityIds.length}`,
    );
  }
  const registered = await getFeatureView(db, projectId, viewName, options.version);
  const now = options.now ?? new Date();
  const unique = [...new Set(entityIds)];
  const rows =
    unique.length === 0
      ? []
      : await db
          .select({
            entityId: featureOnlineRows.entityId,
            eventTime: featureOnlineRows.eventTime,
            values: featureOnlineRows.values,
            aggregates: featureOnlineRows.aggregates,
          })
          .from(featureOnlineRows)
          .where(
            and(
              eq(featureOnlineRows.projectId, projectId),
              eq(featureOnlineRows.viewId, registered.id),
              inArray(featureOnlineRows.entityId, unique),
            ),
          );
  const byEntity = new Map(rows.map((row) => [row.entityId, row]));
  const ttl = registered.view.ttlSeconds;
  const vectors = entityIds.map((entityId): OnlineFeatureVector => {
    const row = byEntity.get(entityId);
    if (!row) {
      return {
        entityId,
        found: false,
        eventTime: null,
        values: {},
        aggregates: {},
        ageSeconds: null,
        stale: true,
      };
    }
    const ageSeconds = (now.getTime() - row.eventTime.getTime()) / 1000;
    return {
      entityId,
      found: true,
      eventTime: row.eventTime.toISOString(),
      values: row.values,
      aggregates: row.aggregates,
      ageSeconds,
      stale: ageSeconds > ttl,
    };
  });
  return {
    view: registered.view.name,
    version: registered.view.version,
    ttlSeconds: ttl,
    asOf: now.toISOString(),
    vectors,
  };
}
