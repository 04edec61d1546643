import { describe, expect, it } from 'vitest';
import { gridCanvas } from '../../../electron/pipeline/composite/geometry';
import {
  addGaussianNoise,
  gridNoiseCell,
  noisyValue,
  perturbForGeneration,
} from '../../../electron/pipeline/perturb/noise';
import type { Rng } from '../../../electron/pipeline/random';
import { createRng } from '../../../electron/pipeline/random';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';

const grey = (w: number, h: number, v = 128) => ({
  data: new Uint8Array(w * h * 3).fill(v),
  width: w,
  height: h,
  channels: 3,
});

function stats(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { mean, sd: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length) };
}

describe('Gaussian perturbation', () => {
  it('adds noise of the requested std and leaves the input untouched', () => {
    const img = grey(100, 100);
    const out = addGaussianNoise(img, 10, createRng(1));
    expect(img.data.every((v) => v === 128)).toBe(true);
    const s = stats([...out.data]);
    // Truncation toward zero (numpy astype) shifts the mean down by ~0.5.
    expect(s.mean).toBeCloseTo(127.5, 0);
    expect(s.sd).toBeCloseTo(10, 0);
  });

  it('clips to 0-255 at the reference grid strength (std 225)', () => {
    const out = addGaussianNoise(grey(50, 50), 225, createRng(2));
    const values = [...out.data];
    expect(Math.min(...values)).toBe(0);
    expect(Math.max(...values)).toBe(255);
    expect(values.filter((v) => v === 0 || v === 255).length / values.length).toBeGreaterThan(0.5);
  });

  it('changes only the given region, reproducibly for a seed', () => {
    const img = grey(20, 10);
    const region = { x: 5, y: 2, width: 4, height: 3 };
    const a = addGaussianNoise(img, 30, createRng(3), region);
    expect(a.data).toEqual(addGaussianNoise(img, 30, createRng(3), region).data);
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 20; x++) {
        const inside = x >= 5 && x < 9 && y >= 2 && y < 5;
        const px = [...a.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)];
        if (!inside) expect(px).toEqual([128, 128, 128]);
      }
    }
    expect(a.data.some((v) => v !== 128)).toBe(true);
  });

  it('per format: grid target tile, whole pip, sequence only when enabled', () => {
    const p = DEFAULT_SETTINGS.perturb;
    const img = grey(10, 10);
    const seq = perturbForGeneration('sequence', [img, img], p, createRng(4));
    expect(seq[0]).toBe(img);
    const on = { ...p, sequence: { ...p.sequence, enabled: true } };
    expect(
      perturbForGeneration('sequence', [img, img], on, createRng(4)).every(
        (im) => im !== img && im.data.some((v) => v !== 128),
      ),
    ).toBe(true);
    const [pip] = perturbForGeneration('pip', [img], p, createRng(4));
    expect(stats([...pip!.data]).sd).toBeGreaterThan(30);
    expect(() => perturbForGeneration('grid', [img], p, createRng(4))).toThrow(/target region/);
    const [grid] = perturbForGeneration('grid', [img], p, createRng(4), { x: 0, y: 0, width: 5, height: 10 });
    expect(grid!.data[(0 * 10 + 9) * 3]).toBe(128);
  });
});

/** An Rng whose normal draws are fixed, to check exact noisy values. */
const fixedNormal = (z: number): Rng => ({ next: () => 0.5, int: () => 0, normal: () => z });

describe('reference noise kinds and geometry (decision 0105)', () => {
  it('wrap: the noise is truncated toward zero, cast to uint8 and added modulo 256, as numpy does', () => {
    expect(noisyValue(250, 109.6, 'wrap')).toBe(103);
    expect(noisyValue(250, 109.6, 'clip')).toBe(255);
    // numpy: np.array([-5.7, 109.3, 300.2, -300.5]).astype('uint8') == [251, 109, 44, 212]
    expect([-5.7, 109.3, 300.2, -300.5].map((n) => noisyValue(0, n, 'wrap'))).toEqual([251, 109, 44, 212]);
    expect(noisyValue(3, -5.7, 'wrap')).toBe(254);
    expect(noisyValue(3, -5.7, 'clip')).toBe(0);
  });

  it('pic-in-pic wraps by default: 250 + 109 -> 103 at an exact pixel', () => {
    const img = grey(4, 3, 100);
    img.data[(1 * 4 + 2) * 3 + 1] = 250; // pixel (2, 1), green
    const z = 109.4 / DEFAULT_SETTINGS.perturb.pip.std;
    const [out] = perturbForGeneration('pip', [img], DEFAULT_SETTINGS.perturb, fixedNormal(z));
    expect(out!.data[(1 * 4 + 2) * 3 + 1]).toBe(103);
    expect(out!.data[0]).toBe(209);
    const clipped = {
      ...DEFAULT_SETTINGS.perturb,
      pip: { ...DEFAULT_SETTINGS.perturb.pip, overflow: 'clip' as const },
    };
    expect(perturbForGeneration('pip', [img], clipped, fixedNormal(z))[0]!.data[(1 * 4 + 2) * 3 + 1]).toBe(255);
  });

  it('draws one normal per pixel per channel, like np.random.normal(0, std, image.shape)', () => {
    let draws = 0;
    const counting: Rng = { next: () => 0.5, int: () => 0, normal: () => (draws++ % 3) - 1 };
    const out = addGaussianNoise(grey(5, 2), 10, counting, undefined, 'wrap');
    expect(draws).toBe(5 * 2 * 3);
    expect([...out.data.subarray(0, 3)]).toEqual([118, 128, 138]);
  });

  it('grid cell: (H // rows) x (W // cols) from the top-left, label strip and margins included', () => {
    const g = DEFAULT_SETTINGS.geometry;
    expect(gridNoiseCell(gridCanvas(2, g), 2, 2)).toEqual({ x: 468, y: 0, width: 468, height: 488 });
    expect(gridNoiseCell(gridCanvas(9, g), 9, 5)).toEqual({ x: 474, y: 488, width: 474, height: 488 });
    expect(gridNoiseCell(gridCanvas(6, g), 6, 4)).toEqual({ x: 0, y: 488, width: 474, height: 488 });
  });
});
