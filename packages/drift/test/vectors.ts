/**
 * Loads scipy-vectors.json (written by vectors.py) and regenerates its samples: the same integer
 * LCG and the same floating-point steps, in the same order, as lcg_sample() in vectors.py.
 */
import { readFileSync } from 'node:fs';

export interface SampleSpec {
  seed: number;
  n: number;
  kind: 'normal4' | 'int' | 'exp';
  loc?: number;
  scale?: number;
  levels?: number;
}

const MODULUS = 2147483647;
const MULTIPLIER = 48271;

function uniforms(seed: number, count: number): Float64Array {
  let state = seed % MODULUS || 1;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    // state·48271 < 2^47: exact in a double, so the remainder matches Python's integers.
    state = (state * MULTIPLIER) % MODULUS;
    out[i] = state / MODULUS;
  }
  return out;
}

export function generate(spec: SampleSpec): Float64Array {
  const loc = spec.loc ?? 0;
  const scale = spec.scale ?? 1;
  const out = new Float64Array(spec.n);
  if (spec.kind === 'normal4') {
    const u = uniforms(spec.seed, 4 * spec.n);
    for (let i = 0; i < spec.n; i++)
      out[i] = loc + scale * (u[4 * i]! + u[4 * i + 1]! + u[4 * i + 2]! + u[4 * i + 3]! - 2);
  } else if (spec.kind === 'int') {
    const u = uniforms(spec.seed, spec.n);
    for (let i = 0; i < spec.n; i++) out[i] = loc + scale * Math.floor(u[i]! * spec.levels!);
  } else {
    const u = uniforms(spec.seed, spec.n);
    for (let i = 0; i < spec.n; i++) out[i] = loc - scale * Math.log(u[i]!);
  }
  return out;
}

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
export const num = (x: Num): number => (typeof x === 'number' ? x : Number(x));

export interface Vectors {
  scipy: string;
  special: {
    chi2: { df: number; x: number; sf: Num }[];
    normal: { x: number; sf: Num; cdf: Num }[];
  };
  kolmogorov: { kstwo: { n: number; x: number; sf: Num }[]; smirnov: { n: number; x: number; sf: Num }[] };
  ks: {
    name: string;
    reference: SampleSpec;
    current: SampleSpec;
    statistic: Num;
    pValue: Num;
    wasserstein: Num;
    referenceStd: Num;
    firstValues: Num[];
  }[];
  jensenshannon: { p: number[]; q: number[]; base: number | null; distance: Num }[];
  chisquare: {
    observed: number[];
    referenceCounts: number[];
    statistic: Num | null;
    pValue: Num | null;
    contingencyStatistic: Num;
    contingencyPValue: Num;
  }[];
  z: { x1: number; n1: number; x2: number; n2: number; statistic: Num; pValue: Num }[];
  binned: {
    reference: SampleSpec;
    current: SampleSpec;
    edges: Num[];
    referenceShares: Num[];
    currentShares: Num[];
    jensenshannon: Num;
    psi: Num;
  }[];
}

export const vectors = JSON.parse(
  readFileSync(new URL('./scipy-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

/** |actual - expected| / |expected|; 0 when both are equal (0 and the infinities included). */
export function relativeError(actual: number, expected: number): number {
  if (actual === expected) return 0;
  return Math.abs(actual - expected) / Math.abs(expected);
}

/** Relative error, but an expected 0 accepts rounding residue below `absolute`. */
export function closeTo(actual: number, expected: number, relative: number, absolute = 1e-14): boolean {
  return expected === 0 ? Math.abs(actual) <= absolute : relativeError(actual, expected) <= relative;
}
