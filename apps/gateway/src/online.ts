import { sql } from 'drizzle-orm';
import type { OnlineFeaturesResponse, OnlineFeatureVector } from '@shepherd/contracts/features';
import type { Database } from '@shepherd/db/client';
import { getFeatureView, type RegisteredFeatureView } from '@shepherd/features/registry';
import { maxEntitiesPerLookup } from '@shepherd/features/online';

interface PendingLookup {
  entityIds: readonly string[];
  resolve: (vectors: Map<string, OnlineFeatureVector>) => void;
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
 * - The feature view (name and version → id, TTL) is resolved once and cached for `viewCacheMs`,
 *   instead of a registry query per request.
 * - Lookups that arrive in the same turn of the event loop for the same view are answered by one
 *   query: under load, a round trip to PostgreSQL serves many requests instead of one each.
 */
export class OnlineFeatureReader {
  private readonly views = new Map<string, { view: Promise<RegisteredFeatureView>; expires: number }>();
  private readonly batches = new Map<string, ViewBatch>();
  private flushScheduled = false;

  constructor(
    private readonly db: Database,
    private readonly viewCacheMs = 10_000,
  ) {}

  /** Drop-in for `getOnlineFeatures` (the Predictor's `onlineLookup`). */
  readonly lookup = async (
    _db: Database,
    projectId: string,
    viewName: string,
    entityIds: readonly string[],
    options: { version?: number },
  ): Promise<OnlineFeaturesResponse> => {
    const view = await this.view(projectId, viewName, options.version);
    const now = new Date();
    const vectors = await this.enqueue(view, entityIds);
    const ttl = view.view.ttlSeconds;
    return {
      view: view.view.name,
      version: view.view.version,
      ttlSeconds: ttl,
      asOf: now.toISOString(),
      vectors: entityIds.map((entityId): OnlineFeatureVector => {
        const found = vectors.get(entityId);
        if (!found) {
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
        const ageSeconds = (now.getTime() - Date.parse(found.eventTime!)) / 1000;
        return { ...found, ageSeconds, stale: ageSeconds > ttl };
      }),
    };
  };

  private view(projectId: string, name: string, version: number | undefined): Promise<RegisteredFeatureView> {
    const key = `${projectId}\u0000${name}\u0000${version ?? 'latest'}`;
    const now = Date.now();
    const cached = this.views.get(key);
    if (cached && cached.expires > now) return cached.view;
    const view = getFeatureView(this.db, projectId, name, version);
    this.views.set(key, { view, expires: now + this.viewCacheMs });
    // A failed resolution is not cached: the next request asks again.
    view.catch(() => this.views.delete(key));
    return view;
  }

  private enqueue(
    view: RegisteredFeatureView,
    entityIds: readonly string[],
  ): Promise<Map<string, OnlineFeatureVector>> {
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
      const vectors = new Map<string, OnlineFeatureVector>();
      for (const row of rows) {
        const eventTime = new Date(row.event_time).toISOString();
        vectors.set(row.entity_id, {
          entityId: row.entity_id,
          found: true,
          eventTime,
          values: row.values as OnlineFeatureVector['values'],
          aggregates: row.aggregates,
          ageSeconds: null,
          stale: false,
        });
      }
      for (const lookup of batch.lookups) lookup.resolve(vectors);
    } catch (err) {
      for (const lookup of batch.lookups) lookup.reject(err);
    }
  }
}
