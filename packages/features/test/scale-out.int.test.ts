import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '@shepherd/clients/kafka';
import { featureOfflineRows, featureOnlineRows, projects } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { eventually } from '@shepherd/testing/platform';
import { consumerGroupId } from '../src/ingest.ts';
import { getFeatureViewMetrics } from '../src/metrics.ts';
import { featureEvent, featureEventMessage } from '../src/produce.ts';
import { registerFeatureView, type RegisteredFeatureView } from '../src/registry.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const PARTITIONS = 4;
const DEVICES = 400;
const CHUNKS = 16;
const CHUNK_SIZE = 1000;
const KILL_AFTER_CHUNK = 4;
const TOTAL = CHUNKS * CHUNK_SIZE;

/**
 * Two ingestion processes (the real entry point) in one consumer group on a four-partition topic:
 * each gets partitions; one is killed with SIGKILL while events keep arriving; after the broker
 * gives up on it (the session timeout), the other takes its partitions and every event lands in
 * the offline store exactly once, with the online store holding each entity's latest event.
 */
describe('two ingestion consumers in one group', () => {
  const env = testEnv();
  const suffix = randomUUID().slice(0, 8);
  const viewName = `scale_out_${suffix}`;
  const topic = `features.${viewName}`;
  const projectSlug = `scale-out-${suffix}`;
  const children: ChildProcess[] = [];
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let kafka: Kafka;
  let admin: Admin;
  let registered: RegisteredFeatureView;

  beforeAll(async () => {
    database = await openTestDatabase();
    const [project] = await database.db
      .insert(projects)
      .values({ slug: projectSlug, name: projectSlug })
      .returning();
    ({ registered } = await registerFeatureView(
      { db: database.db, projectId: project!.id, actor: 'test' },
      {
        name: viewName,
        version: 1,
        description: 'device readings for the scale-out test',
        entityKey: 'device_id',
        eventTimeField: 'event_time',
        ttlSeconds: 3600,
        features: [
          { name: 'seq', type: 'int' },
          { name: 'reading', type: 'float' },
        ],
      },
    ));
    kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'features-scale-out-test', retries: 10 });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  });

  afterAll(async () => {
    for (const child of children) signalGroup(child, 'SIGKILL');
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await database?.dispose();
  });

  /** ingest-main.ts in a process group of its own, so a kill takes tsx's node child too. */
  function startIngestion(): ChildProcess {
    const child = spawn(
      resolve(repoRoot, 'node_modules/.bin/tsx'),
      [resolve(repoRoot, 'packages/features/src/ingest-main.ts')],
      {
        cwd: repoRoot,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          DATABASE_URL: database.url,
          KAFKA_BROKERS: env.KAFKA_BROKERS.join(','),
          FEATURE_VIEWS: viewName,
          SHEPHERD_PROJECT: projectSlug,
          LOG_LEVEL: 'warn',
        },
      },
    );
    child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[ingest-main] ${chunk.toString()}`));
    children.push(child);
    return child;
  }

  /** Which member holds which partitions, from the group coordinator. */
  async function assignments(): Promise<Map<string, number[]>> {
    const [group] = (await admin.describeGroups([consumerGroupId(registered)])).groups;
    const byMember = new Map<string, number[]>();
    if (!group || group.state !== 'Stable') return byMember;
    for (const member of group.members) {
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
      byMember.set(
        member.memberId,
        [...(decoded?.assignment[topic] ?? [])].sort((a, b) => a - b),
      );
    }
    return byMember;
  }

  const offlineCount = async (partitions?: number[]) =>
    (
      await database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(featureOfflineRows)
        .where(
          and(
            eq(featureOfflineRows.viewId, registered.id),
            partitions ? sql`${featureOfflineRows.partition} in ${partitions}` : undefined,
          ),
        )
    )[0]!.n;

  /** Events in time order; device d's k-th reading has seq k, so its latest is the highest seq. */
  const chunk = (index: number) =>
    Array.from({ length: CHUNK_SIZE }, (_, i) => {
      const n = index * CHUNK_SIZE + i;
      const device = `device-${n % DEVICES}`;
      const seq = Math.floor(n / DEVICES);
      return featureEventMessage(
        featureEvent(device, new Date(Date.UTC(2026, 0, 1) + n * 1000), { seq, reading: (n % 97) / 7 }),
      );
    });

  it('shares partitions, and the survivor takes over the killed consumer’s with nothing lost or doubled', async () => {
    const first = startIngestion();
    startIngestion();
    const before = await eventually(
      async () => {
        const current = await assignments();
        const owned = [...current.values()];
        return current.size === 2 && owned.every((p) => p.length > 0) && owned.flat().length === PARTITIONS
          ? current
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'two consumers sharing the partitions' },
    );

    const producer = kafka.producer();
    await producer.connect();
    let atKill = 0;
    let atKillPerPartition: number[] = [];
    try {
      for (let index = 0; index < CHUNKS; index++) {
        await producer.send({ topic, acks: -1, messages: chunk(index) });
        if (index === KILL_AFTER_CHUNK) {
          // Both consumers are working when one dies: wait for rows from every partition first.
          await eventually(
            async () => {
              const perPartition = await Promise.all(
                Array.from({ length: PARTITIONS }, (_, p) => offlineCount([p])),
              );
              return perPartition.every((n) => n > 0) ? true : undefined;
            },
            { timeoutMs: 30_000, intervalMs: 100, what: 'ingestion on every partition' },
          );
          signalGroup(first, 'SIGKILL');
          await new Promise((resolveExit) => first.once('exit', resolveExit));
          atKillPerPartition = await Promise.all(
            Array.from({ length: PARTITIONS }, (_, p) => offlineCount([p])),
          );
          atKill = atKillPerPartition.reduce((a, b) => a + b, 0);
        }
        await new Promise((resolveWait) => setTimeout(resolveWait, 150));
      }
    } finally {
      await producer.disconnect();
    }
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(TOTAL);

    const metrics = await eventually(
      async () => {
        const m = await getFeatureViewMetrics(database.db, admin, registered);
        return m.totalLag === 0 && m.eventsIngested === TOTAL ? m : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the surviving consumer to catch up' },
    );
    expect(metrics.dlqCount).toBe(0);

    // The survivor now owns every partition, including the ones the killed consumer had.
    const after = await assignments();
    expect(after.size).toBe(1);
    const [survivorId, survivorPartitions] = [...after][0]!;
    expect(survivorPartitions).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
    const victimPartitions = [...before].find(([memberId]) => memberId !== survivorId)?.[1];
    expect(victimPartitions?.length).toBeGreaterThan(0);

    // Exactly once: one offline row per event (the key is topic/partition/offset), none missing.
    const [counts] = await database.db
      .select({
        rows: sql<number>`count(*)::int`,
        offsets: sql<number>`count(distinct (${featureOfflineRows.partition}, ${featureOfflineRows.kafkaOffset}))::int`,
        events: sql<number>`count(distinct (${featureOfflineRows.entityId}, ${featureOfflineRows.values}->>'seq'))::int`,
      })
      .from(featureOfflineRows)
      .where(eq(featureOfflineRows.viewId, registered.id));
    expect(counts).toEqual({ rows: TOTAL, offsets: TOTAL, events: TOTAL });
    // Its partitions kept filling after it died: the survivor consumed them.
    const victimRows = await offlineCount(victimPartitions);
    const victimRowsAtKill = victimPartitions!.reduce((sum, p) => sum + atKillPerPartition[p]!, 0);
    expect(victimRows).toBeGreaterThan(victimRowsAtKill);

    // Online: every device's row is its last reading.
    const online = await database.db
      .select({
        entityId: featureOnlineRows.entityId,
        seq: sql<number>`(${featureOnlineRows.values}->>'seq')::int`,
      })
      .from(featureOnlineRows)
      .where(eq(featureOnlineRows.viewId, registered.id));
    const lastSeq = (d: number) => Math.floor((TOTAL - 1 - ((TOTAL - 1 - d) % DEVICES)) / DEVICES);
    expect(new Map(online.map((r) => [r.entityId, r.seq]))).toEqual(
      new Map(Array.from({ length: DEVICES }, (_, d) => [`device-${d}`, lastSeq(d)])),
    );
    console.info(
      `[features scale-out] partitions before the kill: ${[...before.values()].map((p) => p.join(',')).join(' | ')}; ` +
        `${atKill}/${TOTAL} rows at the kill; on the killed consumer's partitions ${victimRowsAtKill} rows then, ${victimRows} in the end`,
    );
  }, 120_000);
});

function signalGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}
