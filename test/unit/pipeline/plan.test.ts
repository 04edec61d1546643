import { describe, expect, it } from 'vitest';
import { CENTRE_PHRASES } from '../../../electron/pipeline/augment/centre-phrases';
import { planAugmentation } from '../../../electron/pipeline/augment/plan';
import { IMAGE_COUNTS } from '../../../shared/pipeline/formats';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';

const samples = Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, imageId: `img${i}` }));
const base = { samples, mix: DEFAULT_SETTINGS.mix, seed: 42, phraseCount: CENTRE_PHRASES.length };

describe('augmentation plan', () => {
  it('is reproducible for a seed and changes with it', () => {
    expect(planAugmentation(base)).toEqual(planAugmentation(base));
    expect(planAugmentation({ ...base, seed: 43 })).not.toEqual(planAugmentation(base));
  });

  it('puts the source image at the target position and never repeats an image', () => {
    const byId = new Map(samples.map((s) => [s.id, s.imageId]));
    for (const p of planAugmentation({ ...base, count: 2000 })) {
      expect(p.images[p.targetIndex - 1]).toBe(byId.get(p.sourceSampleId));
      expect(new Set(p.images).size).toBe(p.images.length);
      expect((IMAGE_COUNTS[p.format] as readonly number[]).includes(p.images.length)).toBe(true);
      if (p.format === 'pip') {
        expect(p.targetIndex).toBe(2);
        expect(p.phraseIndex).toBeGreaterThanOrEqual(0);
        expect(p.phraseIndex).toBeLessThan(CENTRE_PHRASES.length);
      }
    }
  });

  it('follows the mix: reference format proportions, mostly 2 images, shuffled targets', () => {
    const plans = planAugmentation({ ...base, count: 20_000 });
    const share = (f: string) => plans.filter((p) => p.format === f).length / plans.length;
    expect(share('sequence')).toBeCloseTo(15.1 / 28.9, 1);
    expect(share('pip')).toBeCloseTo(4.5 / 28.9, 1);
    const seq = plans.filter((p) => p.format === 'sequence');
    expect(seq.filter((p) => p.images.length === 2).length / seq.length).toBeCloseTo(0.55, 1);
    const grid9 = plans.filter((p) => p.format === 'grid' && p.images.length === 9);
    const positions = new Set(grid9.map((p) => p.targetIndex));
    expect(positions.size).toBe(9);
  });

  it('restricts to the requested formats and to what a small pool can fill', () => {
    expect(planAugmentation({ ...base, formats: ['grid'] }).every((p) => p.format === 'grid')).toBe(true);
    const small = samples.slice(0, 3);
    const plans = planAugmentation({ ...base, samples: small, count: 500 });
    expect(Math.max(...plans.map((p) => p.images.length))).toBe(3);
    expect(() => planAugmentation({ ...base, samples: small.slice(0, 1) })).toThrow(/sample s0: no allowed format fits a pool of 1/);
  });

  it('cycles over the sources when asked for more samples than exist', () => {
    const plans = planAugmentation({ ...base, samples: samples.slice(0, 10), count: 30 });
    const uses = new Map<string, number>();
    for (const p of plans) uses.set(p.sourceSampleId, (uses.get(p.sourceSampleId) ?? 0) + 1);
    expect([...uses.values()]).toEqual(new Array(10).fill(3));
  });

  it('draws companions from an external pool, never the target, even if it is in the pool', () => {
    const pool = ['img0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8'];
    const plans = planAugmentation({ ...base, samples: samples.slice(0, 1), pool, count: 300 });
    for (const p of plans) expect(p.images.filter((im) => im === 'img0')).toHaveLength(1);
  });
});
