import { latencyBucketBoundsMs, latencyBucketIndex, predictionBins } from '@shepherd/contracts/serving';
import type { Logger } from '@shepherd/core/logger';
import type { Database } from '@shepherd/db/client';
import { servingStats } from '@shepherd/db/schema';

export type StatsRole = 'champion' | 'candidate' | 'shadow';

export interface StatsSubject {
  projectId: string;
  endpointId: string;
  endpoint: string;
  versionId: string;
  version: number;
  role: StatsRole;
}

/** One endpoint × version × role × second, as serving_stats stores it. */
interface Cell {
  subject: StatsSubject;
  second: number;
  requests: number;
  errors: number;
  latencyCounts: number[];
  latencySumMs: number;
  predictionCounts: number[];
  predictionSum: number;
  predictionSquares: number;
}

/** Cumulative since start, for Prometheus: counts never go down, so rates and histograms work. */
interface Totals {
  subject: StatsSubject;
  /** HTTP status → predictions answered with it. */
  byStatus: Map<number, number>;
  /** Per latency bucket (contracts bounds), not cumulative; the exposition sums them. */
  latencyCounts: number[];
  latencySumMs: number;
  errors: number;
}

type StatsRow = typeof servingStats.$inferInsert;

const newCounts = (length: number) => new Array<number>(length).fill(0);
const subjectKey = (s: StatsSubject) => `${s.endpointId}|${s.versionId}|${s.role}`;

/**
 * Counts what the gateway served per endpoint, version, role and second. A prediction is counted
 * once its request is answered (or its shadow run is done), in the second it completes; a
 * completed second is written to serving_stats once, by the flusher, and never touched again.
 *
 * The unit is a prediction (a row), not an HTTP request: a batch of 50 rows split across champion
 * and candidate is 50 predictions, each with its request's latency, so versions compare fairly.
 */
export class StatsRecorder {
  private readonly open = new Map<number, Map<string, Cell>>();
  private pending: StatsRow[] = [];
  private readonly totals = new Map<string, Totals>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Rows dropped because PostgreSQL refused them for too long (bounded retry). */
  droppedRows = 0;
  insertedRows = 0;
  lastFlushError: string | undefined;

  constructor(
    private readonly options: {
      db: Database;
      gatewayId: string;
      logger: Logger;
      /** Rows kept for retry while inserts fail; older rows go first beyond it. */
      maxPendingRows?: number;
      now?: () => number;
    },
  ) {}

  /**
   * Counts `count` predictions of one request. `predictions` holds the outputs of those that
   * succeeded (none for an error); latency is the request's, from arrival to answer.
   */
  record(
    subject: StatsSubject,
    outcome: {
      count: number;
      errors: number;
      latencyMs: number;
      status: number;
      predictions?: ArrayLike<number>;
    },
  ): void {
    const now = (this.options.now ?? Date.now)();
    const second = Math.floor(now / 1000) * 1000;
    let cells = this.open.get(second);
    if (!cells) this.open.set(second, (cells = new Map()));
    const key = subjectKey(subject);
    let cell = cells.get(key);
    if (!cell) {
      cell = {
        subject,
        second,
        requests: 0,
        errors: 0,
        latencyCounts: newCounts(latencyBucketBoundsMs.length + 1),
        latencySumMs: 0,
        predictionCounts: newCounts(predictionBins),
        predictionSum: 0,
        predictionSquares: 0,
      };
      cells.set(key, cell);
    }
    const bucket = latencyBucketIndex(outcome.latencyMs);
    cell.requests += outcome.count;
    cell.errors += outcome.errors;
    cell.latencyCounts[bucket]! += outcome.count;
    cell.latencySumMs += outcome.latencyMs * outcome.count;
    const predictions = outcome.predictions;
    if (predictions) {
      for (let i = 0; i < predictions.length; i++) {
        const value = predictions[i]!;
        // Equal bins over [0, 1]; a regression value outside lands in the edge bins (clamped).
        const bin = Math.min(Math.max(Math.floor(value * predictionBins), 0), predictionBins - 1);
        cell.predictionCounts[bin]! += 1;
        cell.predictionSum += value;
        cell.predictionSquares += value * value;
      }
    }

    let total = this.totals.get(key);
    if (!total) {
      total = {
        subject,
        byStatus: new Map(),
        latencyCounts: newCounts(latencyBucketBoundsMs.length + 1),
        latencySumMs: 0,
        errors: 0,
      };
      this.totals.set(key, total);
    }
    total.byStatus.set(outcome.status, (total.byStatus.get(outcome.status) ?? 0) + outcome.count);
    total.latencyCounts[bucket]! += outcome.count;
    total.latencySumMs += outcome.latencyMs * outcome.count;
    total.errors += outcome.errors;
  }

