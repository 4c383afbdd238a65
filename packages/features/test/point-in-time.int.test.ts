import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetReadObjects } from 'hyparquet';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka } from '@shepherd/clients/kafka';
import { createArtifactStore } from '@shepherd/artifacts/store';
import type { ArtifactStore } from '@shepherd/artifacts/types';
import { defineFeatureView, labelTopic, type FeatureEvent } from '@shepherd/contracts/features';
import { generateFraudRows, type FraudRow } from '@shepherd/datagen/fraud';
import { projects } from '@shepherd/db/schema';
import { openTestDatabase } from '@shepherd/testing/database';
import { testEnv } from '@shepherd/testing/env';
import { cardTransactionEvent, cardTransactionLabel } from '../src/card-events.ts';
import { buildPointInTimeSet, rowsOf } from '../src/point-in-time.ts';
import { featureEvent } from '../src/produce.ts';
import { registerFeatureView, type RegisteredFeatureView } from '../src/registry.ts';
import { writeEvents, type Written } from './store-helpers.ts';
import { cardTransactionsV2 } from '../src/views.ts';

const HOUR = 3_600_000;

/** A second view with a short TTL, so labels find it missing, expired and present. */
const cardLimits = defineFeatureView({
  name: 'card_limits',
  version: 1,
  entityKey: 'card_id',
  ttlSeconds: 3600,
  features: [
    { name: 'credit_limit', type: 'float' },
    { name: 'is_premium', type: 'bool' },
  ],
});

/** The definition, label by label: the latest written row at or before its time, within TTL. */
function reference(
  rows: readonly Written[],
  entityId: string,
  timeMs: number,
  ttlMs: number,
): Written | undefined {
  let best: Written | undefined;
  for (const row of rows) {
    if (row.entityId !== entityId || row.timeMs > timeMs) continue;
    if (
      !best ||
      row.timeMs > best.timeMs ||
      (row.timeMs === best.timeMs &&
        (row.partition > best.partition || (row.partition === best.partition && row.offset > best.offset)))
    ) {
      best = row;
    }
  }
  return best && timeMs - best.timeMs <= ttlMs ? best : undefined;
}

