import { describe, expect, it } from 'vitest';
import { CENTRE_PHRASES } from '../../../electron/pipeline/augment/centre-phrases';
import { planAugmentation } from '../../../electron/pipeline/augment/plan';
import type { PlanRequest } from '../../../electron/pipeline/augment/plan';
import { IMAGE_COUNTS } from '../../../shared/pipeline/formats';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';

const samples = Array.from({ length: 300 }, (_, i) => ({ id: `s${i}`, imageId: `img${i}` }));
const base = { samples, mix: DEFAULT_SETTINGS.mix, seed: 42, phraseCount: CENTRE_PHRASES.length };
const plan = (req: PlanRequest) => planAugmentation(req).plans;

describe('augmentation plan', () => {
  it('is reproducible for a seed and changes with it', () => {
    expect(plan(base)).toEqual(plan(base));
    expect(plan({ ...base, seed: 43 })).not.toEqual(plan(base));
  });

  it('puts the source image at the target position and never repeats an image', () => {
    const byId = new Map(samples.map((s) => [s.id, s.imageId]));
    for (const p of plan({ ...base, count: 2000 })) {
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
    const plans = plan({ ...base, count: 20_000 });
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
    expect(plan({ ...base, formats: ['grid'] }).every((p) => p.format === 'grid')).toBe(true);
    const small = samples.slice(0, 3);
    const plans = plan({ ...base, samples: small, count: 500 });
    expect(Math.max(...plans.map((p) => p.images.length))).toBe(3);
    expect(() => plan({ ...base, samples: small.slice(0, 1) })).toThrow(
      /sample s0: no allowed format fits a pool of 1/,
    );
  });

  it('cycles over the sources when asked for more samples than exist', () => {
    const plans = plan({ ...base, samples: samples.slice(0, 10), count: 30 });
    const uses = new Map<string, number>();
    for (const p of plans) uses.set(p.sourceSampleId, (uses.get(p.sourceSampleId) ?? 0) + 1);
    expect([...uses.values()]).toEqual(new Array(10).fill(3));
  });

  it('draws companions from an external pool, never the target, even if it is in the pool', () => {
    const pool = ['img0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8'];
    const plans = plan({ ...base, samples: samples.slice(0, 1), pool, count: 300 });
    for (const p of plans) expect(p.images.filter((im) => im === 'img0')).toHaveLength(1);
  });

  it("reproduces the notebooks' image-count proportions over a large plan", () => {
    const plans = plan({ ...base, count: 60_000 });
    const shares = (format: string, counts: number[]) => {
      const of = plans.filter((p) => p.format === format);
      return counts.map((c) => of.filter((p) => p.images.length === c).length / of.length);
    };
    // mix_data.ipynb (62k sequence mix): 34300/10050/9950/8161 of 62461; make_data_pingtu_v1.ipynb: 26000/7500/7500/6300/6519 of 53819.
    const seq = shares('sequence', [2, 3, 4, 5]);
    [0.549, 0.161, 0.159, 0.131].forEach((want, i) => expect(Math.abs((seq[i] as number) - want)).toBeLessThan(0.015));
    const grid = shares('grid', [2, 3, 4, 6, 9]);
    [0.483, 0.139, 0.139, 0.117, 0.121].forEach((want, i) =>
      expect(Math.abs((grid[i] as number) - want)).toBeLessThan(0.015),
    );
  });
});

describe('reference source rules (decision 0105)', () => {
  const subsets = ['coco', 'gqa', 'vg'];
  const tagged = Array.from({ length: 300 }, (_, i) => ({
    id: `s${i}`,
    imageId: `img${i}`,
    subset: subsets[i % 3] as string,
    grounding: i % 10 === 1,
  }));

  it('keeps grounding and Visual Genome sources out of grid and pic-in-pic, counted, and still uses them for sequence', () => {
    const r = planAugmentation({ ...base, samples: tagged, count: 3000 });
    const byId = new Map(tagged.map((t) => [t.id, t]));
    // Grounding: i % 10 == 1 (30 samples); Visual Genome and not grounding: i % 3 == 2 and i % 10 != 1 (100 - 10).
    expect(r.keptOutOfComposites).toEqual({ grounding: 30, visualGenome: 90 });
    expect(r.skipped).toBe(0);
    for (const p of r.plans) {
      const src = byId.get(p.sourceSampleId)!;
      if (p.format !== 'sequence') expect(src.grounding || src.subset === 'vg').toBe(false);
    }
    expect(r.plans.some((p) => p.format === 'sequence' && byId.get(p.sourceSampleId)!.grounding)).toBe(true);
    expect(r.plans.some((p) => p.format === 'sequence' && byId.get(p.sourceSampleId)!.subset === 'vg')).toBe(true);
  });

  it('skips sources that may take none of the requested formats, and counts them', () => {
    const r = planAugmentation({ ...base, samples: tagged, formats: ['grid', 'pip'] });
    expect(r.skipped).toBe(120);
    expect(r.plans).toHaveLength(180);
    expect(planAugmentation({ ...base, samples: tagged, formats: ['sequence'] }).keptOutOfComposites).toEqual({
      grounding: 0,
      visualGenome: 0,
    });
  });

  it("draws distractors from the target's own subset when known, and never Visual Genome for an unknown composite target", () => {
    const subsetOf = new Map(tagged.map((t) => [t.imageId, t.subset]));
    const byId = new Map(tagged.map((t) => [t.id, t]));
    for (const p of planAugmentation({ ...base, samples: tagged, count: 2000 }).plans) {
      const want = byId.get(p.sourceSampleId)!.subset;
      for (const im of p.images) expect(subsetOf.get(im)).toBe(want);
    }
    const unknown = [
      ...Array.from({ length: 50 }, (_, i) => ({ id: `u${i}`, imageId: `u-img${i}` })),
      ...tagged.filter((t) => !t.grounding),
    ];
    const composites = plan({ ...base, samples: unknown, count: 2000 }).filter(
      (q) => q.sourceSampleId.startsWith('u') && q.format !== 'sequence',
    );
    expect(composites.length).toBeGreaterThan(50);
    for (const p of composites) for (const im of p.images) expect(subsetOf.get(im)).not.toBe('vg');
  });
});
