import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  binIndex,
  chiSquareContingency,
  chiSquareTest,
  fillZeroShares,
  jensenShannonDistance,
  ksTwoSample,
  populationStabilityIndex,
  populationStd,
  sturgesEdges,
  wassersteinDistance,
  zTestTwoProportions,
} from '../src/stats.ts';
import { sortedCopy } from '../src/sort.ts';
import { generate, num, relativeError, vectors } from './vectors.ts';

describe('shared samples', () => {
  it('regenerates the same values as vectors.py', () => {
    for (const c of vectors.ks) {
      const sample = generate(c.reference);
      expect(Array.from(sample.subarray(0, 3))).toEqual(c.firstValues.map(num));
    }
  });
});

describe('ksTwoSample (scipy.stats.ks_2samp)', () => {
  it.each(vectors.ks.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = ksTwoSample(generate(c.reference), generate(c.current));
    expect(relativeError(r.statistic, num(c.statistic))).toBeLessThan(1e-12);
    expect(relativeError(r.pValue, num(c.pValue))).toBeLessThan(1e-9);
    expect(r.method).toBe(Math.max(c.reference.n, c.current.n) <= 10000 ? 'exact' : 'asymptotic');
  });

  it('covers exact and asymptotic p-values, with and without ties', () => {
    expect(vectors.ks.filter((c) => c.name.startsWith('exact')).length).toBeGreaterThanOrEqual(5);
    expect(vectors.ks.filter((c) => c.name.startsWith('asymptotic')).length).toBeGreaterThanOrEqual(5);
    expect(vectors.ks.filter((c) => c.name.includes('ties')).length).toBeGreaterThanOrEqual(3);
  });

  it('refuses an empty sample and NaN', () => {
    expect(() => ksTwoSample([], [1, 2])).toThrow(/non-empty/);
    expect(() => ksTwoSample([1, NaN], [1, 2])).toThrow(/NaN/);
  });
});

describe('wassersteinDistance (scipy.stats.wasserstein_distance)', () => {
  it('matches scipy to 1e-12 on every shared sample pair', () => {
    for (const c of vectors.ks) {
      const w = wassersteinDistance(generate(c.reference), generate(c.current));
      expect(relativeError(w, num(c.wasserstein))).toBeLessThan(1e-12);
    }
  });

  it('by hand: shifting a sample by 3 moves it by 3; identical samples are 0 apart', () => {
    expect(wassersteinDistance([0, 1, 2], [3, 4, 5])).toBeCloseTo(3, 15);
    expect(wassersteinDistance([1, 1, 2], [2, 1, 1])).toBe(0);
    expect(wassersteinDistance([0], [0, 10])).toBeCloseTo(5, 15);
  });
});

describe('populationStd (np.std)', () => {
  it('matches numpy on the shared samples', () => {
    for (const c of vectors.ks) {
      expect(relativeError(populationStd(generate(c.reference)), num(c.referenceStd))).toBeLessThan(1e-12);
    }
  });
});

describe('jensenShannonDistance (scipy.spatial.distance.jensenshannon)', () => {
  it('matches scipy, natural log and base 2', () => {
    for (const c of vectors.jensenshannon) {
      const d = jensenShannonDistance(c.p, c.q, c.base ?? undefined);
      expect(Math.abs(d - num(c.distance))).toBeLessThan(1e-12);
    }
  });

  it('by hand: disjoint distributions are √ln 2 apart (1 in base 2)', () => {
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 15);
    expect(jensenShannonDistance([1, 0], [0, 1], 2)).toBeCloseTo(1, 15);
  });

  it('refuses mismatched or empty vectors', () => {
    expect(() => jensenShannonDistance([1], [1, 2])).toThrow(/length/);
    expect(() => jensenShannonDistance([0, 0], [1, 2])).toThrow(/positive total/);
  });
});

