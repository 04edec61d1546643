// IXC2.5's HD transform and visual-token layout against an independent PIL + torch
// oracle written from the official semantics (test/reference/ixc_hd_ref.py): crop
// grids, padded sizes, the crop tensors (bit-exact), the global view (torch bicubic,
// float32), token counts and the separator layout on random ViT features.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../../shared/errors';
import {
  HD_NUM_MULTI,
  HD_NUM_SINGLE,
  hdCanvasRect,
  hdGeometry,
  hdMergeLayout,
  hdMergeLayoutBatch,
  hdNumFor,
  hdSpanMeans,
  hdTokenCount,
  hdTokenLayout,
  hdTransformImage,
  hdTransformRgb,
} from '../../../../electron/engine/vision';
import type { HdPixels, HdVariant } from '../../../../electron/engine/vision';
import { runReference } from '../../../helpers/reference';
import type { RefTensor } from '../../../helpers/reference';
import { photoLike, tempDir, writeRgbPng } from './draw-images';

interface Case {
  name: string;
  width: number;
  height: number;
  hdNum: number;
  variant?: HdVariant;
  /** The grid worked out by hand from the official rule. */
  grid: [rows: number, cols: number];
}

const CASES: Case[] = [
  { name: 'landscape_hd6', width: 800, height: 600, hdNum: 6, grid: [2, 2] },
  { name: 'landscape_hd24', width: 1000, height: 700, hdNum: 24, grid: [2, 2] },
  { name: 'portrait_hd24', width: 600, height: 900, hdNum: 24, grid: [2, 2] },
  { name: 'portrait_narrow_hd6', width: 300, height: 1000, hdNum: 6, grid: [2, 1] },
  { name: 'square_336_hd24', width: 336, height: 336, hdNum: 24, grid: [1, 1] },
  { name: 'square_1200_hd24', width: 1200, height: 1200, hdNum: 24, grid: [3, 3] },
  { name: 'tiny_hd24', width: 50, height: 30, hdNum: 24, grid: [1, 1] },
  { name: 'wide_hd24', width: 2000, height: 150, hdNum: 24, grid: [1, 4] },
  { name: 'wide_hd6', width: 3000, height: 160, hdNum: 6, grid: [1, 6] },
  { name: 'portrait_train_hd18', width: 600, height: 1000, hdNum: 18, variant: 'train', grid: [3, 2] },
];

let ours: Map<string, HdPixels>;
let ref: { config: Record<string, unknown>; tensors: Map<string, RefTensor> };
let dir: string;

beforeAll(async () => {
  dir = tempDir('ixc-hd-');
  const items = [];
  ours = new Map();
  for (const [i, c] of CASES.entries()) {
    const image = await writeRgbPng(
      join(dir, `${c.name}.png`),
      photoLike(c.width, c.height, 20 + i),
      c.width,
      c.height,
    );
    items.push({ name: c.name, image, hd_num: c.hdNum, variant: c.variant ?? 'chat' });
    ours.set(c.name, await hdTransformImage(image, c.hdNum, { variant: c.variant }));
  }
  writeFileSync(join(dir, 'job.json'), JSON.stringify({ items }));
  ref = runReference('ixc_hd_ref.py', ['pixels', join(dir, 'job.json')]);
}, 120_000);

/** Largest difference in float32 units in the last place (0 = bit-identical). */
function maxUlps(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  const ai = new Int32Array(a.buffer, a.byteOffset, a.length);
  const bi = new Int32Array(b.buffer, b.byteOffset, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    // Ordered integer views of the float bits, so adjacent floats differ by 1 across zero too.
    const x = (ai[i] as number) < 0 ? -2147483648 - (ai[i] as number) : (ai[i] as number);
    const y = (bi[i] as number) < 0 ? -2147483648 - (bi[i] as number) : (bi[i] as number);
    max = Math.max(max, Math.abs(x - y));
  }
  return max;
}

