/**
 * What every benchmark in bench/ returns. Each one measures Shepherd and a reference on the same
 * data in the same run, so the ratio means something on a shared, noisy machine.
 */
export interface BenchResult {
  /** Short id, e.g. `ingestion`, `drift`. */
  name: string;
  /** One sentence: what is measured. */
  description: string;
  /** What Shepherd is compared with, e.g. `plain kafkajs consumer of the same topic`. */
  reference: string;
  /** Raw figures, named with their unit, e.g. `{ shepherd_events_per_s: 41000, reference_events_per_s: 70000 }`. */
  figures: Record<string, number>;
  /** Shepherd against the reference, stated so that the target reads naturally. */
  ratio: { label: string; value: number };
  /** The target, and whether this run met it. */
  target: { description: string; met: boolean };
  /** Anything a reader needs to interpret the numbers (sample sizes, skipped parts). */
  notes: string[];
}

export interface BenchContext {
  /** Smaller data when set (`BENCH_QUICK=1`): for checking the harness, not for figures. */
  quick: boolean;
  log: (message: string) => void;
}

export type Benchmark = (ctx: BenchContext) => Promise<BenchResult>;