describe('point-in-time training sets from feature views and a label topic', () => {
  const env = testEnv();
  const name = `pit-${randomUUID()}`;
  const topic = labelTopic(name);
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let kafka: Kafka;
  let admin: Admin;
  let artifacts: ArtifactStore;
  let projectId: string;
  let transactions: RegisteredFeatureView;
  let limits: RegisteredFeatureView;
  const txnRows: Written[] = [];
  const limitRows: Written[] = [];
  let labelled: FraudRow[] = [];
  /** Sentinel amounts of rows written with an event time just after a label's time. */
  const traps = new Map<number, number>();

  beforeAll(async () => {
    database = await openTestDatabase();
    const [project] = await database.db.insert(projects).values({ slug: name, name }).returning();
    projectId = project!.id;
    const ctx = { db: database.db, projectId, actor: 'test' };
    transactions = (
      await registerFeatureView(ctx, {
        ...cardTransactionsV2,
        sourceTopic: `features.card_transactions.${name}`,
      })
    ).registered;
    limits = (await registerFeatureView(ctx, { ...cardLimits, sourceTopic: `features.card_limits.${name}` }))
      .registered;
    kafka = createKafka({ brokers: env.KAFKA_BROKERS, clientId: 'pit-test', retries: 10 });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    artifacts = createArtifactStore({ ...env, S3_PREFIX: `tests/features/${name}/` });

    const rows = [...generateFraudRows({ rows: 3000, cards: 40, seed: 11, days: 3 })];
    labelled = rows.filter((_, i) => i % 3 === 0);
    // Feature events, with 5% held back and written last: late events, older than rows before them.
    const events = rows.map(cardTransactionEvent);
    const late = events.filter((_, i) => i % 20 === 7);
    const onTime = events.filter((_, i) => i % 20 !== 7);
    // Leakage traps: for every 10th label, a row of its card 1 ms after the label's time.
    const trapEvents = labelled
      .filter((_, i) => i % 10 === 0)
      .map((row, k) => {
        const amount = -(k + 1);
        traps.set(amount, Date.parse(row.event_time) + 1);
        return featureEvent(row.card_id, new Date(Date.parse(row.event_time) + 1), {
          ...cardTransactionEvent(row).values,
          transaction_id: `trap-${k}`,
          amount,
        });
      });
    await writeEvents(database.db, transactions, [...onTime, ...late, ...trapEvents], txnRows);

    // Limits change every few hours for three cards out of four; the rest have none.
    const start = Date.parse(rows[0]!.event_time);
    const limitEvents: FeatureEvent[] = [];
    for (let card = 0; card < 40; card++) {
      if (card % 4 === 3) continue;
      for (let t = start - HOUR; t < start + 3 * 24 * HOUR; t += (2 + (card % 5)) * HOUR) {
        limitEvents.push(
          featureEvent(`card-${String(card).padStart(6, '0')}`, new Date(t), {
            credit_limit: 1000 + card * 10 + (t - start) / HOUR,
            is_premium: card % 2 === 0,
          }),
        );
      }
    }
    await writeEvents(database.db, limits, limitEvents, limitRows);

    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    const labelMessages = labelled.map((row) => ({
      key: row.card_id,
      value: JSON.stringify(cardTransactionLabel(row)),
    }));
    // Corrections: five labels sent again with the other label; the later one wins.
    const corrected = labelled.slice(0, 5).map((row) => ({
      key: row.card_id,
      value: JSON.stringify({ ...cardTransactionLabel(row), label: 1 - row.label }),
    }));
    const invalid = [
      { key: 'card-000001', value: 'not json' },
      { key: 'card-000001', value: JSON.stringify({ schemaVersion: 1, entityId: 'card-000001' }) },
      { key: 'card-000001', value: JSON.stringify({ ...cardTransactionLabel(labelled[0]!), label: 'yes' }) },
    ];
    await producer.send({ topic, acks: -1, messages: [...labelMessages, ...corrected, ...invalid] });
    await producer.disconnect();
  });

  afterAll(async () => {
    for (const entry of (await artifacts?.list()) ?? []) await artifacts.delete(entry.uri);
    artifacts?.close();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
    await database?.dispose();
  });

  it('joins each label with the features as of its time, never later, within TTL, as the definition says', async () => {
    const set = await buildPointInTimeSet(
      { db: database.db, kafka, artifacts },
      {
        projectId,
        setId: `pit-${randomUUID()}`,
        labels: { topic },
        views: [
          { name: 'card_transactions' },
          { name: 'card_limits', features: ['credit_limit', 'is_premium'], prefix: 'limit_' },
        ],
      },
    );
    const bytes = await artifacts.getVerified(set.dataUri, set.sha256);
    const rows = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    });
    expect(rows).toHaveLength(labelled.length);

    const corrections = new Set(labelled.slice(0, 5).map((row) => row.transaction_id));
    let leaks = 0;
    let trapsSeenLater = 0;
    let expiredLimits = 0;
    let missingLimits = 0;
    const txnTtl = transactions.view.ttlSeconds * 1000;
    const limitTtl = limits.view.ttlSeconds * 1000;
    for (const [i, row] of rows.entries()) {
      const source = labelled.find((r) => r.transaction_id === row.transaction_id)!;
      expect(source, `row ${i}`).toBeDefined();
      const timeMs = Date.parse(source.event_time);
      expect(row.card_id).toBe(source.card_id);
      expect((row.event_time as Date).getTime()).toBe(timeMs);
      expect(row.label).toBe(corrections.has(source.transaction_id) ? 1 - source.label : source.label);

      const txn = reference(txnRows, source.card_id, timeMs, txnTtl);
      expect(row.transaction_id, `row ${i}`).toBe(source.transaction_id);
      expect(row.amount).toBe(txn ? txn.values.amount : null);
      expect(row.txn_count_24h).toBe(txn ? txn.values.txn_count_24h : null);
      const amount = row.amount as number;
      if (amount < 0) {
        if (traps.get(amount)! > timeMs) leaks++;
        else trapsSeenLater++;
      }
      // The label's own transaction is a feature row at exactly its time: it is the one taken.
      expect(txn?.values.transaction_id).toBe(source.transaction_id);

      const limit = reference(limitRows, source.card_id, timeMs, limitTtl);
      expect(row.limit_credit_limit).toBe(limit ? limit.values.credit_limit : null);
      expect(row.limit_is_premium).toBe(limit ? limit.values.is_premium : null);
      if (!limit) {
        if (limitRows.some((r) => r.entityId === source.card_id && r.timeMs <= timeMs)) expiredLimits++;
        else missingLimits++;
      }
    }
    expect(leaks).toBe(0);
    // The traps sit 1 ms after their labels, so no label takes them; they only shadow nothing.
    expect(trapsSeenLater).toBe(0);
    expect(missingLimits).toBeGreaterThan(0);

    // Aggregates come from the offline row taken, as the ingestion computed them at its time.
    const offline = rowsOf<{ transaction_id: string; aggregates: Record<string, number | null> }>(
      await database.db.execute(
        `select values->>'transaction_id' as transaction_id, aggregates from feature_offline_rows where view_id = '${transactions.id}'`,
      ),
    );
    const aggregatesByTxn = new Map(offline.map((r) => [r.transaction_id, r.aggregates]));
    for (const row of rows.slice(0, 200)) {
      expect(row.amount_sum_24h).toBe(aggregatesByTxn.get(row.transaction_id as string)!.amount_sum_24h);
    }

    const manifest = set.manifest;
    expect(manifest.rows).toBe(labelled.length);
    expect(manifest.data.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(manifest.labels).toMatchObject({
      topic,
      read: labelled.length + 5,
      rows: labelled.length,
      duplicatesSuperseded: 5,
      rejected: 3,
    });
    const ends = await admin.fetchTopicOffsets(topic);
    expect(manifest.labels.offsets).toEqual(
      ends
        .map((e) => ({ partition: e.partition, from: e.low, to: e.high }))
        .sort((a, b) => a.partition - b.partition),
    );
    expect(manifest.views.map((v) => `${v.name}@${v.version}`)).toEqual([
      'card_transactions@2',
      'card_limits@1',
    ]);
    const [txnView, limitView] = manifest.views;
    expect(txnView!.rowsMatched).toBe(labelled.length);
    expect(limitView!.rowsExpired).toBe(expiredLimits);
    expect(limitView!.rowsMissing).toBe(missingLimits);
    expect(limitView!.rowsMatched + limitView!.rowsExpired + limitView!.rowsMissing).toBe(labelled.length);
    // The feature rows' Kafka positions: both partitions, from offset 0 to past the last row read.
    expect(txnView!.offsets.map((o) => o.partition)).toEqual([0, 1]);
    expect(txnView!.offsets.every((o) => o.from === '0')).toBe(true);
    const stored = JSON.parse((await artifacts.getVerified(set.manifestUri, set.manifestSha256)).toString());
    expect(stored).toEqual(manifest);
    expect(manifest.columns.features.map((f) => f.name)).toContain('limit_credit_limit');
  });

  it('refuses an unknown feature, a column collision and a missing label topic, naming them', async () => {
    const deps = { db: database.db, kafka, artifacts };
    const base = { projectId, setId: `bad-${randomUUID()}`, labels: { topic } };
    await expect(
      buildPointInTimeSet(deps, { ...base, views: [{ name: 'card_transactions', features: ['nope'] }] }),
    ).rejects.toThrow(/no feature or aggregate 'nope'/);
    await expect(
      buildPointInTimeSet(deps, {
        ...base,
        views: [
          { name: 'card_transactions', features: ['amount'] },
          { name: 'card_transactions', features: ['amount'] },
        ],
      }),
    ).rejects.toThrow(/column 'amount' would appear twice/);
    await expect(
      buildPointInTimeSet(deps, {
        ...base,
        labels: { topic: `labels.missing-${randomUUID()}` },
        views: [{ name: 'card_limits' }],
      }),
    ).rejects.toThrow(/label topic .* does not exist/);
  });
});