describe('HD transform geometry', () => {
  it('picks the grids and token counts of the worked examples', () => {
    const count = (w: number, h: number, hd: number) => {
      const g = hdGeometry(w, h, hd);
      return [g.rows, g.cols, hdTokenCount(g)];
    };
    expect(count(336, 336, 24)).toEqual([1, 1, 841]);
    expect(count(800, 600, 6)).toEqual([2, 2, 2061]);
    expect(count(1920, 1080, 6)).toEqual([2, 3, 2861]);
    expect(count(1424, 976, 24)).toEqual([3, 3, 4081]);
    // A portrait image gets the transposed grid, padded on the right.
    expect(hdGeometry(1080, 1920, 6)).toMatchObject({ transposed: true, rows: 3, cols: 2, offset: { x: 0, y: 0 } });
    expect(hdNumFor(1)).toBe(HD_NUM_SINGLE);
    expect(hdNumFor(3)).toBe(HD_NUM_MULTI);
  });

  it('maps source rectangles onto the padded canvas (pic-in-pic and grid regions)', () => {
    const close = (a: Record<string, number>, b: Record<string, number>) => {
      for (const k of Object.keys(b)) expect(a[k], k).toBeCloseTo(b[k] as number, 9);
    };
    // 1600x640 at hd 6: 1680x672 resized, 1680x1120 canvas, white below.
    const g = hdGeometry(1600, 640, 6);
    expect([g.rows, g.cols, g.resized.width, g.resized.height]).toEqual([2, 3, 1680, 672]);
    close(hdCanvasRect(g, { x: 800, y: 320, width: 800, height: 320 }), { x: 840, y: 336, width: 840, height: 336 });
    // Tall image, training variant: centred horizontally.
    const t = hdGeometry(600, 1000, 18, { variant: 'train' });
    close(hdCanvasRect(t, { x: 0, y: 0, width: 600, height: 1000 }), { x: 56, y: 0, width: 1008, height: 1680 });
  });

  it('never uses more crops than hd_num', () => {
    for (const hd of [1, 6, 18, 24]) {
      for (const [w, h] of [
        [5000, 100],
        [4000, 3000],
        [700, 5000],
        [3000, 3000],
        [10000, 2100],
      ] as const) {
        const g = hdGeometry(w, h, hd);
        expect(g.rows * g.cols, `${w}x${h} hd ${hd}`).toBeLessThanOrEqual(hd);
        expect(g.padded).toEqual({ width: g.cols * 560, height: g.rows * 560 });
      }
    }
  });

  it('follows a vision_config crop size other than 560', () => {
    const g = hdGeometry(800, 600, 6, { cropSize: 336 });
    expect([g.rows, g.cols, g.resized.width, g.resized.height, g.padded.height]).toEqual([2, 2, 672, 504, 672]);
    const px = hdTransformRgb({ width: 20, height: 15, data: photoLike(20, 15, 9) }, 24, { cropSize: 28 });
    expect(px.crops.dims).toEqual([1, 3, 28, 28]);
    // One crop: the bicubic taps pick every pixel, so the global view is the crop itself.
    expect(px.global.data).toEqual(px.crops.data);
    expect(hdTokenLayout({ rows: 2, cols: 2 }, 12).length).toBe(5 * 144 + 1 + 3 * 12);
  });

  it('refuses images too elongated to keep a row of pixels, and a bad hd_num', () => {
    expect(() => hdGeometry(100_000, 1, 24)).toThrow(/too elongated/);
    expect(() => hdGeometry(100, 100, 0)).toThrow(AppError);
  });
});

describe('HD transform parity with the PIL + torch oracle', () => {
  it('has the same grid, padding and scale as the oracle and the hand-worked rule', () => {
    for (const c of CASES) {
      const g = (ours.get(c.name) as HdPixels).geometry;
      const r = ref.config[c.name] as { rows: number; cols: number; padded: number[]; scale: number };
      expect({ case: c.name, grid: [g.rows, g.cols] }).toEqual({ case: c.name, grid: c.grid });
      expect([g.rows, g.cols, g.padded.width, g.padded.height, g.scale]).toEqual([
        r.rows,
        r.cols,
        r.padded[0],
        r.padded[1],
        r.scale,
      ]);
    }
  });

  it('gives bit-identical crop tensors (resize, padding, ToTensor, Normalize)', () => {
    for (const c of CASES) {
      const o = ours.get(c.name) as HdPixels;
      const r = ref.tensors.get(`${c.name}_crops`) as RefTensor;
      expect(o.crops.dims).toEqual(r.dims);
      expect({ case: c.name, ulps: maxUlps(o.crops.data, r.data) }).toEqual({ case: c.name, ulps: 0 });
    }
  });

  it('gives the global view within 1 ulp of torch bicubic', () => {
    for (const c of CASES) {
      const o = ours.get(c.name) as HdPixels;
      const r = ref.tensors.get(`${c.name}_global`) as RefTensor;
      expect(o.global.dims).toEqual(r.dims);
      expect(maxUlps(o.global.data, r.data), c.name).toBeLessThanOrEqual(1);
    }
  });

  it('pads with white where the official code pads (bottom; right for portraits; centred for training)', () => {
    const white = (ch: number) =>
      Math.fround(
        Math.fround(1 - [0.48145466, 0.4578275, 0.40821073][ch]!) /
          Math.fround([0.26862954, 0.26130258, 0.27577711][ch]!),
      );
    const pixel = (p: HdPixels, x: number, y: number, ch: number) => {
      const { cols } = p.geometry;
      const k = Math.floor(y / 560) * cols + Math.floor(x / 560);
      return p.crops.data[((k * 3 + ch) * 560 + (y % 560)) * 560 + (x % 560)];
    };
    const land = ours.get('landscape_hd6') as HdPixels; // 1120x840 resized, 1120x1120 canvas
    expect(land.geometry.resized).toEqual({ width: 1120, height: 840 });
    expect(pixel(land, 500, 1119, 0)).toBe(white(0));
    expect(pixel(land, 500, 839, 0)).not.toBe(white(0));
    const tall = ours.get('portrait_narrow_hd6') as HdPixels; // 336x1120 resized, 560x1120 canvas
    expect(tall.geometry.resized).toEqual({ width: 336, height: 1120 });
    expect(pixel(tall, 559, 10, 2)).toBe(white(2));
    const train = ours.get('portrait_train_hd18') as HdPixels; // 1008x1680 resized, centred in 1120 wide
    expect(train.geometry.offset).toEqual({ x: 56, y: 0 });
    expect(pixel(train, 55, 0, 1)).toBe(white(1));
    expect(pixel(train, 1064, 0, 1)).toBe(white(1));
    expect(pixel(train, 1063, 0, 1)).not.toBe(white(1));
  });

  it('names the file when it is not an image', async () => {
    const bad = join(dir, 'corrupt.png');
    writeFileSync(bad, Buffer.from('\x89PNG\r\n\x1a\nnot really a png'));
    await expect(hdTransformImage(bad, 24)).rejects.toMatchObject({ kind: 'bad-file', subject: bad });
    await expect(hdTransformImage(join(dir, 'missing.png'), 24)).rejects.toMatchObject({ kind: 'not-found' });
    const strip = await writeRgbPng(join(dir, 'strip.png'), photoLike(4000, 1, 3), 4000, 1);
    await expect(hdTransformImage(strip, 6)).rejects.toMatchObject({ kind: 'bad-input', subject: strip });
    await expect(hdTransformImage(strip, 6)).rejects.toThrow(/strip\.png: a 4000x1 image is too elongated/);
  });

  it('reads pixels as stored, as Image.open does, unless EXIF rotation is asked for', async () => {
    const rotated = await writeRgbPng(join(dir, 'exif6.png'), photoLike(400, 300, 5), 400, 300, 6);
    expect((await hdTransformImage(rotated, 24)).geometry).toMatchObject({ source: { width: 400, height: 300 } });
    const upright = await hdTransformImage(rotated, 24, { applyExif: true });
    expect(upright.geometry).toMatchObject({ source: { width: 300, height: 400 }, transposed: true });
  });
});