  /** Cumulative totals per endpoint × version × role, for the Prometheus exposition. */
  snapshot(): readonly Totals[] {
    return [...this.totals.values()];
  }

  get pendingRows(): number {
    let open = 0;
    for (const cells of this.open.values()) open += cells.size;
    return this.pending.length + open;
  }

  /** Flushes about every `intervalMs` in the background. */
  start(intervalMs = 1000): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.flush().finally(tick);
      }, intervalMs);
      this.timer.unref();
    };
    tick();
  }

  /**
   * Moves completed seconds (all of them when `all`, at shutdown) to the pending batch and inserts
   * it in one statement. A failed insert keeps the batch for the next tick; a retried insert of
   * rows that did land is harmless (the primary key ignores the repeat).
   */
  flush(all = false): Promise<void> {
    this.flushing ??= this.flushOnce(all).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.flushing;
    await this.flush(true);
  }

  private async flushOnce(all: boolean): Promise<void> {
    const current = Math.floor((this.options.now ?? Date.now)() / 1000) * 1000;
    for (const [second, cells] of this.open) {
      if (!all && second >= current) continue;
      for (const cell of cells.values()) this.pending.push(this.toRow(cell));
      this.open.delete(second);
    }
    const max = this.options.maxPendingRows ?? 100_000;
    if (this.pending.length > max) {
      const dropped = this.pending.length - max;
      this.pending = this.pending.slice(dropped);
      this.droppedRows += dropped;
      this.options.logger.error(
        { dropped, droppedTotal: this.droppedRows },
        'serving stats could not be written for too long; dropped the oldest rows',
      );
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let start = 0;
    try {
      // PostgreSQL caps a statement at 65535 parameters; 13 columns a row.
      for (; start < batch.length; start += 4000) {
        const chunk = batch.slice(start, start + 4000);
        await this.options.db.insert(servingStats).values(chunk).onConflictDoNothing();
        this.insertedRows += chunk.length;
      }
      if (this.lastFlushError !== undefined) this.options.logger.info('serving stats are written again');
      this.lastFlushError = undefined;
    } catch (err) {
      // Keep what did not land for the next tick; rows of a statement that did land are ignored if repeated.
      this.pending = batch.slice(start).concat(this.pending);
      if (this.lastFlushError === undefined) {
        this.options.logger.warn(
          { err, rows: batch.length - start },
          'writing serving stats failed; retrying',
        );
      }
      this.lastFlushError = err instanceof Error ? err.message : String(err);
    }
  }

  private toRow(cell: Cell): StatsRow {
    return {
      projectId: cell.subject.projectId,
      endpointId: cell.subject.endpointId,
      versionId: cell.subject.versionId,
      role: cell.subject.role,
      gatewayId: this.options.gatewayId,
      second: new Date(cell.second),
      requests: cell.requests,
      errors: cell.errors,
      latencyCounts: cell.latencyCounts,
      latencySumMs: cell.latencySumMs,
      predictionCounts: cell.predictionCounts,
      predictionSum: cell.predictionSum,
      predictionSquares: cell.predictionSquares,
    };
  }
}
