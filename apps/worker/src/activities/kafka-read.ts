import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { readRanges, type PartitionRange } from '@shepherd/clients/kafka-ranges';
import { labelEvent } from '@shepherd/contracts/features';
import { predictionEvent, type PredictionEvent } from '@shepherd/contracts/serving';
import type { ArrivedLabel } from '@shepherd/registry/label-join';

/**
 * Bounded reads of the prediction log and label topics for the drift monitor and the canary
 * analysis. Each read has an explicit start and stops at the high watermarks seen when it began,
 * so a workflow that keeps offsets in its state reads each message once, and a retried activity
 * reads the same messages again.
 */

/** Partition → next offset to read, as decimal strings (Kafka offsets are 64-bit). */
export type Offsets = Record<string, string>;

interface ReadResult {
  values: { partition: number; offset: string; timestamp: number; value: Buffer | null }[];
  next: Offsets;
}

/**
 * Reads a topic from stored offsets up to its high watermarks at call time. A partition seen for
 * the first time is read from its low watermark. A missing topic reads nothing.
 */
export async function readSince(kafka: Kafka, topic: string, from: Offsets): Promise<ReadResult> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `shepherd.log-reader.${randomUUID()}`;
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return { values: [], next: { ...from } };
    const watermarks = await admin.fetchTopicOffsets(topic);
    const next: Offsets = { ...from };
    const ranges: PartitionRange[] = [];
    for (const mark of watermarks) {
      const start = BigInt(from[String(mark.partition)] ?? mark.low);
      // Retention may have deleted what the reader has not read yet: start at what is left.
      const begin = start < BigInt(mark.low) ? BigInt(mark.low) : start;
      const end = BigInt(mark.high);
      next[String(mark.partition)] = end.toString();
      ranges.push({ partition: mark.partition, from: begin, to: end });
    }
    const messages = await readRanges(kafka, topic, ranges, {
      groupId,
      maxWaitTimeInMs: 100,
    });
    const values = messages.map((message) => ({ ...message, offset: message.offset.toString() }));
    return { values, next };
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** The current high watermarks: a monitor starts with what arrives after it starts. */
export async function highWatermarks(kafka: Kafka, topic: string): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return {};
    const marks = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(marks.map((mark) => [String(mark.partition), mark.high]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The first offset of each partition whose message was appended at or after `time` (the high
 * watermark where there is none yet), so a read starts at a moment rather than at stored offsets.
 */
export async function offsetsAt(kafka: Kafka, topic: string, time: Date): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return {};
    const [found, marks] = await Promise.all([
      admin.fetchTopicOffsetsByTimestamp(topic, time.getTime()),
      admin.fetchTopicOffsets(topic),
    ]);
    const high = new Map(marks.map((mark) => [mark.partition, mark.high]));
    return Object.fromEntries(
      found.map((entry) => [
        String(entry.partition),
        entry.offset === '-1' ? (high.get(entry.partition) ?? '0') : entry.offset,
      ]),
    );
  } finally {
    await admin.disconnect();
  }
}

function parseJson(value: Buffer | null): unknown {
  if (!value || value.length === 0) return undefined;
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The prediction log's valid events of one endpoint; anything else on the topic is skipped. */
export function predictionsOf(
  values: ReadResult['values'],
  scope: { projectId: string; endpoint: string },
): PredictionEvent[] {
  const events: PredictionEvent[] = [];
  for (const message of values) {
    const parsed = predictionEvent.safeParse(parseJson(message.value));
    if (!parsed.success) continue;
    if (parsed.data.projectId !== scope.projectId || parsed.data.endpoint !== scope.endpoint) continue;
    events.push(parsed.data);
  }
  return events;
}

/** Valid label events; malformed ones are the producer's problem and do not stop a reader. */
export function labelsOf(values: ReadResult['values']): ArrivedLabel[] {
  const labels: ArrivedLabel[] = [];
  for (const message of values) {
    const parsed = labelEvent.safeParse(parseJson(message.value));
    if (!parsed.success) continue;
    labels.push({
      id: parsed.data.id ?? null,
      entityId: parsed.data.entityId,
      eventTime: new Date(parsed.data.eventTime),
      label: parsed.data.label,
    });
  }
  return labels;
}
