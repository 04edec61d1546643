import { describe, expect, it } from 'vitest';
import { addGaussianNoise, perturbForGeneration } from '../../../electron/pipeline/perturb/noise';
import { createRng } from '../../../electron/pipeline/random';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';

const grey = (w: number, h: number, v = 128) => ({ data: new Uint8Array(w * h * 3).fill(v), width: w, height: h, channels: 3 });

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
    const on = { ...p, sequence: { enabled: true, std: 49 } };
    expect(perturbForGeneration('sequence', [img, img], on, createRng(4)).every((im) => im !== img && im.data.some((v) => v !== 128))).toBe(true);
    const [pip] = perturbForGeneration('pip', [img], p, createRng(4));
    expect(stats([...pip!.data]).sd).toBeGreaterThan(30);
    expect(() => perturbForGeneration('grid', [img], p, createRng(4))).toThrow(/target tile/);
    const [grid] = perturbForGeneration('grid', [img], p, createRng(4), { x: 0, y: 0, width: 5, height: 10 });
    expect(grid!.data[(0 * 10 + 9) * 3]).toBe(128);
  });
});
