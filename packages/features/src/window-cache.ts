import type { TimedValues } from './aggregates.ts';

/** What the ingestion process remembers of one entity between batches, for its window aggregates. */
export interface CachedWindow {
  /**
   * The `xmin` of the entity's online row after this process last wrote it: the id of the
   * transaction that wrote it. Every batch that adds offline rows for an entity also writes its
   * online row, so an online row with another `xmin` means someone else (another partition,
   * another process, a rebuild) has written since, and the entry is not trusted.
   */
  rowVersion: string;
  /** Every event of the entity with a time after this (ms) is in `events`; earlier ones may not be. */
  completeAfterMs: number;
  /** Only the fields the view aggregates. */
  events: TimedValues[];
}

/**
 * Recent events per entity of one view, kept by the ingestion process so a batch does not read
 * its entities' window history back from the offline store. An entry is only a shortcut: the
 * writer checks it against the online row it has locked (see `rowVersion`) and reads the offline
 * store whenever it cannot be sure. Bounded by the number of events held; the entities used least
 * recently go first.
 */
export class EntityWindowCache {
  private readonly entries = new Map<string, CachedWindow>();
  private events = 0;

  constructor(
    /** The view whose entities these are; a writer for another view must not use it. */
    readonly viewId: string,
    readonly maxEvents = 1_000_000,
  ) {
    if (!Number.isSafeInteger(maxEvents) || maxEvents < 0) {
      throw new RangeError(`maxEvents must be a non-negative integer, got ${maxEvents}`);
    }
  }

  get(entityId: string): CachedWindow | undefined {
    return this.entries.get(entityId);
  }

  set(entityId: string, entry: CachedWindow): void {
    this.delete(entityId);
    if (entry.events.length > this.maxEvents) return;
    this.entries.set(entityId, entry);
    this.events += entry.events.length;
    // Map order is insertion order, and `set` re-inserts: the first entries are the least recent.
    for (const [oldest, old] of this.entries) {
      if (this.events <= this.maxEvents) break;
      this.entries.delete(oldest);
      this.events -= old.events.length;
    }
  }

  delete(entityId: string): void {
    const old = this.entries.get(entityId);
    if (!old) return;
    this.entries.delete(entityId);
    this.events -= old.events.length;
  }

  get size(): { entities: number; events: number } {
    return { entities: this.entries.size, events: this.events };
  }
}
