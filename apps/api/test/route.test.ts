import { describe, expect, it } from 'vitest';
import { unstorablePath } from '../src/route.ts';

describe('unstorablePath', () => {
  it('finds nothing in text PostgreSQL can store', () => {
    expect(
      unstorablePath({ name: 'fraud', tags: ['a', 'é', '😀'], nested: { n: 1, ok: null } }),
    ).toBeUndefined();
    expect(unstorablePath(undefined)).toBeUndefined();
    expect(unstorablePath(Object.assign(Object.create(null) as object, { entity: 'x' }))).toBeUndefined();
  });

  it('names the path to a NUL or a lone surrogate, in values and in keys', () => {
    expect(unstorablePath({ description: 'a\u0000b' })).toEqual(['description']);
    expect(unstorablePath({ tags: ['ok', { label: 'x\ud800' }] })).toEqual(['tags', '1', 'label']);
    expect(unstorablePath({ meta: { ['bad\u0000key']: 1 } })).toEqual(['meta', 'bad\u0000key']);
    expect(unstorablePath('\udfff')).toEqual([]);
  });
});
