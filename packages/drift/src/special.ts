/**
 * Special functions behind the p-values: the normal tail, the regularized incomplete gamma
 * function (chi-squared survival) and a log-gamma. Accurate to roughly 1e-13 relative in the
 * ranges drift tests reach; test/special.test.ts compares them with scipy.special.
 */

const EPS = Number.EPSILON;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erfc(x). Below 2 from the all-positive series erf(x) = 2/√π·e^{-x²}·Σ 2ⁿx^{2n+1}/(2n+1)!!
 * (no cancellation, unlike the alternating Taylor series); from 2 on, the continued fraction for
 * erfc, which keeps full relative accuracy deep in the tail where 1 - erf(x) would be all rounding.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) return 1 - erfSeries(x);
  if (x > 27.3) return 0; // erfc(27.3) < 5e-326: below the smallest subnormal.
  return erfcContinuedFraction(x);
}

export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x);
  if (x < 2) return erfSeries(x);
  return 1 - erfcContinuedFraction(x);
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * EPS * 0.5) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated by Lentz. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Standard normal survival 1 - Φ(x), without the cancellation of computing 1 - Φ. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

// Lanczos approximation (g = 7, 9 terms): about 1e-15 relative for the arguments used here.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + LOG_SQRT_2PI + stirlingCorrection(x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LOG_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * ln Γ(a) - [(a - ½)ln a - a + ½ln 2π], the Stirling series (Bernoulli numbers B₂ₖ/(2k(2k-1)a^{2k-1})).
 * For a ≥ 10 the truncation error is below 1e-17.
 */
export function stirlingCorrection(a: number): number {
  const r = 1 / a;
  const r2 = r * r;
  return (
    r *
    (1 / 12 +
      r2 *
        (-1 / 360 +
          r2 *
            (1 / 1260 +
              r2 *
                (-1 / 1680 +
                  r2 * (1 / 1188 + r2 * (-691 / 360360 + r2 * (1 / 156 + r2 * (-3617 / 122400))))))))
  );
}

/** Γ(a) for 0 < a < 10 (used by the incomplete-gamma prefactor). */
function gammaSmall(a: number): number {
  // Integers and half-integers (chi-squared degrees of freedom / 2) by the exact recurrence.
  if (Number.isInteger(2 * a) && a <= 10) {
    let value = Number.isInteger(a) ? 1 : Math.sqrt(Math.PI);
    for (let k = Number.isInteger(a) ? 1 : 0.5; k < a; k += 1) value *= k;
    return value;
  }
  return Math.exp(logGamma(a));
}

/** x^a e^{-x} / Γ(a), the factor in front of both incomplete-gamma expansions. */
function gammaPrefactor(a: number, x: number): number {
  if (a >= 10) {
    // x^a e^{-x}/Γ(a) = √(a/2π) · exp(a·(ln(1+d) - d) - stirling(a)), d = (x - a)/a: no large
    // terms cancel, so the result keeps its accuracy when a is in the thousands.
    const d = (x - a) / a;
    const log1pmx = Math.log1p(d) - d;
    return Math.sqrt(a / (2 * Math.PI)) * Math.exp(a * log1pmx - stirlingCorrection(a));
  }
  return Math.exp(a * Math.log(x) - x) / gammaSmall(a);
}

/** Regularized lower incomplete gamma P(a, x) and upper Q(a, x) = 1 - P(a, x). */
export function regularizedGamma(a: number, x: number): { p: number; q: number } {
  if (!(a > 0) || !(x >= 0)) return { p: NaN, q: NaN };
  if (x === 0) return { p: 0, q: 1 };
  if (x === Infinity) return { p: 1, q: 0 };
  const prefactor = gammaPrefactor(a, x);
  if (prefactor === 0) return x < a ? { p: 0, q: 1 } : { p: 1, q: 0 };
  if (x < a + 1) {
    // P by its series: Σ xⁿ / ((a+1)…(a+n)), all terms positive.
    let term = 1;
    let sum = 1;
    for (let n = 1; n < 100000; n++) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * EPS * 0.5) break;
    }
    const p = (prefactor * sum) / a;
    return { p, q: 1 - p };
  }
  // Q by the Legendre continued fraction (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  const q = prefactor * h;
  return { p: 1 - q, q };
}

/** Survival function of the chi-squared distribution (scipy.special.chdtrc). */
export function chiSquaredSf(statistic: number, degreesOfFreedom: number): number {
  if (Number.isNaN(statistic) || !(degreesOfFreedom > 0)) return NaN;
  if (statistic <= 0) return 1;
  return regularizedGamma(degreesOfFreedom / 2, statistic / 2).q;
}

/** Round half to even, as numpy's np.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
