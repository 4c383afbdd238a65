import { describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { compareToProfile, detectDrift } from '../src/detect.ts';
import { buildReferenceProfile, parseReferenceProfile, ReferenceProfileSchema } from '../src/profile.ts';
import { generate } from './vectors.ts';

const normal = (seed: number, n: number, loc = 0, scale = 1) =>
  generate({ seed, n, kind: 'normal4', loc, scale });
const ints = (seed: number, n: number, levels: number) => generate({ seed, n, kind: 'int', levels });
const labels = (seed: number, n: number) =>
  Array.from(ints(seed, n, 5), (i) => ['a', 'b', 'c', 'd', 'e'][i]!);
const roundTrip = (value: unknown) => parseReferenceProfile(JSON.parse(JSON.stringify(value)));

describe('buildReferenceProfile', () => {
  it('summarises numeric and categorical columns and validates against its own schema', () => {
    const values = normal(1, 3000, 5, 2);
    const profile = buildReferenceProfile({ x: values, k: ints(2, 3000, 4), c: labels(3, 3000) });
    expect(ReferenceProfileSchema.safeParse(profile).success).toBe(true);
    const x = profile.columns.x!;
    if (x.kind !== 'numeric') throw new Error('x should be numeric');
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(x.mean).toBeCloseTo(mean, 12);
    expect(x.count).toBe(3000);
    expect(x.sampleExact).toBe(true);
    expect(x.histogram.counts.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(x.min).toBe(Math.min(...values));
    expect(x.max).toBe(Math.max(...values));
    expect(x.distinct).toBeUndefined();
    const k = profile.columns.k!;
    expect(k.kind === 'numeric' && k.distinct?.values).toEqual([0, 1, 2, 3]);
    const c = profile.columns.c!;
    expect(c.kind === 'categorical' && c.counts.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(profile.rowCount).toBe(3000);
  });

  it('keeps a bounded, deterministic sample of mid-rank quantiles for large columns', () => {
    const values = normal(4, 200000);
    const a = buildReferenceProfile({ x: values }, { sampleSize: 2000 });
    const b = buildReferenceProfile({ x: values.slice().reverse() }, { sampleSize: 2000 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const x = a.columns.x!;
    if (x.kind !== 'numeric') throw new Error('numeric expected');
    expect(x.sample).toHaveLength(2000);
    expect(x.sampleExact).toBe(false);
    const sorted = values.slice().sort();
    expect(x.sample[0]).toBe(sorted[50]);
    expect(x.sample[1999]).toBe(sorted[Math.floor(1999.5 * 100)]);
    expect(JSON.stringify(a).length).toBeLessThan(60000);
  });

  it('refuses identifier-like categorical columns and empty columns', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `id-${i}`);
    expect(() => buildReferenceProfile({ id: ids }, { maxCategories: 20 })).toThrow(
      /looks like an identifier/,
    );
    expect(() => buildReferenceProfile({ x: [null, null] })).toThrow(ShepherdError);
  });

  it('rejects a tampered profile with the path of the problem', () => {
    const profile = JSON.parse(JSON.stringify(buildReferenceProfile({ x: [3, 1, 2] })));
    profile.columns.x.sample = [3, 1, 2];
    expect(() => parseReferenceProfile(profile)).toThrow(/columns\.x.*ascending/);
    expect(() => parseReferenceProfile({ version: 2 })).toThrow(/invalid reference profile/);
  });
});

describe('compareToProfile', () => {
  const reference = () => ({
    num: normal(1, 4000),
    shifted: normal(2, 4000),
    few: ints(3, 4000, 4),
    cat: labels(4, 4000),
  });
  const current = () => ({
    num: normal(11, 3000),
    shifted: normal(12, 3000, 0.4),
    few: ints(13, 3000, 4),
    cat: labels(14, 3000),
  });

  it('equals detectDrift on the raw data when the sample holds every value (after a JSON round trip)', () => {
    const profile = roundTrip(buildReferenceProfile(reference()));
    for (const options of [
      {},
      { method: 'psi' as const, categoricalMethod: 'chisquare' as const },
      { numericMethod: 'ks' as const },
    ]) {
      expect(compareToProfile(profile, current(), options)).toEqual(
        detectDrift(reference(), current(), options),
      );
    }
    expect(compareToProfile(profile, current()).columns.every((c) => !c.approximate)).toBe(true);
  });

  it('also equals detectDrift in the small-reference regime (KS, chi², Z)', () => {
    const ref = { x: normal(5, 900), k: ints(6, 900, 3), b: ints(7, 900, 2) };
    const cur = { x: normal(8, 700, 0.2), k: ints(9, 700, 3), b: ints(10, 700, 2) };
    const profile = roundTrip(buildReferenceProfile(ref));
    const result = compareToProfile(profile, cur);
    expect(result.columns.map((c) => c.method)).toEqual(['ks', 'chisquare', 'z']);
    expect(result).toEqual(detectDrift(ref, cur));
  });

  it('a sampled reference approximates the exact statistics within the sample resolution', () => {
    const n = 300000;
    const ref = { a: normal(21, n), b: normal(22, n), c: generate({ seed: 23, n, kind: 'exp' }) };
    const cur = {
      a: normal(31, 100000),
      b: normal(32, 100000, 0.15),
      c: generate({ seed: 33, n: 100000, kind: 'exp', scale: 1.3 }),
    };
    const profile = roundTrip(buildReferenceProfile(ref, { sampleSize: 5000 }));
    for (const method of ['wasserstein', 'ks'] as const) {
      const exact = detectDrift(ref, cur, { method });
      const approx = compareToProfile(profile, cur, { method });
      approx.columns.forEach((column, i) => {
        const truth = exact.columns[i]!;
        expect(column.approximate).toBe(true);
        // KS: the sample's CDF is within 1/5000 of the reference's. Wasserstein (in std units): the
        // error is at most the mean gap between neighbouring quantiles.
        expect(Math.abs(column.statistic - truth.statistic)).toBeLessThan(method === 'ks' ? 2.5e-4 : 2e-3);
        expect(column.drifted).toBe(truth.drifted);
      });
    }
    expect(compareToProfile(profile, cur).columns.map((c) => c.drifted)).toEqual([false, true, true]);
  });

  it('names what is wrong with the current window', () => {
    const profile = buildReferenceProfile({ x: [1, 2, 3], c: ['a', 'b'] });
    expect(() => compareToProfile(profile, { x: [1] })).toThrow(/"c" is missing from the current window/);
    expect(() => compareToProfile(profile, { x: [], c: ['a'] })).toThrow(/"x" has no non-missing values/);
    expect(
      compareToProfile(profile, { x: [1, 2], c: ['a'], extra: [1] }, { only: ['x'] }).numberOfColumns,
    ).toBe(1);
  });
});
