import { describe, expect, it } from 'vitest';
import { ShepherdError } from '@shepherd/core/errors';
import { compareToProfile, detectDrift } from '../src/detect.ts';
import { buildReferenceProfile } from '../src/profile.ts';
import { closeTo, generate, num, relativeError, vectors } from './vectors.ts';

const normal = (seed: number, n: number, loc = 0, scale = 1) =>
  generate({ seed, n, kind: 'normal4', loc, scale });
const categories = (seed: number, n: number, labels: string[], weights: number[]) => {
  const u = generate({ seed, n, kind: 'int', levels: 1_000_000 });
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from(u, (x) => {
    let acc = 0;
    for (let i = 0; i < labels.length; i++) {
      acc += (weights[i]! / total) * 1_000_000;
      if (x < acc) return labels[i]!;
    }
    return labels[labels.length - 1]!;
  });
};

describe('column tests against scipy through the column path (current window never sorted)', () => {
  it.each(vectors.ks.map((c) => [c.name, c] as const))('KS and Wasserstein: %s', (_name, c) => {
    const reference = { x: generate(c.reference) };
    const current = { x: generate(c.current) };
    const ks = detectDrift(reference, current, { method: 'ks' }).columns[0]!;
    expect(relativeError(ks.statistic, num(c.statistic))).toBeLessThan(1e-12);
    expect(relativeError(ks.pValue!, num(c.pValue))).toBeLessThan(1e-9);
    const w = detectDrift(reference, current, { method: 'wasserstein' }).columns[0]!;
    const expected = num(c.wasserstein) / Math.max(num(c.referenceStd), 0.001);
    expect(closeTo(w.statistic, expected, 1e-10)).toBe(true);
  });

  it('PSI and Jensen-Shannon on Sturges bins match numpy + scipy', () => {
    for (const c of vectors.binned) {
      const reference = { x: generate(c.reference) };
      const current = { x: generate(c.current) };
      const psi = detectDrift(reference, current, { method: 'psi' }).columns[0]!;
      const js = detectDrift(reference, current, { method: 'jensenshannon' }).columns[0]!;
      expect(relativeError(psi.statistic, num(c.psi))).toBeLessThan(1e-12);
      expect(relativeError(js.statistic, num(c.jensenshannon))).toBeLessThan(1e-12);
    }
  });

  it('chi-squared on a categorical column matches scipy with 1500 categories', () => {
    const c = vectors.chisquare.find((v) => v.observed.length === 1500 && v.statistic !== null)!;
    const expand = (counts: number[]) => counts.flatMap((n, i) => Array<string>(n).fill(`c${i}`));
    const result = detectDrift({ cat: expand(c.referenceCounts) }, { cat: expand(c.observed) }).columns[0]!;
    // 1500 categories over a large reference: Evidently's default would be Jensen-Shannon, so force chi².
    const chi = detectDrift(
      { cat: expand(c.referenceCounts) },
      { cat: expand(c.observed) },
      { method: 'chisquare' },
    ).columns[0]!;
    expect(result.method).toBe('jensenshannon');
    expect(relativeError(chi.statistic, num(c.statistic!))).toBeLessThan(1e-12);
    expect(relativeError(chi.pValue!, num(c.pValue!))).toBeLessThan(1e-9);
  });
});

