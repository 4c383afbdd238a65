import { describe, expect, it } from 'vitest';
import { categoricalCounts, maxCategories, numericCounts, otherCategory } from '../src/drift-series.ts';

describe('numericCounts', () => {
  it('puts width_bucket numbers in their bins, with what falls outside and what is missing apart', () => {
    const out = numericCounts(4, [
      { bucket: 0, count: 3 },
      { bucket: 1, count: 10 },
      { bucket: 4, count: 2 },
      { bucket: 5, count: 7 },
      { bucket: -1, count: 1 },
      { bucket: 1, count: 5 },
    ]);
    expect(out).toEqual({ counts: [15, 0, 0, 2], below: 3, above: 7, missing: 1, total: 27 });
  });

  it('is all zeros without observations', () => {
    expect(numericCounts(3, [])).toEqual({ counts: [0, 0, 0], below: 0, above: 0, missing: 0, total: 0 });
  });
});

describe('categoricalCounts', () => {
  it('counts the window on the reference categories', () => {
    const out = categoricalCounts(
      { categories: ['visa', 'mastercard'], counts: [70, 30], missing: 2 },
      new Map<string | null, number>([
        ['mastercard', 8],
        ['visa', 2],
        [null, 4],
      ]),
    );
    expect(out.categories).toEqual(['visa', 'mastercard']);
    expect(out.reference).toEqual({ counts: [70, 30], below: 0, above: 0, missing: 2, total: 100 });
    expect(out.current).toEqual({ counts: [2, 8], below: 0, above: 0, missing: 4, total: 10 });
  });

  it('adds (other) for categories the reference never saw', () => {
    const out = categoricalCounts(
      { categories: ['a'], counts: [5], missing: 0 },
      new Map<string | null, number>([
        ['a', 1],
        ['z', 3],
      ]),
    );
    expect(out.categories).toEqual(['a', otherCategory]);
    expect(out.reference.counts).toEqual([5, 0]);
    expect(out.current.counts).toEqual([1, 3]);
  });

  it('keeps the most frequent categories and folds the rest into (other) on both sides', () => {
    const categories = Array.from({ length: maxCategories + 5 }, (_, i) => `c${i}`);
    const counts = categories.map((_, i) => 100 - i);
    const out = categoricalCounts(
      { categories, counts, missing: 0 },
      new Map<string | null, number>([
        ['c0', 1],
        [`c${maxCategories + 2}`, 4],
      ]),
    );
    expect(out.categories).toHaveLength(maxCategories + 1);
    expect(out.categories.at(-1)).toBe(otherCategory);
    expect(out.reference.counts.at(-1)).toBe(counts.slice(maxCategories).reduce((a, b) => a + b, 0));
    expect(out.reference.total).toBe(counts.reduce((a, b) => a + b, 0));
    expect(out.current.counts[0]).toBe(1);
    expect(out.current.counts.at(-1)).toBe(4);
  });
});
