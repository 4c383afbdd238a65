import { describe, expect, it } from 'vitest';
import { chooseSide, trafficBucket } from '../src/routing.ts';

describe('traffic split', () => {
  it('puts an entity in the same bucket every time, spread evenly over 100 buckets', () => {
    expect(trafficBucket('endpoint-1', 'card-42')).toBe(trafficBucket('endpoint-1', 'card-42'));
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 100_000; i++) counts[trafficBucket('endpoint-1', `card-${i}`)]! += 1;
    // 1000 expected per bucket; a fair hash stays well within ±20 % (5 standard deviations is ±16 %).
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });

  it('sends different entities to the candidate on different endpoints', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `card-${i}`);
    const onA = ids.filter((id) => trafficBucket('a', id) < 10);
    const onB = new Set(ids.filter((id) => trafficBucket('b', id) < 10));
    const overlap = onA.filter((id) => onB.has(id)).length;
    expect(overlap).toBeLessThan(onA.length / 2);
  });

  it('only moves entities towards the candidate as its weight grows', () => {
    for (let i = 0; i < 2000; i++) {
      const entity = `card-${i}`;
      const sides = [0, 5, 25, 50, 100].map((weight) => chooseSide('e', entity, weight));
      const firstCandidate = sides.indexOf('candidate');
      expect(sides[0]).toBe('champion');
      expect(sides[4]).toBe('candidate');
      expect(sides.slice(firstCandidate).every((side) => side === 'candidate')).toBe(true);
    }
  });

  it('splits rows without an entity at random, at the weight', () => {
    let draw = 0;
    const random = () => (draw++ % 100) / 100;
    const sides = Array.from({ length: 1000 }, () => chooseSide('e', undefined, 30, random));
    expect(sides.filter((side) => side === 'candidate')).toHaveLength(300);
  });
});
