import { describe, expect, it } from 'vitest';
import { perIteration, verdictOf } from '../../src/analysis/trend.js';

describe('verdictOf', () => {
  it.each([
    [[0, 100], 'leak'],
    [[0, 100, 200, 300], 'leak'],
    [[5, 5, 5], 'stable'],
    [[0, 50, 50], 'warm-up'],
    [[0, 50, 40], 'warm-up'],
    [[10, 4, 0], 'shrinking'],
    [[10, 10, 4], 'shrinking'],
    [[0, 0, 5], 'stable'],
    [[7], 'stable'],
  ] as const)('%j is %s', (live, verdict) => {
    expect(verdictOf(live)).toBe(verdict);
  });
});

describe('perIteration', () => {
  it('is the least-squares slope against cumulative iterations', () => {
    expect(perIteration([0, 100], [3, 103])).toBe(1);
    expect(perIteration([0, 100, 200], [0, 25, 50])).toBe(0.25);
    expect(perIteration([0, 100, 200], [0, 90, 200])).toBe(1);
    expect(perIteration([10, 110, 210], [0, 0, 0])).toBe(0);
  });

  it('is undefined without varying iteration counts', () => {
    expect(perIteration([0, 0], [1, 5])).toBeUndefined();
    expect(perIteration([0], [1])).toBeUndefined();
  });
});
