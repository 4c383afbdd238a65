/**
 * The demo's data in motion: card transactions streamed to the feature store with their fraud
 * labels, and live traffic scored through the gateway whose labels arrive a little later.
 */
import type { Message, Producer } from 'kafkajs';
import { labelTopic, type FeatureViewMetrics } from '@shepherd/contracts/features';
import { fraudFeatureNames, type FraudRow } from '@shepherd/datagen/fraud';
import { cardTransactionEvent, cardTransactionLabel } from '@shepherd/features/card-events';
import { featureEventMessage } from '@shepherd/features/produce';
import { cardTransactionsV1, cardTransactionsV2 } from '@shepherd/features/views';
import { startLoad, type LoadRun } from '../apps/gateway/src/load.ts';
import type { ApiClient } from '../apps/cli/src/api-client.ts';

/** Moves rows in time so that the last one happened `endsAgoMs` before now, keeping their spacing. */
export function endingAt(rows: readonly FraudRow[], endsAgoMs: number): FraudRow[] {
  const last = Date.parse(rows[rows.length - 1]!.event_time);
  const shift = Date.now() - endsAgoMs - last;
  return rows.map((row) => ({
    ...row,
    event_time: new Date(Date.parse(row.event_time) + shift).toISOString(),
  }));
}

/** Transactions to the feature view's topic, as the payment system publishes them. */
export async function streamFeatures(producer: Producer, rows: readonly FraudRow[]): Promise<void> {
  await sendInBatches(
    producer,
    cardTransactionsV1.sourceTopic,
    rows.map((row) => featureEventMessage(cardTransactionEvent(row))),
  );
}

/** Sends in batches of 2,000 messages, so one request never carries the whole stream. */
async function sendInBatches(producer: Producer, topic: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 2000) {
    await producer.send({ topic, messages: messages.slice(i, i + 2000) });
  }
}

/**
 * The transactions' fraud labels (late, as chargebacks are). `flipped`: a buggy relabelling job
 * that swapped the label encoding, every fraud labelled legitimate and the other way round.
 */
export async function streamLabels(
  producer: Producer,
  topic: string,
  rows: readonly FraudRow[],
  options: { flipped?: boolean } = {},
): Promise<void> {
  const labels = rows
    .map(cardTransactionLabel)
    .map((label) => (options.flipped ? { ...label, label: 1 - label.label } : label));
  await sendInBatches(
    producer,
    topic,
    labels.map((label) => ({ key: label.entityId, value: JSON.stringify(label) })),
  );
}

/**
 * Waits until the ingestion of the view's current version has consumed everything on its topic
 * (consumer lag 0: offsets are committed only after the rows are written). The online store would
 * not do as the signal: after earlier demo runs it may already hold newer values for these cards.
 */
export async function waitIngested(api: ApiClient, timeoutMs = 120_000): Promise<FeatureViewMetrics> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A moment of Kafka unavailability fails this call, not the ingestion: ask again.
    const { views } = await api
      .call<{ views: { name: string; version: number; metrics: FeatureViewMetrics | null }[] }>(
        'GET',
        '/feature-views',
      )
      .catch(() => ({ views: [] }));
    const current = views.find(
      (view) => view.name === cardTransactionsV2.name && view.version === cardTransactionsV2.version,
    )?.metrics;
    if (current && current.totalLag === 0) return current;
    if (Date.now() > deadline)
      throw new Error(
        `the feature store did not catch up with ${cardTransactionsV2.sourceTopic} within ${timeoutMs / 1000}s (lag ${current?.totalLag ?? 'unknown'})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface Traffic {
  /** Switches to other transactions (a drifted stream, say); the load goes on without a gap. */
  switchTo(rows: readonly FraudRow[]): Promise<void>;
  /** Answers so far by version, failed requests, and labels sent, over every phase. */
  summary(): { versions: Record<string, number>; ok: number; failed: number; labelled: number };
  stop(): Promise<void>;
}

interface Phase {
  rows: readonly FraudRow[];
  load: LoadRun;
  /** Results up to here have been labelled. */
  labelledUpTo: number;
}

/**
 * A payment system scoring its transactions through the gateway (features in the request, routed
 * by card) while the fraud team's verdicts come back on the model's label topic about a second
 * after each answer, naming its prediction id.
 */
export function startTraffic(options: {
  gatewayUrl: string;
  endpoint: string;
  token: string;
  model: string;
  producer: Producer;
  rows: readonly FraudRow[];
  ratePerSecond: number;
}): Traffic {
  const begin = (rows: readonly FraudRow[]): Phase => ({
    rows,
    labelledUpTo: 0,
    load: startLoad({
      baseUrl: options.gatewayUrl,
      endpoint: options.endpoint,
      token: options.token,
      ratePerSecond: options.ratePerSecond,
      entities: rows.length,
      entityIds: rows.map((row) => row.card_id),
      features: (_id, index) =>
        Object.fromEntries(fraudFeatureNames.map((name) => [name, rows[index]![name]])),
      timeoutMs: 5000,
    }),
  });
  const phases: Phase[] = [begin(options.rows)];
  let labelled = 0;
  let stopped = false;

  /** Labels what was answered since the last call: the verdict of each scored transaction. */
  const label = async (phase: Phase) => {
    const answered = phase.load.results.slice(phase.labelledUpTo);
    phase.labelledUpTo += answered.length;
    const messages = answered
      .filter((result) => result.predictionId !== null)
      .map((result) => {
        const row = phase.rows[result.index % phase.rows.length]!;
        return {
          key: row.card_id,
          value: JSON.stringify({ ...cardTransactionLabel(row), id: result.predictionId }),
        };
      });
    if (messages.length === 0) return;
    await options.producer.send({ topic: labelTopic(options.model), messages });
    labelled += messages.length;
  };
  const labeller = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await label(phases[phases.length - 1]!);
    }
  })();

  return {
    async switchTo(rows) {
      const previous = phases[phases.length - 1]!;
      phases.push(begin(rows));
      await previous.load.stop();
      await label(previous);
    },
    summary() {
      const versions: Record<string, number> = {};
      let ok = 0;
      let failed = 0;
      for (const result of phases.flatMap((phase) => phase.load.results)) {
        if (result.status === 200) ok += 1;
        else failed += 1;
        if (result.version !== null) versions[result.version] = (versions[result.version] ?? 0) + 1;
      }
      return { versions, ok, failed, labelled };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await labeller;
      const last = phases[phases.length - 1]!;
      await last.load.stop();
      await label(last);
    },
  };
}
