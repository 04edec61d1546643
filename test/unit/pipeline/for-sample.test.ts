import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { attentionForSample } from '../../../electron/pipeline/attention/for-sample';
import { renderGrid } from '../../../electron/pipeline/composite/render-grid';
import { generationImages } from '../../../electron/pipeline/perturb/generation-images';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import type { CompositeProvenance } from '../../../shared/pipeline/types';
import { makeImage, tempDir } from './fixture-images';

const settings = { tileSize: 448, pipCentreFraction: 16 / 24 };
const pre = { mode: 'pad' as const, size: 336 };

describe('attention numbers of one generation', () => {
  it('sequence: ratio of per-image means, the same in exact mode', () => {
    const maps = [new Float64Array(576).fill(1), new Float64Array(576).fill(3)];
    const n = attentionForSample(
      { format: 'sequence', targetIndex: 2, provenance: null },
      { maps, patchSide: 24, preprocessing: pre },
      settings,
    );
    expect(n.perImageMean).toEqual([1, 3]);
    expect(n.attentionRatio).toBeCloseTo(0.75);
    expect(n.exactRatio).toBeCloseTo(0.75);
  });

  it('grid: reference block and exact tile rectangle from the provenance', () => {
    const provenance: CompositeProvenance = {
      kind: 'grid',
      sourceSampleId: 's',
      images: ['a', 'b'],
      targetIndex: 2,
      canvas: { width: 936, height: 488 },
      tiles: [
        { x: 0, y: 40, width: 448, height: 448 },
        { x: 488, y: 40, width: 448, height: 448 },
      ],
      sha256: 'x',
    };
    const map = new Float64Array(576).fill(1);
    const n = attentionForSample(
      { format: 'grid', targetIndex: 2, provenance },
      { maps: [map], patchSide: 24, preprocessing: pre },
      settings,
    );
    expect(n.attentionRatio).toBeCloseTo(0.5);
    expect(n.exactRatio).toBeCloseTo((448 * 448) / (936 * 936), 6);
    expect(() =>
      attentionForSample(
        { format: 'grid', targetIndex: 2, provenance: null },
        { maps: [map], patchSide: 24, preprocessing: pre },
        settings,
      ),
    ).toThrow(/provenance/);
  });

  it('pip: central square for the reference, the inset rectangle for exact', () => {
    const provenance: CompositeProvenance = {
      kind: 'pip',
      sourceSampleId: 's',
      images: ['h', 'i'],
      targetIndex: 2,
      canvas: { width: 336, height: 336 },
      tiles: [
        { x: 0, y: 0, width: 336, height: 336 },
        { x: 56, y: 56, width: 224, height: 224 },
      ],
      sha256: 'x',
    };
    const map = new Float64Array(576).fill(1);
    const n = attentionForSample(
      { format: 'pip', targetIndex: 2, provenance },
      { maps: [map], patchSide: 24, preprocessing: pre },
      settings,
    );
    expect(n.attentionRatio).toBeCloseTo(256 / 576);
    expect(n.exactRatio).toBeCloseTo(256 / 576);
  });
});

describe('images for generation', () => {
  it('perturbs only the grid target tile, reproducibly, and never the stored composite', async () => {
    const dir = await tempDir();
    const files = await Promise.all([0, 1].map((i) => makeImage(dir, `g${i}.png`, 448, 448, i)));
    const r = await renderGrid(
      { sourceSampleId: 's', images: files.map((f, i) => ({ id: String(i), file: f })), targetIndex: 2 },
      DEFAULT_SETTINGS.geometry,
      path.join(dir, 'cache'),
    );
    const before = await readFile(r.path);
    const sample = {
      planId: 'p1',
      format: 'grid' as const,
      targetIndex: 2,
      promptImages: [r.path],
      provenance: r.provenance,
    };
    const clean = await generationImages(sample, DEFAULT_SETTINGS.perturb, { perturb: false, seed: 1 });
    const noisy = await generationImages(sample, DEFAULT_SETTINGS.perturb, { perturb: true, seed: 1 });
    const again = (await generationImages(sample, DEFAULT_SETTINGS.perturb, { perturb: true, seed: 1 }))[0]!.data;
    expect(Buffer.from(again).equals(Buffer.from(noisy[0]!.data))).toBe(true);
    expect((await readFile(r.path)).equals(before)).toBe(true);
    const at = (img: { data: Uint8Array }, x: number, y: number) => img.data[(y * 936 + x) * 3];
    expect(at(noisy[0]!, 100, 100)).toBe(at(clean[0]!, 100, 100)); // tile 1: clean
    let changed = 0;
    for (let y = 40; y < 488; y += 7)
      for (let x = 488; x < 936; x += 7) if (at(noisy[0]!, x, y) !== at(clean[0]!, x, y)) changed++;
    expect(changed).toBeGreaterThan(3000);
  });

  it('grid noise covers the whole reference cell by default (label strip and margin), the fitted image only as an option', async () => {
    const dir = await tempDir();
    const files = await Promise.all([0, 1].map((i) => makeImage(dir, `c${i}.png`, 448, 448, i)));
    const r = await renderGrid(
      { sourceSampleId: 's', images: files.map((f, i) => ({ id: String(i), file: f })), targetIndex: 2 },
      DEFAULT_SETTINGS.geometry,
      path.join(dir, 'cache'),
    );
    const sample = {
      planId: 'p2',
      format: 'grid' as const,
      targetIndex: 2,
      promptImages: [r.path],
      provenance: r.provenance,
    };
    const clean = (await generationImages(sample, DEFAULT_SETTINGS.perturb, { perturb: false, seed: 1 }))[0]!;
    const image = { ...DEFAULT_SETTINGS.perturb, grid: { ...DEFAULT_SETTINGS.perturb.grid, region: 'image' as const } };
    const [cell] = await generationImages(sample, DEFAULT_SETTINGS.perturb, { perturb: true, seed: 1 });
    const [fitted] = await generationImages(sample, image, { perturb: true, seed: 1 });
    // Cell 2 of 936x488 is x 468..935, y 0..487: the label strip (y < 40) and the margin (x 468..487) are noised too.
    const changedIn = (img: { data: Uint8Array }, x0: number, x1: number, y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++)
        for (let x = x0; x < x1; x++) if (img.data[(y * 936 + x) * 3] !== clean.data[(y * 936 + x) * 3]) n++;
      return n;
    };
    expect(changedIn(cell!, 488, 936, 0, 40)).toBeGreaterThan(0.4 * 448 * 40); // white strip: positive noise clips back to 255;
    expect(changedIn(cell!, 468, 488, 40, 488)).toBeGreaterThan(0.4 * 20 * 448);
    expect(changedIn(cell!, 0, 468, 0, 488)).toBe(0);
    expect(changedIn(fitted!, 488, 936, 0, 40)).toBe(0);
    expect(changedIn(fitted!, 468, 488, 0, 488)).toBe(0);
    expect(changedIn(fitted!, 488, 936, 40, 488)).toBeGreaterThan(0.8 * 448 * 448);
  });
});
