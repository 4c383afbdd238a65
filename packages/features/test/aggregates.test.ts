import { describe, expect, it } from 'vitest';
import { defineFeatureView } from '@shepherd/contracts/features';
import { computeAggregates, EntityHistory, maxWindowMs, type TimedValues } from '../src/aggregates.ts';

const view = defineFeatureView({
  name: 'txns',
  version: 1,
  entityKey: 'card_id',
  ttlSeconds: 3600,
  features: [
    { name: 'amount', type: 'float', nullable: true },
    { name: 'merchant', type: 'string' },
  ],
  aggregates: [
    { name: 'n_1h', function: 'count', window: '1h' },
    { name: 'n_24h', function: 'count', window: '24h' },
    { name: 'sum_1h', function: 'sum', field: 'amount', window: '1h' },
    { name: 'avg_1h', function: 'avg', field: 'amount', window: '1h' },
    { name: 'min_24h', function: 'min', field: 'amount', window: '24h' },
    { name: 'max_24h', function: 'max', field: 'amount', window: '24h' },
    { name: 'amounts_1h', function: 'count', field: 'amount', window: '1h' },
  ],
});

const H = 3_600_000;
const at = (hours: number, amount: number | null): TimedValues => ({
  timeMs: Date.UTC(2025, 0, 2) + hours * H,
  values: { amount, merchant: 'm' },
});
const asOf = (hours: number) => Date.UTC(2025, 0, 2) + hours * H;

describe('window aggregates', () => {
  it('counts, sums and averages over (t − window, t], the event at t included', () => {
    const events = [at(-30, 1000), at(-20, 7), at(-1, 10), at(-0.5, 20), at(0, 30)];
    expect(computeAggregates(view, events, asOf(0))).toEqual({
      n_1h: 2, // -1h is on the open end of the window
      n_24h: 4,
      sum_1h: 50,
      avg_1h: 25,
      min_24h: 7,
      max_24h: 30,
      amounts_1h: 2,
    });
  });

  it('never counts events after the as-of time (no leakage), whatever their arrival order', () => {
    const events = [at(2, 999), at(0, 30), at(-0.25, 10), at(5, 1)];
    const result = computeAggregates(view, events, asOf(0));
    expect(result).toMatchObject({ n_1h: 2, sum_1h: 40, max_24h: 30 });
  });

  it('gives 0 for empty counts and sums and null for avg, min and max', () => {
    expect(computeAggregates(view, [at(-48, 5)], asOf(0))).toEqual({
      n_1h: 0,
      n_24h: 0,
      sum_1h: 0,
      avg_1h: null,
      min_24h: null,
      max_24h: null,
      amounts_1h: 0,
    });
  });

  it('skips nulls in field aggregates but counts the event', () => {
    const result = computeAggregates(view, [at(-0.1, null), at(0, 4)], asOf(0));
    expect(result).toMatchObject({ n_1h: 2, amounts_1h: 1, sum_1h: 4, avg_1h: 4, min_24h: 4 });
  });

  it('agrees with a brute-force recomputation on random data', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const events = Array.from({ length: 300 }, () =>
      at(random() * 72 - 48, Math.round(random() * 1000) / 10),
    );
    for (const hours of [-40, -10, -1, 0, 3, 24]) {
      const t = asOf(hours);
      const inWindow = (w: number) => events.filter((e) => e.timeMs > t - w * H && e.timeMs <= t);
      const amounts1h = inWindow(1).map((e) => e.values.amount as number);
      const amounts24h = inWindow(24).map((e) => e.values.amount as number);
      const result = computeAggregates(view, events, t);
      expect(result.n_1h).toBe(amounts1h.length);
      expect(result.n_24h).toBe(amounts24h.length);
      expect(result.sum_1h).toBeCloseTo(
        amounts1h.reduce((a, b) => a + b, 0),
        6,
      );
      expect(result.max_24h).toBe(amounts24h.length ? Math.max(...amounts24h) : null);
      expect(result.min_24h).toBe(amounts24h.length ? Math.min(...amounts24h) : null);
    }
  });

  it('gives, from a history that skips what is too old, exactly what a scan of every event gives', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    // Mostly in time order, as a partition brings them, with late events up to 30 h late (past
    // the longest window) and values whose sums depend on the order they are added in.
    const known = Array.from({ length: 100 }, (_, k) => at(k * 0.5 - 60, random() * 1e6 + 0.1));
    const history = new EntityHistory(known);
    expect(history.events).toBe(known);
    for (let k = 0; k < 400; k++) {
      const late = random() < 0.1 ? random() * 30 : 0;
      const event = at(k * 0.25 - 10 - late, random() < 0.05 ? null : random() * 1e6 + 0.1);
      history.push(event);
      // As of the new event, as of now, as of a time before every event, and after them all.
      for (const t of [event.timeMs, asOf(k * 0.25 - 10), asOf(-100), asOf(200)]) {
        expect(history.aggregates(view, t, maxWindowMs(view))).toEqual(computeAggregates(view, known, t));
      }
    }
    expect(known).toHaveLength(500);
  });

  it('knows the longest window', () => {
    expect(maxWindowMs(view)).toBe(24 * H);
    expect(maxWindowMs({ aggregates: [] })).toBe(0);
  });
});
