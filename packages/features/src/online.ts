import { and, eq, sql } from 'drizzle-orm';
import type { OnlineFeaturesResponse, OnlineFeatureVector } from '@shepherd/contracts/features';
import { ShepherdError } from '@shepherd/core/errors';
import type { Database } from '@shepherd/db/client';
import { featureOnlineRows } from '@shepherd/db/schema';
import { getFeatureView, type RegisteredFeatureView } from './registry.ts';

export interface OnlineLookupOptions {
  /** Default: the highest registered version. */
  version?: number;
  /** The time freshness is measured against; default now. */
  now?: Date;
}

/**
 * How long "the highest version" of a view is remembered: a newly registered version is served
 * this long after it appears. A (name, version) pair never changes (registration refuses a
 * different definition), so an explicit version is remembered for good.
 */
export const latestVersionCacheMs = 5_000;

const resolved = new WeakMap<
  Database,
  Map<string, { registered: Promise<RegisteredFeatureView>; until: number }>
>();

function viewCache(db: Database) {
  let cache = resolved.get(db);
  if (!cache) resolved.set(db, (cache = new Map()));
  return cache;
}

/**
 * The view as lookups see it (the library's and the gateway's), without a query and a definition
 * parse per request: on the hot path those cost more than the lookup itself. Concurrent first
 * lookups share one query; a failed one is not remembered.
 */
export function resolveOnlineView(
  db: Database,
  projectId: string,
  viewName: string,
  version: number | undefined,
): Promise<RegisteredFeatureView> {
  const entries = viewCache(db);
  const key = `${projectId}\u0000${viewName}\u0000${version ?? 'latest'}`;
  const hit = entries.get(key);
  const now = Date.now();
  if (hit && hit.until > now) return hit.registered;
  const registered = getFeatureView(db, projectId, viewName, version);
  if (entries.size > 10_000) entries.clear();
  entries.set(key, { registered, until: version === undefined ? now + latestVersionCacheMs : Infinity });
  // Forgotten if it fails, unless a later resolution has taken its place meanwhile.
  registered.catch(() => entries.get(key)?.registered === registered && entries.delete(key));
  return registered;
}

/** A stored online row, as the lookups read it. */
export interface OnlineRow {
  eventTime: Date;
  values: OnlineFeatureVector['values'];
  aggregates: OnlineFeatureVector['aggregates'];
}

/**
 * One entity's answer: its row with the row's age against `now` and `stale` past the view's TTL,
 * or, for an entity the store has never seen, `found: false` and `stale: true`.
 */
export function onlineVector(
  entityId: string,
  row: OnlineRow | undefined,
  now: Date,
  ttlSeconds: number,
): OnlineFeatureVector {
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
    stale: ageSeconds > ttlSeconds,
  };
}

const statements = new WeakMap<Database, ReturnType<typeof prepareLookup>>();

/**
 * One prepared statement per database handle: the query is built once, and PostgreSQL plans it
 * once per connection, instead of both on every lookup.
 */
function prepareLookup(db: Database) {
  return db
    .select({
      entityId: featureOnlineRows.entityId,
      eventTime: featureOnlineRows.eventTime,
      values: featureOnlineRows.values,
      aggregates: featureOnlineRows.aggregates,
    })
    .from(featureOnlineRows)
    .where(
      and(
        eq(featureOnlineRows.projectId, sql.placeholder('projectId')),
        eq(featureOnlineRows.viewId, sql.placeholder('viewId')),
        sql`${featureOnlineRows.entityId} = any(${sql.placeholder('entityIds')}::text[])`,
      ),
    )
    .prepare('shepherd_online_lookup');
}

function lookupStatement(db: Database) {
  let statement = statements.get(db);
  if (!statement) statements.set(db, (statement = prepareLookup(db)));
  return statement;
}

/** The stored online rows of these entities (each asked once), by entity; absent ones are missing. */
export async function readOnlineRows(
  db: Database,
  projectId: string,
  viewId: string,
  entityIds: readonly string[],
): Promise<Map<string, OnlineRow>> {
  const unique = [...new Set(entityIds)];
  const rows =
    unique.length === 0 ? [] : await lookupStatement(db).execute({ projectId, viewId, entityIds: unique });
  return new Map(rows.map((row) => [row.entityId, row]));
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
  const registered = await resolveOnlineView(db, projectId, viewName, options.version);
  const now = options.now ?? new Date();
  const byEntity = await readOnlineRows(db, projectId, registered.id, entityIds);
  const ttl = registered.view.ttlSeconds;
  const vectors = entityIds.map((entityId) => onlineVector(entityId, byEntity.get(entityId), now, ttl));
  return {
    view: registered.view.name,
    version: registered.view.version,
    ttlSeconds: ttl,
    asOf: now.toISOString(),
    vectors,
  };
}
