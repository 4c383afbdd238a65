import { describe, expect, it } from 'vitest';
import {
  expectedLoss,
  fraudColumns,
  fraudFeatureNames,
  fraudProbability,
  generateFraudRows,
  labelShuffleBlock,
  type ExpectedLossRow,
  type FraudDataOptions,
  type FraudRow,
} from '../src/fraud.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function generate(options: FraudDataOptions): FraudRow[] {
  return [...generateFraudRows(options)];
}

function positiveRate(rows: readonly FraudRow[]): number {
  return rows.reduce((sum, row) => sum + row.label, 0) / rows.length;
}

/** Rank AUC of `score` against the labels (ties broken arbitrarily; scores here are continuous). */
function auc(rows: readonly FraudRow[], score: (row: FraudRow) => number): number {
  const ranked = rows
    .map((row) => ({ score: score(row), label: row.label }))
    .sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  ranked.forEach((entry, index) => {
    if (entry.label === 1) {
      positives++;
      rankSum += index + 1;
    }
  });
  const negatives = ranked.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('generateFraudRows', () => {
  it('gives identical rows for the same seed and different rows for another seed', () => {
    const a = generate({ rows: 3000, seed: 42 });
    const b = generate({ rows: 3000, seed: 42 });
    const c = generate({ rows: 3000, seed: 43 });
    expect(b).toEqual(a);
    const sameAmount = a.filter((row, i) => row.amount === c[i]!.amount).length;
    expect(sameAmount).toBeLessThan(a.length * 0.05);
    expect(c.map((row) => row.event_time)).not.toEqual(a.map((row) => row.event_time));
    expect(c[0]!.transaction_id).not.toBe(a[0]!.transaction_id);
  });

  it('tells apart seeds that differ only above 32 bits', () => {
    const low = generate({ rows: 50, seed: 7 });
    const high = generate({ rows: 50, seed: 7 + 2 ** 32 });
    expect(high.map((row) => row.amount)).not.toEqual(low.map((row) => row.amount));
  });

  it('emits rows with every column, in strictly increasing event time, with unique ids', () => {
    const rows = generate({ rows: 5000, seed: 1, cards: 40, start: '2024-06-01T00:00:00Z', days: 10 });
    expect(rows).toHaveLength(5000);
    expect(Object.keys(rows[0]!)).toEqual([...fraudColumns]);
    expect(new Set(rows.map((row) => row.transaction_id)).size).toBe(rows.length);
    expect(new Set(rows.map((row) => row.card_id)).size).toBeLessThanOrEqual(40);
    expect(rows[0]!.card_id).toMatch(/^card-\d{6}$/);

    const times = rows.map((row) => Date.parse(row.event_time));
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(times[0]!).toBeGreaterThanOrEqual(Date.parse('2024-06-01T00:00:00Z'));
    const spanDays = (times.at(-1)! - times[0]!) / DAY_MS;
    expect(spanDays).toBeGreaterThan(7);
    expect(spanDays).toBeLessThan(13);

    for (const row of rows) {
      for (const name of fraudFeatureNames) expect(Number.isFinite(row[name]), name).toBe(true);
      expect(row.amount).toBeGreaterThan(0);
      expect(row.log_amount).toBeCloseTo(Math.log(row.amount), 3);
      expect(row.hour_of_day).toBe(new Date(row.event_time).getUTCHours());
      expect(row.is_night).toBe(row.hour_of_day < 6 ? 1 : 0);
      expect([0, 1]).toContain(row.is_foreign);
      expect([0, 1]).toContain(row.label);
      expect(row.merchant_risk).toBeGreaterThan(0);
      expect(row.merchant_risk).toBeLessThan(1);
      expect(row.card_age_days).toBeGreaterThan(0);
      expect(row.txn_count_1h).toBeLessThanOrEqual(row.txn_count_24h);
    }
  });

  it('streams: the first rows of a huge dataset come without generating the rest', () => {
    const started = Date.now();
    const iterator = generateFraudRows({ rows: 50_000_000, seed: 3 });
    const first = [iterator.next(), iterator.next(), iterator.next()];
    expect(first.every((result) => result.done === false)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('has a fraud rate of 2–5% across seeds, with and without drift', () => {
    for (const seed of [1, 2, 3]) {
      const rate = positiveRate(generate({ rows: 20_000, seed }));
      expect(rate, `seed ${seed}`).toBeGreaterThan(0.02);
      expect(rate, `seed ${seed}`).toBeLessThan(0.05);
    }
    const drifted = positiveRate(generate({ rows: 20_000, seed: 1, drift: true }));
    expect(drifted).toBeGreaterThan(0.02);
    expect(drifted).toBeLessThan(0.06);
  });

  it('computes the per-card window aggregates from that card’s earlier rows only', () => {
    // Few cards, so most rows have a history in both windows.
    const rows = generate({ rows: 4000, seed: 11, cards: 15, days: 7 });
    const byCard = new Map<string, { time: number; amount: number }[]>();
    let withHistory = 0;
    for (const row of rows) {
      const time = Date.parse(row.event_time);
      const earlier = byCard.get(row.card_id) ?? [];
      // Naive recomputation over the card's whole past, independent of the generator's rolling window.
      const day = earlier.filter((prior) => prior.time < time && time - prior.time < DAY_MS);
      const hour = earlier.filter((prior) => prior.time < time && time - prior.time < HOUR_MS);
      expect(row.txn_count_24h, row.transaction_id).toBe(day.length);
      expect(row.txn_count_1h, row.transaction_id).toBe(hour.length);
      const expectedRatio = day.length === 0 ? 1 : row.amount / mean(day.map((prior) => prior.amount));
      expect(Math.abs(row.amount_vs_avg_24h - expectedRatio), row.transaction_id).toBeLessThanOrEqual(5.1e-5);
      if (hour.length > 0) withHistory++;
      earlier.push({ time, amount: row.amount });
      byCard.set(row.card_id, earlier);
    }
    expect(withHistory).toBeGreaterThan(100);
  });

  it('draws labels that the features explain well, but not perfectly', () => {
    const rows = generate({ rows: 20_000, seed: 5 });
    const oracle = auc(rows, fraudProbability);
    expect(oracle).toBeGreaterThan(0.88);
    expect(oracle).toBeLessThan(0.97);
    // Single features carry part of the signal, none all of it.
    expect(auc(rows, (row) => row.merchant_risk)).toBeGreaterThan(0.6);
    expect(auc(rows, (row) => row.txn_count_1h)).toBeGreaterThan(0.6);
    expect(auc(rows, (row) => row.merchant_risk)).toBeLessThan(0.85);
  });

  it('shuffled labels keep the features and the fraud rate but break the relation', () => {
    const clean = generate({ rows: 20_000, seed: 9 });
    const shuffled = generate({ rows: 20_000, seed: 9, shuffleLabels: true });
    const strip = ({ label: _label, ...rest }: FraudRow) => rest;
    expect(shuffled.map(strip)).toEqual(clean.map(strip));
    // Permuted within blocks: the count of positives is kept exactly, block by block.
    for (let start = 0; start < clean.length; start += labelShuffleBlock) {
      const block = (rows: FraudRow[]) => positiveRate(rows.slice(start, start + labelShuffleBlock));
      expect(block(shuffled)).toBe(block(clean));
    }
    expect(auc(clean, fraudProbability)).toBeGreaterThan(0.88);
    expect(Math.abs(auc(shuffled, fraudProbability) - 0.5)).toBeLessThan(0.04);
    const moved = shuffled.filter((row, i) => row.label !== clean[i]!.label).length;
    expect(moved).toBeGreaterThan(positiveRate(clean) * clean.length);
  });

  it('label noise weakens the relation in proportion and keeps the rate', () => {
    const clean = generate({ rows: 20_000, seed: 9 });
    const noisy = generate({ rows: 20_000, seed: 9, labelNoise: 0.5 });
    expect(positiveRate(noisy)).toBe(positiveRate(clean));
    const cleanAuc = auc(clean, fraudProbability);
    const noisyAuc = auc(noisy, fraudProbability);
    expect(noisyAuc).toBeLessThan(cleanAuc - 0.1);
    expect(noisyAuc).toBeGreaterThan(0.6);
  });

  it('drift moves spending to riskier merchants and larger amounts', () => {
    const base = generate({ rows: 20_000, seed: 4 });
    const drifted = generate({ rows: 20_000, seed: 4, drift: true });
    const legit = (rows: FraudRow[]) => rows.filter((row) => row.label === 0);
    expect(mean(legit(drifted).map((r) => r.merchant_risk))).toBeGreaterThan(
      mean(legit(base).map((r) => r.merchant_risk)) + 0.04,
    );
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    expect(median(drifted.map((r) => r.amount))).toBeGreaterThan(1.4 * median(base.map((r) => r.amount)));
    const partial = generate({ rows: 20_000, seed: 4, drift: { merchantMix: 0.5 } });
    const riskOf = (rows: FraudRow[]) => mean(legit(rows).map((r) => r.merchant_risk));
    expect(riskOf(partial)).toBeGreaterThan(riskOf(base));
    expect(riskOf(partial)).toBeLessThan(riskOf(drifted));
  });

  it('rejects bad options before yielding anything', () => {
    expect(() => generateFraudRows({ rows: -1 })).toThrow(RangeError);
    expect(() => generateFraudRows({ rows: 1.5 })).toThrow(RangeError);
    expect(() => generateFraudRows({ rows: 10, cards: 0 })).toThrow(/cards/);
    expect(() => generateFraudRows({ rows: 10, seed: 0.5 })).toThrow(/seed/);
    expect(() => generateFraudRows({ rows: 10, start: 'not a date' })).toThrow(/start/);
    expect(() => generateFraudRows({ rows: 10, days: 0 })).toThrow(/days/);
    expect(() => generateFraudRows({ rows: 10, labelNoise: 1.5 })).toThrow(/labelNoise/);
    expect(() => generateFraudRows({ rows: 10, drift: { merchantMix: 2 } })).toThrow(/merchantMix/);
    expect(generate({ rows: 0 })).toEqual([]);
  });
});

/** Pearson correlation. */
function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const dx = x - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe("generateFraudRows with target: 'expected_loss'", () => {
  const regression = (options: FraudDataOptions): ExpectedLossRow[] => [
    ...generateFraudRows({ ...options, target: 'expected_loss' }),
  ];

  it('is deterministic per seed and keeps the fraud rows’ features', () => {
    const a = regression({ rows: 3000, seed: 42 });
    expect(regression({ rows: 3000, seed: 42 })).toEqual(a);
    const other = regression({ rows: 3000, seed: 43 });
    expect(other.map((row) => row.label)).not.toEqual(a.map((row) => row.label));
    const strip = ({ label: _label, ...rest }: FraudRow | ExpectedLossRow) => rest;
    expect(a.map(strip)).toEqual(generate({ rows: 3000, seed: 42 }).map(strip));
    expect(Object.keys(a[0]!)).toEqual([...fraudColumns]);
  });

  it('gives a non-negative real target that follows amount × P(fraud) × loss given fraud', () => {
    const rows = regression({ rows: 20_000, seed: 5 });
    const labels = rows.map((row) => row.label);
    for (const label of labels) {
      expect(Number.isFinite(label)).toBe(true);
      expect(label).toBeGreaterThanOrEqual(0);
    }
    expect(new Set(labels).size).toBeGreaterThan(rows.length * 0.5);
    // The noise has mean 1: the oracle is unbiased and explains most of the variance.
    const oracle = rows.map(expectedLoss);
    expect(mean(labels) / mean(oracle)).toBeGreaterThan(0.97);
    expect(mean(labels) / mean(oracle)).toBeLessThan(1.03);
    expect(correlation(labels, oracle)).toBeGreaterThan(0.9);
    // Each driver on its own carries part of it.
    expect(
      correlation(
        labels,
        rows.map((row) => row.amount),
      ),
    ).toBeGreaterThan(0.2);
    expect(
      correlation(
        labels,
        rows.map((row) => row.merchant_risk),
      ),
    ).toBeGreaterThan(0.1);
    expect(
      correlation(
        labels,
        rows.map((row) => row.txn_count_1h),
      ),
    ).toBeGreaterThan(0.1);
  });

  it('shuffled targets keep their values but lose the relation', () => {
    const clean = regression({ rows: 20_000, seed: 9 });
    const shuffled = regression({ rows: 20_000, seed: 9, shuffleLabels: true });
    const sorted = (rows: ExpectedLossRow[]) => rows.map((row) => row.label).sort((a, b) => a - b);
    expect(sorted(shuffled)).toEqual(sorted(clean));
    expect(
      Math.abs(
        correlation(
          shuffled.map((r) => r.label),
          shuffled.map(expectedLoss),
        ),
      ),
    ).toBeLessThan(0.05);
  });

  it('rejects an unknown target', () => {
    expect(() => generateFraudRows({ rows: 10, target: 'loss' as 'fraud' })).toThrow(/target/);
  });
});