describe('visual-token layout', () => {
  it('lays out global rows + sub_GN, glb_GN, crop-grid rows + sub_GN', () => {
    const l = hdTokenLayout({ rows: 2, cols: 3 });
    expect(l.length).toBe(2861);
    expect(l.separators.length).toBe(20 + 1 + 40);
    expect(l.content.reduce((s, r) => s + r.length, 0)).toBe(7 * 400);
    expect(l.content[0]).toEqual({ start: 0, length: 20 });
    expect(l.content[1]).toEqual({ start: 21, length: 20 });
    expect(l.glbSeparator).toBe(420);
    expect(l.content[20]).toEqual({ start: 421, length: 60 });
    expect(l.separators.at(-1)).toBe(2860);
    expect(l.hdMap[40 * 60 - 1]).toBe(2859);
    // Every token is content or separator, exactly once.
    const seen = new Uint8Array(l.length);
    for (const r of l.content) for (let k = 0; k < r.length; k++) seen[r.start + k]! += 1;
    for (const s of l.separators) seen[s]! += 1;
    expect(seen.every((v) => v === 1)).toBe(true);
  });

  it('averages attention over the whole span and over content only', () => {
    const l = hdTokenLayout({ rows: 1, cols: 1 });
    const weights = new Float64Array(5 + l.length + 3);
    for (const r of l.content) weights.fill(2, 5 + r.start, 5 + r.start + r.length);
    for (const s of l.separators) weights[5 + s] = 100;
    const m = hdSpanMeans(weights, 5, l);
    expect(m.content).toBe(2);
    expect(m.whole).toBeCloseTo((800 * 2 + 41 * 100) / 841, 12);
  });

  it('merges 2x2 and lays out random features exactly as the torch reimplementation of the forward', () => {
    const grids = [
      { rows: 1, cols: 1 },
      { rows: 2, cols: 3 },
      { rows: 3, cols: 1 },
    ];
    const width = 4;
    const r = runReference('ixc_hd_ref.py', ['layout', grids.map((g) => `${g.rows}x${g.cols}`).join(','), '4', '7']);
    const t = (name: string) => (r.tensors.get(name) as RefTensor).data;
    const shape = { width, patchSide: 40 };
    const batch = hdMergeLayoutBatch(t('features'), grids, t('glb_GN'), t('sub_GN'), shape);
    expect(batch.lengths).toEqual(r.config['lengths']);
    expect(batch.lengths).toEqual(grids.map((g) => hdTokenCount(g)));
    expect(maxUlps(batch.tokens, t('tokens'))).toBe(0);
    // One image alone gives its slice of the batch.
    const perCrop = 1600 * width;
    const second = hdMergeLayout(
      t('features').subarray(2 * perCrop, 9 * perCrop),
      grids[1]!,
      t('glb_GN'),
      t('sub_GN'),
      shape,
    );
    const start = 841 * 16;
    expect(maxUlps(second, t('tokens').subarray(start, start + 2861 * 16))).toBe(0);
  });
});
