import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineFeatureView } from '@shepherd/contracts/features';
import type { Database } from '@shepherd/db/client';
import { featureOnlineRows, projects } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { runParityCheck } from '../src/parity.ts';
import { rowsOf } from '../src/point-in-time.ts';
import { featureEvent } from '../src/produce.ts';
import { registerFeatureView, type RegisteredFeatureView } from '../src/registry.ts';
import { writeBatch, type ValidEvent } from '../src/store.ts';

const view = defineFeatureView({
  name: 'busy',
  version: 1,
  entityKey: 'card_id',
  ttlSeconds: 3600,
  features: [{ name: 'amount', type: 'float' }],
  aggregates: [{ name: 'n_1h', function: 'count', window: '1h' }],
});

/** One batch of partition 0, through the ingestion write path. */
const writeInOrder = (db: Database, registered: RegisteredFeatureView, events: ValidEvent[]) =>
  writeBatch(db, registered, {
    topic: view.sourceTopic,
    partition: 0,
    events,
    rejectedOffsets: [],
    lastOffset: events[events.length - 1]!.offset,
  });

const entities = Array.from({ length: 40 }, (_, i) => `card-${i}`);

describe('parity check while ingestion writes', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let projectId: string;
  let registered: RegisteredFeatureView;
  let offset = 0;
  // Every batch moves every entity a second on, so any batch that commits between the online and
  // the offline read changes both sides of every sampled entity.
  let eventTimeMs = Date.now() - 3_600_000;

  const writeRound = () => {
    eventTimeMs += 1000;
    const events: ValidEvent[] = entities.map((entityId) => ({
      offset: String(offset++),
      event: featureEvent(entityId, new Date(eventTimeMs), { amount: offset }),
      eventTimeMs,
    }));
    return writeInOrder(database.db, registered, events);
  };

  beforeAll(async () => {
    database = await openTestDatabase();
    const [project] = await database.db.insert(projects).values({ slug: 'p', name: 'p' }).returning();
    projectId = project!.id;
    ({ registered } = await registerFeatureView({ db: database.db, projectId, actor: 'alice' }, view));
    await writeRound();
  });
  afterAll(() => database?.dispose());

  it('compares both stores as of one moment: no mismatch while batches commit', async () => {
    let writing = true;
    let rounds = 0;
    const writer = (async () => {
      while (writing) {
        await writeRound();
        rounds++;
      }
    })();
    const reports = [];
    let roundsDuringChecks = 0;
    try {
      // At least 20 checks, and until 40 batches have committed while one ran.
      for (let i = 0; i < 500 && (i < 20 || roundsDuringChecks < 40); i++) {
        const before = rounds;
        reports.push(await runParityCheck(database.db, projectId, view.name, { store: false }));
        roundsDuringChecks += rounds - before;
      }
    } finally {
      writing = false;
      await writer;
    }
    // The checks did run beside commits: otherwise this test shows nothing.
    expect(roundsDuringChecks).toBeGreaterThanOrEqual(40);
    const mismatched = reports.filter((report) => report.mismatchedEntities > 0);
    expect(mismatched.map((report) => report.byField)).toEqual([]);
    expect(reports.every((report) => report.sampled === entities.length)).toBe(true);
  }, 60_000);
});

describe('parity sample on a large offline store', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;

  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database?.dispose());

  it('finds an entity only the offline store has, though it reads a sample of its pages', async () => {
    const [project] = await database.db.insert(projects).values({ slug: 'q', name: 'q' }).returning();
    const projectId = project!.id;
    const { registered } = await registerFeatureView({ db: database.db, projectId, actor: 'alice' }, view);
    const start = Date.now() - 3_000_000;
    let offset = 0;
    // 60 entities, 40,000 offline rows, interleaved.
    for (let batch = 0; batch < 20; batch++) {
      const events: ValidEvent[] = Array.from({ length: 2000 }, () => {
        const n = offset;
        const eventTimeMs = start + n * 50;
        return {
          offset: String(offset++),
          event: featureEvent(`card-${n % 60}`, new Date(eventTimeMs), { amount: n }),
          eventTimeMs,
        };
      });
      await writeInOrder(database.db, registered, events);
    }
    await database.db.execute(sql`analyze feature_offline_rows`);
    // The sample below wants 100 entities: at 10 rows each, the store is four times what is read.
    const [stats] = rowsOf<{ rows: number }>(
      await database.db.execute(
        sql`select reltuples::float8 as rows from pg_class where oid = 'feature_offline_rows'::regclass`,
      ),
    );
    expect(Number(stats!.rows)).toBeGreaterThan(4 * 100 * 10 - 1);
    await database.db
      .delete(featureOnlineRows)
      .where(and(eq(featureOnlineRows.viewId, registered.id), eq(featureOnlineRows.entityId, 'card-7')));

    const report = await runParityCheck(database.db, projectId, view.name, { sampleSize: 100, store: false });
    expect(report.sampled).toBe(60);
    expect(report.byField).toEqual({ presence: 1 });
    expect(report.mismatches).toEqual([
      { entity: 'card-7', field: 'presence', online: null, offline: 'present' },
    ]);
  }, 60_000);
});
