import { describe, expect, it } from 'vitest';
import { kstwoSf, ksTwoSamplePValue, smirnovSf } from '../src/kolmogorov.ts';
import { num, relativeError, vectors } from './vectors.ts';

describe('kstwo survival (scipy.stats.kstwo.sf)', () => {
  it('matches scipy to 1e-9 in every region (Ruben-Gambino, Durbin, Pomeranz, Pelz-Good, Smirnov)', () => {
    const failures = vectors.kolmogorov.kstwo
      .map((c) => ({ ...c, got: kstwoSf(c.x, c.n), want: num(c.sf) }))
      .filter((c) => !(relativeError(c.got, c.want) <= 1e-9));
    expect(failures).toEqual([]);
    expect(vectors.kolmogorov.kstwo.length).toBeGreaterThan(300);
  });

  it('is 1 below the support (x ≤ 1/2n) and 0 at x ≥ 1', () => {
    expect(kstwoSf(0.5 / 40, 40)).toBe(1);
    expect(kstwoSf(0, 40)).toBe(1);
    expect(kstwoSf(1, 40)).toBe(0);
  });

  it('by hand: n = 1 is 1 - (2x - 1) on [½, 1]', () => {
    expect(kstwoSf(0.75, 1)).toBeCloseTo(0.5, 15);
  });
});

describe('smirnov (scipy.special.smirnov)', () => {
  it('matches scipy to 1e-9, n from 2 to 2 000 000', () => {
    const failures = vectors.kolmogorov.smirnov
      .map((c) => ({ ...c, got: smirnovSf(c.n, c.x), want: num(c.sf) }))
      .filter((c) => !(relativeError(c.got, c.want) <= 1e-9));
    expect(failures).toEqual([]);
  });

  it('by hand: n = 1 gives 1 - x; x ≥ 1 - 1/n gives (1 - x)^n', () => {
    expect(smirnovSf(1, 0.3)).toBeCloseTo(0.7, 15);
    expect(relativeError(smirnovSf(10, 0.95), 0.05 ** 10)).toBeLessThan(1e-12);
  });
});

describe('two-sample p-value', () => {
  it('by hand: n₁ = n₂ = 2, D = 1 happens in 2 of the 6 orderings', () => {
    expect(ksTwoSamplePValue(1, 2, 2)).toEqual({ statistic: 1, pValue: 1 / 3, method: 'exact' });
  });

  it('rounds D to the lattice h/lcm(n₁, n₂) in exact mode and is 1 at D = 0', () => {
    const r = ksTwoSamplePValue(0.3333333, 3, 6);
    expect(r.statistic).toBe(2 / 6);
    expect(ksTwoSamplePValue(0, 5, 7).pValue).toBe(1);
  });

  it('switches to the asymptotic distribution above 10 000 values', () => {
    expect(ksTwoSamplePValue(0.01, 10000, 10000).method).toBe('exact');
    expect(ksTwoSamplePValue(0.01, 10001, 10000).method).toBe('asymptotic');
  });

  it('refuses sample sizes that are not positive integers', () => {
    expect(() => ksTwoSamplePValue(0.1, 0, 5)).toThrow(RangeError);
    expect(() => ksTwoSamplePValue(0.1, 2.5, 5)).toThrow(RangeError);
  });
});