describe('default method per column, as Evidently', () => {
  const small = 1000;
  const large = 1001;
  const pick = (reference: Record<string, unknown>, current: Record<string, unknown>) =>
    Object.fromEntries(
      detectDrift(reference as never, current as never).columns.map((c) => [
        c.column,
        `${c.method}@${c.threshold}`,
      ]),
    );

  it('reference ≤ 1000 rows: KS, chi², Z', () => {
    const ints = (seed: number, n: number, levels: number) => generate({ seed, n, kind: 'int', levels });
    expect(
      pick(
        {
          num: normal(1, small),
          few: ints(2, small, 4),
          two: ints(3, small, 2),
          cat: categories(4, small, ['a', 'b', 'c'], [1, 1, 1]),
          bin: categories(5, small, ['yes', 'no'], [1, 3]),
        },
        {
          num: normal(6, 500),
          few: ints(7, 500, 4),
          two: ints(8, 500, 2),
          cat: categories(9, 500, ['a', 'b', 'c'], [1, 1, 1]),
          bin: categories(10, 500, ['yes', 'no'], [1, 3]),
        },
      ),
    ).toEqual({ num: 'ks@0.05', few: 'chisquare@0.05', two: 'z@0.05', cat: 'chisquare@0.05', bin: 'z@0.05' });
  });

  it('reference > 1000 rows: Wasserstein for numeric, Jensen-Shannon for categorical and ≤ 5 values', () => {
    expect(
      pick(
        {
          num: normal(1, large),
          few: generate({ seed: 2, n: large, kind: 'int', levels: 5 }),
          cat: categories(4, large, ['a', 'b', 'c'], [1, 1, 1]),
        },
        {
          num: normal(6, 500),
          few: generate({ seed: 7, n: 500, kind: 'int', levels: 5 }),
          cat: categories(9, 500, ['a', 'b', 'c'], [1, 1, 1]),
        },
      ),
    ).toEqual({ num: 'wasserstein@0.1', few: 'jensenshannon@0.1', cat: 'jensenshannon@0.1' });
  });

  it('counts distinct values over reference and current together (a 6th value in current means KS)', () => {
    const reference = { x: [1, 2, 3, 4, 5, 1, 2, 3] };
    expect(detectDrift(reference, { x: [1, 2, 3, 4, 5] }).columns[0]!.method).toBe('chisquare');
    expect(detectDrift(reference, { x: [1, 2, 3, 4, 6] }).columns[0]!.method).toBe('ks');
  });

  it('per-column method and threshold override kind-wide and global options', () => {
    const reference = {
      a: normal(1, 300),
      b: normal(2, 300),
      c: categories(3, 300, ['x', 'y', 'z'], [1, 2, 3]),
    };
    const current = {
      a: normal(4, 300),
      b: normal(5, 300),
      c: categories(6, 300, ['x', 'y', 'z'], [1, 2, 3]),
    };
    const result = detectDrift(reference, current, {
      threshold: 0.2,
      numericMethod: 'psi',
      columns: { a: { method: 'wasserstein', threshold: 0.3 } },
    });
    expect(result.columns.map((c) => [c.column, c.method, c.threshold])).toEqual([
      ['a', 'wasserstein', 0.3],
      ['b', 'psi', 0.2],
      ['c', 'chisquare', 0.2],
    ]);
  });

  it('refuses a method that does not apply to the column kind, and options for unknown columns', () => {
    const reference = { c: ['a', 'b', 'a'] };
    const run = (options: Parameters<typeof detectDrift>[2]) => () =>
      detectDrift(reference, { c: ['a'] }, options);
    expect(run({ method: 'ks' })).toThrow(/does not apply to categorical/);
    expect(run({ columns: { nope: { threshold: 0.1 } } })).toThrow(/unknown column "nope"/);
    expect(run({ driftShare: 2 })).toThrow(/invalid drift options at driftShare/);
    expect(run({ method: 'median' as never })).toThrow(ShepherdError);
  });
});

