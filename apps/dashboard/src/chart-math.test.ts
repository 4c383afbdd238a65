import { describe, expect, it } from 'vitest';
import {
  driftAxisValue,
  isolatedPoints,
  linePath,
  linearScale,
  maxOf,
  niceTicks,
  shares,
} from './chart-math.ts';

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten and covers the maximum', () => {
    expect(niceTicks(100)).toEqual([0, 50, 100]);
    expect(niceTicks(100, 10)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(1234)).toEqual([0, 500, 1000, 1500]);
  });

  it('gives a unit axis when there is nothing to show', () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(Number.NaN)).toEqual([0, 1]);
  });
});

describe('linePath', () => {
  const x = (i: number) => i * 10;
  const y = (v: number) => 100 - v;

  it('draws through the values and breaks where one is missing', () => {
    expect(linePath([1, 2, null, 4, 5], x, y)).toBe('M0.0,99.0 L10.0,98.0 M30.0,96.0 L40.0,95.0');
  });

  it('is empty without values', () => {
    expect(linePath([null, null], x, y)).toBe('');
  });

  it('finds the points a line cannot show', () => {
    expect(isolatedPoints([1, null, 3, null, 5, 6])).toEqual([0, 2]);
  });
});

describe('scales and shares', () => {
  it('maps a domain linearly, flipping for SVG y', () => {
    const y = linearScale([0, 10], [100, 0]);
    expect(y(0)).toBe(100);
    expect(y(5)).toBe(50);
    expect(linearScale([3, 3], [0, 10])(3)).toBe(5);
  });

  it('finds the largest finite value', () => {
    expect(maxOf([1, null, 3], [2, Number.POSITIVE_INFINITY])).toBe(3);
    expect(maxOf([null])).toBe(0);
  });

  it('turns counts into shares of their total', () => {
    expect(shares([1, 3], 4)).toEqual([0.25, 0.75]);
    expect(shares([0, 0], 0)).toEqual([0, 0]);
  });

  it('puts p-values on a −log₁₀ axis and leaves distances alone', () => {
    expect(driftAxisValue('ks', 0.01)).toBeCloseTo(2);
    expect(driftAxisValue('ks', 0)).toBeCloseTo(300);
    expect(driftAxisValue('wasserstein', 0.2)).toBe(0.2);
  });
});
