import { sql } from 'drizzle-orm';
import type { OnlineFeaturesResponse } from '@shepherd/contracts/features';
import type { Database } from '@shepherd/db/client';
import type { RegisteredFeatureView } from '@shepherd/features/registry';
import {
  maxEntitiesPerLookup,
  onlineVector,
  resolveOnlineView,
  type OnlineRow,
} from '@shepherd/features/online';

interface PendingLookup {
  entityIds: readonly string[];
  resolve: (rows: Map<string, OnlineRow>) => void;
  reject: (err: unknown) => void;
}

interface ViewBatch {
  view: RegisteredFeatureView;
  lookups: PendingLookup[];
  entities: Set<string>;
}

/**
 * The online store as the request path reads it: the same rows and answer shape as
 * `getOnlineFeatures` (packages/features), tuned for many small concurrent lookups.
 *
 * - The feature view (name and version → id, TTL) is resolved as the library does
 *   (`resolveOnlineView`): once, not by a registry query per request.
 * - Lookups that arrive in the same turn of the event loop for the same view are answered by one
 *   query: under load, a round trip to PostgreSQL serves many requests instead of one each.
 */
export class OnlineFeatureReader {
  private readonly batches = new Map<string, ViewBatch>();
  private flushScheduled = false;

  constructor(private readonly db: Database) {}

  /** Drop-in for `getOnlineFeatures` (the Predictor's `onlineLookup`). */
  readonly lookup = async (
    _db: Database,
    projectId: string,
    viewName: string,
    entityIds: readonly string[],
    options: { version?: number },
  ): Promise<OnlineFeaturesResponse> => {
    const view = await resolveOnlineView(this.db, projectId, viewName, options.version);
    const now = new Date();
    const rows = await this.enqueue(view, entityIds);
    const ttl = view.view.ttlSeconds;
    return {
      view: view.view.name,
      version: view.view.version,
      ttlSeconds: ttl,
      asOf: now.toISOString(),
      vectors: entityIds.map((entityId) => onlineVector(entityId, rows.get(entityId), now, ttl)),
    };
  };

  private enqueue(
    view: RegisteredFeatureView,
    entityIds: readonly string[],
  ): Promise<Map<string, OnlineRow>> {
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(view.id);
      if (batch && batch.entities.size + entityIds.length > maxEntitiesPerLookup) {
        // Full: send it now and start another for this view.
        this.batches.delete(view.id);
        void this.run(batch);
        batch = undefined;
      }
      if (!batch) {
        batch = { view, lookups: [], entities: new Set() };
        this.batches.set(view.id, batch);
      }
      batch.lookups.push({ entityIds, resolve, reject });
      for (const entityId of entityIds) batch.entities.add(entityId);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          const batches = [...this.batches.values()];
          this.batches.clear();
          for (const pending of batches) void this.run(pending);
        });
      }
    });
  }

  private async run(batch: ViewBatch): Promise<void> {
    try {
      const result = await this.db.execute(sql`
        select entity_id, event_time, values, aggregates
        from feature_online_rows
        where project_id = ${batch.view.projectId} and view_id = ${batch.view.id}
          and entity_id = any(${sql.param([...batch.entities])}::text[])`);
      const rows = (
        result as unknown as {
          rows: {
            entity_id: string;
            event_time: Date | string;
            values: Record<string, unknown>;
            aggregates: Record<string, number | null>;
          }[];
        }
      ).rows;
      const byEntity = new Map<string, OnlineRow>();
      for (const row of rows) {
        byEntity.set(row.entity_id, {
          eventTime: new Date(row.event_time),
          values: row.values as OnlineRow['values'],
          aggregates: row.aggregates,
        });
      }
      for (const lookup of batch.lookups) lookup.resolve(byEntity);
    } catch (err) {
      for (const lookup of batch.lookups) lookup.reject(err);
    }
  }
}
