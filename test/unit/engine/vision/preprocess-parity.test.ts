// Parity with an independent PIL + numpy implementation of CLIPImageProcessor
// (test/reference/preprocess_ref.py): exact with the Pillow port, within a few
// levels with sharp's resampling, exact for both when no resize happens.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePreprocessorConfig, preprocessImage } from '../../../../electron/engine/vision';
import type { AspectMode } from '../../../../electron/engine/vision';
import { photoLike, tempDir, writeGreyPng, writeRgb16Png, writeRgbPng, writeRgbaPng } from './draw-images';

const PYTHON = process.env['MIA_PYTHON'] ?? '/usr/bin/python3';

const CLIP: Record<string, unknown> = {
  image_processor_type: 'CLIPImageProcessor',
  do_resize: true,
  size: { shortest_edge: 336 },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: 336, width: 336 },
  do_rescale: true,
  rescale_factor: 0.00392156862745098,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  do_convert_rgb: true,
};
const SIGLIP = {
  ...CLIP,
  image_processor_type: 'SiglipImageProcessor',
  size: { height: 384, width: 384 },
  resample: 2,
  do_center_crop: false,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
};
const LANCZOS = { ...CLIP, size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 }, resample: 1 };
const HAMMING = { ...CLIP, size: { shortest_edge: 160 }, crop_size: { height: 150, width: 170 }, resample: 5 };
const BOX = { ...HAMMING, resample: 4 };
const NEAREST = { ...CLIP, resample: 0 };

interface Case {
  name: string;
  image: string;
  config: Record<string, unknown>;
  aspect: AspectMode;
  /** The reference's output. */
  ref?: Float32Array;
}

const cases: Case[] = [];
let dir: string;

beforeAll(async () => {
  dir = tempDir('parity-');
  const png = (name: string, w: number, h: number, seed: number, orientation?: number) =>
    writeRgbPng(join(dir, name), photoLike(w, h, seed), w, h, orientation);
  const add = (name: string, image: string, config = CLIP, aspect: AspectMode = 'crop') =>
    cases.push({ name, image, config, aspect });
  const landscape = await png('landscape.png', 640, 480, 1);
  add('640x480 crop', landscape);
  add('640x480 pad', landscape, CLIP, 'pad');
  add('480x640 crop', await png('portrait.png', 480, 640, 2));
  add('500x333 crop (long edge truncated)', await png('odd.png', 500, 333, 3));
  add('200x150 crop (upscale)', await png('small.png', 200, 150, 4));
  add('336x336 at target size', await png('exact.png', 336, 336, 5));
  add('400x300 EXIF orientation 6', await png('exif.png', 400, 300, 6, 6));
  const grey = photoLike(300, 200, 7).filter((_, i) => i % 3 === 0);
  add('300x200 grey', await writeGreyPng(join(dir, 'grey.png'), grey, 300, 200));
  add('300x200 RGBA', await writeRgbaPng(join(dir, 'rgba.png'), photoLike(300, 200, 8), 300, 200));
  const rgb16 = Uint16Array.from(photoLike(300, 200, 9), (v, i) => v * 256 + (i % 256));
  add('300x200 16-bit RGB', await writeRgb16Png(join(dir, 'rgb16.png'), rgb16, 300, 200));
  const p3 = join(dir, 'p3.png');
  writeFileSync(
    p3,
    await sharp(photoLike(300, 200, 11), { raw: { width: 300, height: 200, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer(),
  );
  add('300x200 with a Display P3 profile (ignored, as PIL does)', p3);
  add('SigLIP 384x384 bilinear, no crop', landscape, SIGLIP);
  add('lanczos 224', landscape, LANCZOS, 'pad');
  add('hamming, crop 170x150', landscape, HAMMING);
  add('box, crop 170x150', landscape, BOX);
  add('nearest 640x480 (exact ties at 10/7 steps)', landscape, NEAREST);
  add('nearest 200x150 upscale', await png('small-nearest.png', 200, 150, 10), NEAREST, 'pad');
  const items = cases.map((c, i) => ({
    image: c.image,
    out: join(dir, `ref${i}.f32`),
    aspect: c.aspect,
    config: c.config,
  }));
  writeFileSync(join(dir, 'job.json'), JSON.stringify({ items }));
  execFileSync(PYTHON, [join(process.cwd(), 'test/reference/preprocess_ref.py'), join(dir, 'job.json')]);
  items.forEach((item, i) => {
    const bytes = readFileSync(item.out);
    (cases[i] as Case).ref = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  });
});

function diff(a: Float32Array, b: Float32Array): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.length };
}

describe('preprocessing parity with PIL + numpy', () => {
  it('is bit-exact with the Pillow port for every case', async () => {
    for (const c of cases) {
      const out = await preprocessImage(c.image, parsePreprocessorConfig(c.config, c.name), { aspect: c.aspect });
      expect({ case: c.name, ...diff(out.data, c.ref as Float32Array) }).toEqual({ case: c.name, max: 0, mean: 0 });
    }
  });

  it('is bit-exact with sharp too when the image is already at the target size', async () => {
    const c = cases.find((x) => x.name.startsWith('336x336')) as Case;
    const out = await preprocessImage(c.image, parsePreprocessorConfig(c.config, c.name), { resampler: 'sharp' });
    expect(diff(out.data, c.ref as Float32Array).max).toBe(0);
  });

  it('stays within a few 8-bit levels with sharp when downscaling photos', async () => {
    for (const c of cases.filter((x) => ['640x480 crop', '640x480 pad', '480x640 crop'].includes(x.name))) {
      const out = await preprocessImage(c.image, parsePreprocessorConfig(c.config, c.name), {
        aspect: c.aspect,
        resampler: 'sharp',
      });
      const d = diff(out.data, c.ref as Float32Array);
      // One 8-bit level is about 1 / (255 * 0.27) = 0.0146 in normalised units.
      expect(d.mean, c.name).toBeLessThan(0.01);
      expect(d.max, c.name).toBeLessThan(0.1);
      expect(d.max, c.name).toBeGreaterThan(0);
    }
  });
});