describe('verdicts', () => {
  it('KS drifts at p ≤ α (Evidently), chi² and Z at p < α, distances at ≥ threshold', () => {
    const reference = { x: normal(1, 200) };
    const current = { x: normal(2, 200, 0.3) };
    const base = detectDrift(reference, current).columns[0]!;
    expect(base.method).toBe('ks');
    const atP = detectDrift(reference, current, { threshold: base.pValue! }).columns[0]!;
    expect(atP.drifted).toBe(true);
    const below = detectDrift(reference, current, { threshold: base.pValue! * (1 - 1e-12) }).columns[0]!;
    expect(below.drifted).toBe(false);

    const w = detectDrift({ x: normal(1, 2000) }, { x: normal(2, 2000, 0.3) }).columns[0]!;
    expect(w.method).toBe('wasserstein');
    expect(
      detectDrift({ x: normal(1, 2000) }, { x: normal(2, 2000, 0.3) }, { threshold: w.statistic }).columns[0]!
        .drifted,
    ).toBe(true);
  });

  it('finds injected drift and leaves stationary columns alone (both regimes)', () => {
    for (const n of [800, 50000]) {
      const reference = {
        same: normal(1, n),
        shifted: normal(2, n),
        scaled: normal(3, n),
        catSame: categories(4, n, ['a', 'b', 'c', 'd'], [4, 3, 2, 1]),
        catMoved: categories(5, n, ['a', 'b', 'c', 'd'], [4, 3, 2, 1]),
      };
      const current = {
        same: normal(11, n),
        shifted: normal(12, n, 0.5),
        scaled: normal(13, n, 0, 2),
        catSame: categories(24, n, ['a', 'b', 'c', 'd'], [4, 3, 2, 1]),
        catMoved: categories(15, n, ['a', 'b', 'c', 'd'], [1, 2, 3, 4]),
      };
      const result = detectDrift(reference, current);
      expect(Object.fromEntries(result.columns.map((c) => [c.column, c.drifted]))).toEqual({
        same: false,
        shifted: true,
        scaled: true,
        catSame: false,
        catMoved: true,
      });
      expect(result.numberOfDriftedColumns).toBe(3);
      expect(result.shareOfDriftedColumns).toBeCloseTo(0.6, 15);
      expect(result.datasetDrift).toBe(true);
      expect(detectDrift(reference, current, { driftShare: 0.61 }).datasetDrift).toBe(false);
    }
  });

  it("Evidently's chi² (reference taken as exact) over-alarms on equal-size windows; the two-sample form does not", () => {
    // 200 stationary windows of 400 rows against a 400-row reference, 4 categories.
    const weights = [4, 3, 2, 1];
    const labels = ['a', 'b', 'c', 'd'];
    let goodnessOfFit = 0;
    let contingency = 0;
    for (let w = 0; w < 200; w++) {
      const reference = { c: categories(1000 + w, 400, labels, weights) };
      const current = { c: categories(5000 + w, 400, labels, weights) };
      if (detectDrift(reference, current).columns[0]!.drifted) goodnessOfFit++;
      if (detectDrift(reference, current, { method: 'chi2_contingency' }).columns[0]!.drifted) contingency++;
    }
    // Goodness of fit: the statistic is about twice a χ²(3), so P(alarm) ≈ P(χ²(3) > 3.9) ≈ 0.27.
    expect(goodnessOfFit / 200).toBeGreaterThan(0.15);
    expect(contingency / 200).toBeLessThan(0.1);
  });

  it('a category absent from the reference makes chi² infinite: drift', () => {
    const result = detectDrift({ c: ['a', 'b', 'c', 'a', 'b', 'c'] }, { c: ['a', 'b', 'c', 'new'] })
      .columns[0]!;
    expect(result).toMatchObject({ method: 'chisquare', statistic: Infinity, pValue: 0, drifted: true });
  });

  it('constant columns: same constant is no drift, a different constant is', () => {
    const same = detectDrift({ x: [3, 3, 3, 3], c: ['k', 'k'] }, { x: [3, 3], c: ['k'] }).columns;
    expect(same.map((c) => [c.method, c.pValue, c.drifted])).toEqual([
      ['z', 1, false],
      ['z', 1, false],
    ]);
    const moved = detectDrift({ x: new Float64Array(2000).fill(3) }, { x: new Float64Array(2000).fill(4) })
      .columns[0]!;
    expect(moved).toMatchObject({ method: 'jensenshannon', drifted: true });
    // Wasserstein on a constant reference divides by Evidently's floor of 0.001 instead of std = 0.
    const w = detectDrift(
      { x: new Float64Array(2000).fill(3) },
      { x: new Float64Array(20).fill(3.0005) },
      { method: 'wasserstein' },
    ).columns[0]!;
    expect(w.statistic).toBeCloseTo(0.5, 10);
  });

  it('drops missing values (null, NaN, ±Infinity) and counts them', () => {
    const result = detectDrift(
      { x: [1, 2, 3, null, 4, 5, 6, 7] },
      { x: [1, NaN, 2, Infinity, 3, 4, 5, 6, 7, null] },
    ).columns[0]!;
    expect(result).toMatchObject({ referenceCount: 7, currentCount: 7, currentMissing: 3 });
  });
});

