// The preprocessing pipeline on images with values known by construction: solid
// colours give (v / 255 - mean) / std everywhere; shapes, layout and pad mode.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  parsePreprocessorConfig,
  preprocessImage,
  preprocessRgb,
  preprocessingId,
  resamplePil,
} from '../../../../electron/engine/vision';
import type { PreprocessorConfig } from '../../../../electron/engine/vision';
import { RespondOptions } from '../../../../shared/pipeline/respond';
import { tempDir, writeRgbPng } from './draw-images';

const CLIP_336 = parsePreprocessorConfig(
  {
    image_processor_type: 'CLIPImageProcessor',
    size: { shortest_edge: 336 },
    crop_size: { height: 336, width: 336 },
    resample: 3,
  },
  'test',
);
const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

function solid(width: number, height: number, colour: [number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(colour, i * 3);
  return data;
}

/** Channel c of the float32 output at (x, y) of a [3, H, W] tensor. */
function value(t: { data: Float32Array; dims: [3, number, number] }, c: number, x: number, y: number): number {
  return t.data[(c * t.dims[1] + y) * t.dims[2] + x] as number;
}

let dir: string;
beforeAll(() => {
  dir = tempDir('prep-');
});

describe('preprocessImage', () => {
  it('normalises a solid colour to (v / 255 - mean) / std in every pixel, channels first', async () => {
    const colour: [number, number, number] = [200, 100, 30];
    const out = await preprocessImage(
      await writeRgbPng(join(dir, 'solid.png'), solid(500, 375, colour), 500, 375),
      CLIP_336,
    );
    expect(out.dims).toEqual([3, 336, 336]);
    for (let c = 0; c < 3; c++) {
      const expected = ((colour[c] as number) / 255 - (MEAN[c] as number)) / (STD[c] as number);
      for (const [x, y] of [
        [0, 0],
        [335, 335],
        [100, 200],
      ] as const)
        expect(value(out, c, x, y)).toBeCloseTo(expected, 5);
    }
  });

  it('pads to a square with the mean colour in pad mode: the bands become near zero after normalising', async () => {
    // A wide red strip: after padding the top and bottom are (122,116,104)/255, about the mean.
    const out = await preprocessImage(
      await writeRgbPng(join(dir, 'strip.png'), solid(400, 100, [255, 0, 0]), 400, 100),
      CLIP_336,
      {
        aspect: 'pad',
      },
    );
    expect(out.dims).toEqual([3, 336, 336]);
    for (let c = 0; c < 3; c++) {
      const band = ([122, 116, 104][c] as number) / 255;
      expect(value(out, c, 168, 5)).toBeCloseTo((band - (MEAN[c] as number)) / (STD[c] as number), 5);
    }
    expect(value(out, 0, 168, 168)).toBeCloseTo((1 - (MEAN[0] as number)) / (STD[0] as number), 5);
    // In crop mode the same strip fills the whole output.
    const cropped = await preprocessImage(join(dir, 'strip.png'), CLIP_336);
    expect(value(cropped, 0, 168, 5)).toBeCloseTo((1 - (MEAN[0] as number)) / (STD[0] as number), 5);
  });

  it('keeps a non-square output when centre crop is off', async () => {
    const config: PreprocessorConfig = { ...CLIP_336, doCenterCrop: false };
    const out = await preprocessImage(join(dir, 'solid.png'), config);
    expect(out.dims).toEqual([3, 336, 448]);
  });

  it('skips rescale and normalise when the config says so', async () => {
    const config: PreprocessorConfig = { ...CLIP_336, doRescale: false, doNormalize: false };
    const out = await preprocessImage(join(dir, 'solid.png'), config);
    expect([value(out, 0, 3, 3), value(out, 1, 3, 3), value(out, 2, 3, 3)]).toEqual([200, 100, 30]);
  });
});

describe('a 1x3 grid collage (1424x488) under the respond default (decision 0105)', () => {
  // Three 448 px tiles 40 px apart below a 40 px label strip on white, as the grid renderer lays them out.
  const TILES: [number, number, number][] = [
    [220, 30, 30],
    [30, 200, 40],
    [40, 60, 230],
  ];
  const collage = (() => {
    const [width, height] = [1424, 488];
    const data = solid(width, height, [255, 255, 255]);
    TILES.forEach((colour, t) => {
      for (let y = 40; y < height; y++)
        for (let x = t * 488; x < t * 488 + 448; x++) data.set(colour, (y * width + x) * 3);
    });
    return { width, height, data };
  })();
  const normalised = (colour: [number, number, number], c: number) =>
    ((colour[c] as number) / 255 - (MEAN[c] as number)) / (STD[c] as number);
  /** Whether the pixel at (x, y) is the tile's colour (within a level or two of resampling). */
  const isTile = (
    t: { data: Float32Array; dims: [3, number, number] },
    x: number,
    y: number,
    colour: [number, number, number],
  ) => [0, 1, 2].every((c) => Math.abs(value(t, c, x, y) - normalised(colour, c)) < 0.05);

  it('keeps all three tiles with pad, the default: each tile centre is the tile colour', async () => {
    const aspect = RespondOptions.parse({ model: 'm' }).aspect;
    expect(aspect).toBe('pad');
    const out = await preprocessRgb(collage, CLIP_336, { aspect });
    expect(out.dims).toEqual([3, 336, 336]);
    // Padded to 1424x1424 (collage at y 468), scaled by 336/1424: tile centres (224|712|1200, 732) -> (53|168|283, 173).
    TILES.forEach((colour, t) => expect(isTile(out, [53, 168, 283][t]!, 173, colour)).toBe(true));
    // Above and below the collage: the mean colour, about zero after normalising.
    for (const y of [5, 330]) expect(Math.abs(value(out, 0, 168, y))).toBeLessThan(0.02);
  });

  it("loses Image1 and Image3 with the processor's centre crop (the option)", async () => {
    const out = await preprocessRgb(collage, CLIP_336, { aspect: 'crop' });
    const seen = (colour: [number, number, number]) => {
      for (let y = 0; y < 336; y += 4) for (let x = 0; x < 336; x += 4) if (isTile(out, x, y, colour)) return true;
      return false;
    };
    expect(TILES.map(seen)).toEqual([false, true, false]);
  });
});

describe('resamplePil', () => {
  it('averages with the box filter row pass first, rounding each pass to 8 bits, as PIL does', () => {
    const data = new Uint8Array([10, 0, 0, 20, 0, 0, 30, 0, 0, 41, 0, 0]);
    const out = resamplePil({ width: 2, height: 2, data }, 1, 1, 'box');
    // rows: (10 + 20) / 2 = 15, (30 + 41) / 2 = 35.5 -> 36; column: (15 + 36) / 2 = 25.5 -> 26 (one-pass mean: 25.25)
    expect(out.data[0]).toBe(26);
  });

  it('keeps a constant image constant under every filter', () => {
    for (const filter of ['bicubic', 'bilinear', 'lanczos', 'hamming', 'box', 'nearest'] as const) {
      const out = resamplePil({ width: 7, height: 5, data: solid(7, 5, [9, 99, 199]) }, 12, 3, filter);
      expect(new Set(out.data)).toEqual(new Set([9, 99, 199]));
    }
  });
});

describe('preprocessingId', () => {
  it('changes with settings and not with key order', () => {
    const reordered = Object.fromEntries(Object.entries(CLIP_336).reverse()) as unknown as PreprocessorConfig;
    expect(preprocessingId(reordered)).toBe(preprocessingId(CLIP_336));
    expect(preprocessingId(CLIP_336, { aspect: 'pad' })).not.toBe(preprocessingId(CLIP_336));
    expect(preprocessingId({ ...CLIP_336, resample: 'bilinear' })).not.toBe(preprocessingId(CLIP_336));
    expect(preprocessingId(CLIP_336, { applyExif: false })).not.toBe(preprocessingId(CLIP_336));
    expect(preprocessingId(CLIP_336, { label: 'a name only' })).toBe(preprocessingId(CLIP_336));
  });
});
