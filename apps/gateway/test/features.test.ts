import { describe, expect, it } from 'vitest';
import type { OnlineFeatureVector } from '@shepherd/contracts/features';
import { describeProblems, encodeRow, lacksAny, loggedFeatures, mergeFeatures } from '../src/features.ts';

const vector = (values: Record<string, unknown>, found = true): OnlineFeatureVector =>
  ({
    entityId: 'card-1',
    found,
    eventTime: found ? new Date().toISOString() : null,
    values,
    aggregates: { count_1h: 4 },
    ageSeconds: found ? 1 : null,
    stale: !found,
  }) as OnlineFeatureVector;

describe('feature encoding', () => {
  it('writes numbers as they are and booleans as 0/1, in the model order', () => {
    const out = new Float32Array(6).fill(-1);
    expect(encodeRow({ b: true, a: 2.5, c: false }, ['a', 'b', 'c'], out, 3)).toBeUndefined();
    expect([...out]).toEqual([-1, -1, -1, 2.5, 1, 0]);
  });

  it('names missing and non-numeric features instead of guessing', () => {
    const out = new Float32Array(4);
    expect(encodeRow({ a: null, b: 'NL', c: Number.NaN }, ['a', 'b', 'c', 'd'], out, 0)).toEqual({
      missing: ['a', 'd'],
      nonNumeric: ['b', 'c'],
    });
  });

  it('lets passed-in features override the online store, aggregates included', () => {
    const merged = mergeFeatures(vector({ amount: 10, velocity: 2 }), { amount: 99 });
    expect(merged).toEqual({ amount: 99, velocity: 2, count_1h: 4 });
    expect(mergeFeatures(vector({}, false), { amount: 1 })).toEqual({ amount: 1 });
    expect(mergeFeatures(undefined, undefined)).toEqual({});
  });

  it('knows when the online store must be asked', () => {
    expect(lacksAny({ a: 1, b: false }, ['a', 'b'])).toBe(false);
    expect(lacksAny({ a: 1, b: null }, ['a', 'b'])).toBe(true);
    expect(lacksAny(undefined, ['a'])).toBe(true);
  });

  it('logs the model inputs by name, null for what was not a number or boolean', () => {
    expect(loggedFeatures({ a: 1, b: true, c: 'x', extra: 5 }, ['a', 'b', 'c'])).toEqual({
      a: 1,
      b: true,
      c: null,
    });
  });

  it('describes problems by entity or row, with a hint when the entity is unknown', () => {
    const message = describeProblems(
      [
        { row: 0, entityId: 'card-9', missing: ['amount'], nonNumeric: [], entityNotFound: true },
        { row: 1, entityId: null, missing: ['velocity'], nonNumeric: ['country'] },
      ],
      'cards',
    );
    expect(message).toBe(
      "cannot build the model's input: entity card-9: missing feature(s) amount (the online store of feature view cards has no entry for it); " +
        'row 1: missing feature(s) velocity; non-numeric feature(s) country (a row without entityId gets nothing from the online store)',
    );
    const many = Array.from({ length: 8 }, (_, row) => ({
      row,
      entityId: null,
      missing: ['a'],
      nonNumeric: [],
    }));
    expect(describeProblems(many, null)).toMatch(/; and 3 more row\(s\)$/);
  });
});