describe('beyond Evidently: minimum effect size and Benjamini-Hochberg', () => {
  it('a significant but tiny shift on a large window is not flagged when a minimum effect is set', () => {
    const reference = { x: normal(1, 1000) };
    const current = { x: normal(2, 200000, 0.12) };
    const plain = detectDrift(reference, current).columns[0]!;
    expect(plain).toMatchObject({ method: 'ks', drifted: true });
    expect(plain.effect).toBeLessThan(0.1);
    const gated = detectDrift(reference, current, { minEffect: 'recommended' }).columns[0]!;
    expect(gated).toMatchObject({ drifted: false, suppressedBySmallEffect: true, minEffect: 0.1 });
    const perColumn = detectDrift(reference, current, { columns: { x: { minEffect: 0.01 } } }).columns[0]!;
    expect(perColumn).toMatchObject({ drifted: true, minEffect: 0.01 });
  });

  it('Benjamini-Hochberg adjusts p-values across p-value columns only', () => {
    const n = 500;
    const reference = { a: normal(1, n), b: normal(2, n), c: normal(3, n), d: normal(4, n) };
    const current = { a: normal(11, n, 0.16), b: normal(12, n), c: normal(13, n), d: normal(14, n, 0.5) };
    const plain = detectDrift(reference, current);
    const adjusted = detectDrift(reference, current, { multipleTesting: 'benjamini-hochberg' });
    const p = plain.columns.map((c) => c.pValue!);
    const order = [...p.keys()].sort((i, j) => p[i]! - p[j]!);
    order.forEach((i, rank) => {
      const q = Math.min(...order.slice(rank).map((j, k) => (p[j]! * 4) / (rank + k + 1)));
      expect(adjusted.columns[i]!.pValueAdjusted).toBeCloseTo(Math.min(1, q), 14);
      expect(adjusted.columns[i]!.score).toBe(adjusted.columns[i]!.pValueAdjusted);
    });
    expect(adjusted.multipleTesting).toBe('benjamini-hochberg');
    expect(adjusted.numberOfDriftedColumns).toBeLessThanOrEqual(plain.numberOfDriftedColumns);
  });
});

describe('errors', () => {
  const expectValidation = (fn: () => unknown, message: RegExp) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ShepherdError);
      expect((err as ShepherdError).code).toBe('validation_failed');
      expect((err as Error).message).toMatch(message);
      return;
    }
    throw new Error('expected a validation error');
  };

  it('an empty current window is a clear error naming the column', () => {
    expectValidation(
      () => detectDrift({ x: [1, 2, 3] }, { x: [] }),
      /"x" has no non-missing values in the current window/,
    );
    expectValidation(() => detectDrift({ x: [1, 2, 3] }, { x: [NaN, null] }), /current window/);
    expectValidation(() => detectDrift({ c: ['a'] }, { c: [null] }), /"c" has no non-missing values/);
  });

  it('an empty reference column, a missing current column and wrong value types are refused', () => {
    expectValidation(() => detectDrift({ x: [null, NaN] }, { x: [1] }), /reference data/);
    expectValidation(() => detectDrift({ x: [1, 2] }, { y: [1] }), /"x" is missing from the current window/);
    expectValidation(() => detectDrift({ x: [1, 2] }, { x: ['a'] as never }), /numeric but holds string/);
    const profile = buildReferenceProfile({ x: [1, 2, 3] });
    expectValidation(
      () => compareToProfile(profile, { x: { kind: 'categorical', values: ['a'] } }),
      /numeric in the reference/,
    );
  });
});
