import { describe, expect, it } from 'vitest';
import { chiSquaredSf, erfc, logGamma, normalCdf, normalSf, regularizedGamma } from '../src/special.ts';
import { num, relativeError, vectors } from './vectors.ts';

describe('chi-squared survival (scipy.special.chdtrc)', () => {
  it('matches scipy to 1e-9 relative from p = 0.999999 down to 1e-290, df 1 to 100 000', () => {
    const failures = vectors.special.chi2
      .map((c) => ({ ...c, got: chiSquaredSf(c.x, c.df), want: num(c.sf) }))
      .filter((c) => !(relativeError(c.got, c.want) <= 1e-9));
    expect(failures).toEqual([]);
    expect(vectors.special.chi2.length).toBeGreaterThan(250);
  });

  it('is 1 at 0 and 0 at infinity; NaN for no degrees of freedom', () => {
    expect(chiSquaredSf(0, 3)).toBe(1);
    expect(chiSquaredSf(Infinity, 3)).toBe(0);
    expect(chiSquaredSf(1, 0)).toBeNaN();
  });

  it('by hand: df = 2 is exp(-x/2)', () => {
    for (const x of [0.1, 1, 7.5, 40, 600])
      expect(relativeError(chiSquaredSf(x, 2), Math.exp(-x / 2))).toBeLessThan(1e-13);
  });

  it('P + Q = 1 on both sides of the series/continued-fraction switch', () => {
    for (const [a, x] of [
      [3, 3.9],
      [3, 4.1],
      [250, 249],
      [250, 252],
    ] as const) {
      const { p, q } = regularizedGamma(a, x);
      expect(p + q).toBeCloseTo(1, 14);
    }
  });
});

describe('normal distribution', () => {
  it('matches scipy.stats.norm.sf and cdf to 1e-12 relative out to z = 37.5', () => {
    for (const c of vectors.special.normal) {
      expect(relativeError(normalSf(c.x), num(c.sf))).toBeLessThan(1e-12);
      expect(relativeError(normalCdf(c.x), num(c.cdf))).toBeLessThan(1e-12);
    }
  });

  it('erfc by hand: erfc(0) = 1, erfc(-x) = 2 - erfc(x), underflows to 0 far out', () => {
    expect(erfc(0)).toBe(1);
    expect(erfc(-1.3)).toBeCloseTo(2 - erfc(1.3), 15);
    expect(erfc(30)).toBe(0);
    expect(erfc(Number.NaN)).toBeNaN();
  });
});

describe('logGamma', () => {
  it('equals log((n-1)!) at integers and log(√π) at ½', () => {
    let factorial = 1;
    for (let n = 1; n <= 25; n++) {
      expect(relativeError(logGamma(n + 1), Math.log((factorial *= n)))).toBeLessThan(1e-13);
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(logGamma(1)).toBeCloseTo(0, 14);
  });
});
