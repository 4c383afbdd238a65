import { createHash } from 'node:crypto';
import type { FeatureEvent } from '@shepherd/contracts/features';
import type { RegisteredFeatureView } from '../src/registry.ts';
import { writeBatch, type ValidEvent } from '../src/store.ts';

export interface Written {
  entityId: string;
  timeMs: number;
  partition: number;
  offset: number;
  values: Record<string, unknown>;
}

/** Writes events through the ingestion write path, one batch per (partition, chunk), in the given order. */
export async function writeEvents(
  db: Parameters<typeof writeBatch>[0],
  registered: RegisteredFeatureView,
  events: FeatureEvent[],
  written: Written[],
): Promise<void> {
  const next = [0, 0];
  const byPartition: ValidEvent[][] = [[], []];
  for (const event of events) {
    const partition = createHash('md5').update(event.entityId).digest()[0]! % 2;
    const offset = next[partition]!++;
    byPartition[partition]!.push({ offset: String(offset), event, eventTimeMs: Date.parse(event.eventTime) });
    written.push({
      entityId: event.entityId,
      timeMs: Date.parse(event.eventTime),
      partition,
      offset,
      values: event.values,
    });
  }
  for (const [partition, list] of byPartition.entries()) {
    for (let i = 0; i < list.length; i += 500) {
      const events = list.slice(i, i + 500);
      await writeBatch(db, registered, {
        topic: registered.view.sourceTopic,
        partition,
        events,
        rejectedOffsets: [],
        lastOffset: events[events.length - 1]!.offset,
      });
    }
  }
}
