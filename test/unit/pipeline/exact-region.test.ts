import { describe, expect, it } from 'vitest';
import { exactRatio, regionWeights } from '../../../electron/pipeline/attention/exact-region';
import { gridTiles } from '../../../electron/pipeline/composite/geometry';
import { hdGeometry } from '../../../electron/engine/vision/hd-transform';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0);

describe('exact-region weights', () => {
  it('a square canvas covered fully gives weight 1 everywhere, in both modes', () => {
    for (const mode of ['crop', 'pad'] as const) {
      const w = regionWeights(
        { width: 672, height: 672 },
        { x: 0, y: 0, width: 672, height: 672 },
        { mode, size: 336 },
        24,
      );
      expect(Math.min(...w)).toBeCloseTo(1);
      expect(Math.max(...w)).toBeCloseTo(1);
    }
  });

  it('pad mode: a 2:1 canvas fills the middle half of the rows', () => {
    const w = regionWeights(
      { width: 936, height: 468 },
      { x: 0, y: 0, width: 936, height: 468 },
      { mode: 'pad', size: 336 },
      24,
    );
    expect(sum(w)).toBeCloseTo(24 * 12);
    expect(w[0]).toBe(0); // padding row
    expect(w[12 * 24]).toBeCloseTo(1);
  });

  it('crop mode: the left third of a 3:1 canvas is cropped away', () => {
    // 1344x448 -> resized 1008x336, crop 336 from x = 336: only the middle third is seen.
    const canvas = { width: 1344, height: 448 };
    const pre = { mode: 'crop' as const, size: 336 };
    expect(sum(regionWeights(canvas, { x: 0, y: 0, width: 448, height: 448 }, pre, 24))).toBeCloseTo(0);
    expect(sum(regionWeights(canvas, { x: 448, y: 0, width: 448, height: 448 }, pre, 24))).toBeCloseTo(576);
  });

  it('weights partial patches by the fraction covered', () => {
    // A rectangle covering half of patch (0, 0) horizontally: 7 px of 14.
    const w = regionWeights(
      { width: 336, height: 336 },
      { x: 0, y: 0, width: 7, height: 14 },
      { mode: 'crop', size: 336 },
      24,
    );
    expect(w[0]).toBeCloseTo(0.5);
    expect(sum(w)).toBeCloseTo(0.5);
  });

  it('grid tile of a 1x2 collage in pad mode excludes the label strip and white space', () => {
    const g = DEFAULT_SETTINGS.geometry;
    const tiles = gridTiles(
      [
        { width: 448, height: 448 },
        { width: 448, height: 448 },
      ],
      g,
    );
    const canvas = { width: 936, height: 488 };
    const map = new Float64Array(576).fill(1);
    const pre = { mode: 'pad' as const, size: 336 };
    const r1 = exactRatio(map, 24, canvas, tiles[0]!.content, pre);
    // Area share of the tile in the padded 936x936 square: 448*448 / 936^2.
    expect(r1).toBeCloseTo((448 * 448) / (936 * 936), 6);
    expect(exactRatio(map, 24, canvas, tiles[1]!.content, pre)).toBeCloseTo(r1, 6);
  });

  it('hd mode (IXC2.5 global view): the image scaled per axis at the top-left, padding below it', () => {
    // A 300x130 image at 56 px crops, hd_num 24: 6 crops wide (capped by ceil(300/56)), resized to 336x145,
    // padded to 336x168; the global view (56 px, 2x2 tokens of 28 px) shows it scaled by 56/336 and 145/130 * 56/168.
    const g = hdGeometry(300, 130, 24, { cropSize: 56 });
    expect([g.resized, g.padded]).toEqual([
      { width: 336, height: 145 },
      { width: 336, height: 168 },
    ]);
    const scale = { x: (336 / 300) * (56 / 336), y: (145 / 130) * (56 / 168) };
    const w = regionWeights(
      { width: 300, height: 130 },
      { x: 0, y: 0, width: 300, height: 130 },
      { mode: 'hd', size: 56, scale },
      2,
    );
    // The image ends at 56 * 145/168 = 48.33 px: the bottom row of tokens is covered (48.33 - 28) / 28.
    const bottom = (56 * (145 / 168) - 28) / 28;
    Array.from(w).forEach((v, k) => expect(v).toBeCloseTo(k < 2 ? 1 : bottom, 9));
    // The right half of the image: the right column of tokens, same rows.
    const right = regionWeights(
      { width: 300, height: 130 },
      { x: 150, y: 0, width: 150, height: 130 },
      { mode: 'hd', size: 56, scale },
      2,
    );
    Array.from(right).forEach((v, k) => expect(v).toBeCloseTo(k % 2 === 0 ? 0 : k < 2 ? 1 : bottom, 9));
  });
});