describe('chiSquareTest (scipy.stats.chisquare, expected from reference frequencies)', () => {
  it('matches scipy from 3 to 1500 categories', () => {
    for (const c of vectors.chisquare) {
      if (c.statistic === null || c.pValue === null) continue;
      const nCur = c.observed.reduce((a, b) => a + b, 0);
      const nRef = c.referenceCounts.reduce((a, b) => a + b, 0);
      const expected = c.referenceCounts.map((r) => r * (nCur / nRef));
      const r = chiSquareTest(c.observed, expected);
      expect(relativeError(r.statistic, num(c.statistic))).toBeLessThan(1e-12);
      expect(relativeError(r.pValue, num(c.pValue))).toBeLessThan(1e-9);
    }
    expect(Math.max(...vectors.chisquare.map((c) => c.observed.length))).toBe(1500);
  });

  it('two-sample form matches scipy.stats.chi2_contingency (Yates correction for two categories)', () => {
    for (const c of vectors.chisquare) {
      const r = chiSquareContingency(c.referenceCounts, c.observed);
      expect(relativeError(r.statistic, num(c.contingencyStatistic))).toBeLessThan(1e-12);
      expect(relativeError(r.pValue, num(c.contingencyPValue))).toBeLessThan(1e-9);
    }
    expect(vectors.chisquare.filter((c) => c.observed.length === 2).length).toBeGreaterThanOrEqual(3);
  });

  it('a category the reference never had: infinite statistic, p = 0 (as scipy)', () => {
    expect(chiSquareTest([5, 5, 2], [6, 6, 0])).toEqual({
      statistic: Infinity,
      pValue: 0,
      degreesOfFreedom: 2,
    });
  });

  it('by hand: observed equal to expected gives 0 and p = 1', () => {
    expect(chiSquareTest([10, 20, 30], [10, 20, 30])).toEqual({
      statistic: 0,
      pValue: 1,
      degreesOfFreedom: 2,
    });
  });
});

describe('zTestTwoProportions (Evidently formula, p from scipy norm.sf)', () => {
  it('matches the reference z and p', () => {
    for (const c of vectors.z) {
      const r = zTestTwoProportions(c.x1, c.n1, c.x2, c.n2);
      expect(relativeError(r.statistic, num(c.statistic))).toBeLessThan(1e-12);
      expect(relativeError(r.pValue, num(c.pValue))).toBeLessThan(1e-9);
    }
  });

  it('no variance (all successes or none in both) is no evidence: p = 1', () => {
    expect(zTestTwoProportions(10, 10, 5, 5)).toEqual({ statistic: 0, pValue: 1 });
  });
});

describe('Sturges binning, PSI and Jensen-Shannon as Evidently bins numeric columns', () => {
  it('reproduces numpy edges, shares, PSI and JS', () => {
    for (const c of vectors.binned) {
      const ref = generate(c.reference);
      const cur = generate(c.current);
      let min = Infinity;
      let max = -Infinity;
      for (const v of [...ref, ...cur]) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const edges = sturgesEdges(min, max, ref.length + cur.length);
      expect(Array.from(edges)).toEqual(c.edges.map(num));
      const shares = (values: Float64Array) => {
        const counts = new Float64Array(edges.length - 1);
        for (const v of values) counts[binIndex(edges, v)]!++;
        return counts.map((x) => x / values.length);
      };
      const r = shares(ref);
      const s = shares(cur);
      expect(Array.from(r)).toEqual(c.referenceShares.map(num));
      expect(Array.from(s)).toEqual(c.currentShares.map(num));
      expect(relativeError(jensenShannonDistance(r, s), num(c.jensenshannon))).toBeLessThan(1e-12);
      const psi = populationStabilityIndex(fillZeroShares(r), fillZeroShares(s));
      expect(relativeError(psi, num(c.psi))).toBeLessThan(1e-12);
    }
  });

  it('a constant sample gets one bin of width 1 around it', () => {
    expect(Array.from(sturgesEdges(4, 4, 10))).toEqual([3.5, 4.5]);
  });
});

describe('benjaminiHochberg', () => {
  it('by hand: q = min over larger ranks of p·m/rank', () => {
    const q = benjaminiHochberg([0.01, 0.04, 0.03, 0.5]);
    expect(q[0]).toBeCloseTo(0.04, 15);
    expect(q[1]).toBeCloseTo(0.04 * (4 / 3), 15);
    expect(q[2]).toBeCloseTo(0.04 * (4 / 3), 15);
    expect(q[3]).toBeCloseTo(0.5, 15);
  });
});

describe('sortedCopy', () => {
  it('sorts like Float64Array.sort, negatives, zeros, infinities and duplicates included', () => {
    const values = new Float64Array(20000);
    for (let i = 0; i < values.length; i++) values[i] = ((i * 7919) % 10007) - 5000 + (i % 3) / 7;
    values[5] = -0;
    values[6] = Infinity;
    values[7] = -Infinity;
    values[8] = 1e-310;
    expect(Array.from(sortedCopy(values))).toEqual(Array.from(values.slice().sort()));
  });
});
