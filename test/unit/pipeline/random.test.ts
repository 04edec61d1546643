import { describe, expect, it } from 'vitest';
import { createRng, hashSeed, sampleDistinct, shuffled, weightedIndex } from '../../../electron/pipeline/random';

const draw = (seed: number | string, n: number) => {
  const r = createRng(seed);
  return Array.from({ length: n }, () => r.next());
};

describe('seeded random numbers', () => {
  it('repeats a stream for the same seed and differs for another', () => {
    expect(draw(7, 50)).toEqual(draw(7, 50));
    expect(draw(7, 50)).not.toEqual(draw(8, 50));
    expect(draw('sample-1', 5)).toEqual(draw(hashSeed('sample-1'), 5));
  });

  it('stays in [0, 1) with a uniform mean and variance', () => {
    const xs = draw(1, 100_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const m = xs.reduce((s, v) => s + v, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
    expect(m).toBeCloseTo(0.5, 2);
    expect(v).toBeCloseTo(1 / 12, 2);
  });

  it('draws standard normals', () => {
    const r = createRng(3);
    const xs = Array.from({ length: 100_000 }, () => r.normal());
    const m = xs.reduce((s, v) => s + v, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
    expect(Math.abs(m)).toBeLessThan(0.02);
    expect(sd).toBeCloseTo(1, 1);
    expect(xs.filter((x) => Math.abs(x) < 1).length / xs.length).toBeCloseTo(0.6827, 2);
  });

  it('shuffles into a permutation', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const s = shuffled(createRng(5), items);
    expect([...s].sort((a, b) => a - b)).toEqual(items);
    expect(s).not.toEqual(items);
  });

  it('picks indices in proportion to weights and never a zero weight', () => {
    const r = createRng(9);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[weightedIndex(r, [3, 0, 1])]!++;
    expect(counts[1]).toBe(0);
    expect(counts[0]! / 30_000).toBeCloseTo(0.75, 1);
    expect(weightedIndex(r, [0, 0])).toBe(-1);
  });

  it('samples distinct items outside the excluded set, and refuses too small a pool', () => {
    const r = createRng(11);
    for (let t = 0; t < 200; t++) {
      const got = sampleDistinct(r, ['a', 'b', 'c', 'd', 'e'], 4, new Set(['c']));
      expect(new Set(got).size).toBe(4);
      expect(got).not.toContain('c');
    }
    expect(() => sampleDistinct(r, ['a', 'b'], 2, new Set(['a']))).toThrow(/need 2 distinct/);
  });
});
