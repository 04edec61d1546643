// Image preprocessing and the vision feature cache: ms per image of the exact
// Pillow port and of sharp resampling against Pillow + numpy itself
// (test/reference/preprocess_ref.py, timed inside Python) on the same PNGs in the
// same run; sharp's distance from PIL in 8-bit levels; cache hit and miss costs.

import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FeatureCache,
  imageContentHash,
  parsePreprocessorConfig,
  preprocessImage,
  preprocessingId,
} from '../electron/engine/vision';
import type { AspectMode, PixelTensor, PreprocessorConfig, Resampler } from '../electron/engine/vision';
import { photoLike, tempDir, writeRgbPng } from '../test/unit/engine/vision/draw-images';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const python = process.env['MIA_PYTHON'] ?? '/usr/bin/python3';
const REPEAT = 5;

/** llava-1.5-hf's preprocessor_config.json. */
const LLAVA_15 = {
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

const CASES: { w: number; h: number; aspect: AspectMode }[] = [
  { w: 200, h: 150, aspect: 'crop' },
  { w: 640, h: 480, aspect: 'crop' },
  { w: 640, h: 480, aspect: 'pad' },
  { w: 1024, h: 768, aspect: 'crop' },
  { w: 1920, h: 1080, aspect: 'crop' },
  { w: 4000, h: 3000, aspect: 'crop' },
];

/** Median of REPEAT timed runs after one untimed warm-up run (JIT, file cache). */
async function medianMs(f: () => Promise<unknown>): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = performance.now();
    await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** Largest and mean |a - b| in 8-bit levels: normalised difference x std x 255 per channel. */
function levels(a: PixelTensor, b: PixelTensor, config: PreprocessorConfig): { max: number; mean: number } {
  const plane = a.dims[1] * a.dims[2];
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d =
      (Math.abs((a.data[i] as number) - (b.data[i] as number)) * (config.imageStd[Math.floor(i / plane)] as number)) /
      config.rescaleFactor;
    sum += d;
    max = Math.max(max, d);
  }
  return { max, mean: sum / a.data.length };
}

export async function run(): Promise<BenchTable> {
  const dir = tempDir('vision-bench-');
  const config = parsePreprocessorConfig(LLAVA_15, 'llava-1.5');
  const images = await Promise.all(
    CASES.map((c, i) => writeRgbPng(join(dir, `img${i}.png`), photoLike(c.w, c.h, i + 1), c.w, c.h)),
  );
  const job = {
    repeat: REPEAT,
    items: CASES.map((c, i) => ({
      image: images[i],
      out: join(dir, `ref${i}.f32`),
      aspect: c.aspect,
      config: LLAVA_15,
    })),
  };
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
  const pillow = JSON.parse(
    execFileSync(python, ['test/reference/preprocess_ref.py', join(dir, 'job.json')], { encoding: 'utf8' }),
  ) as { seconds: number[] };

  const rows: (string | number)[][] = [];
  for (const [i, c] of CASES.entries()) {
    const image = images[i] as string;
    const prep = (resampler: Resampler) => preprocessImage(image, config, { aspect: c.aspect, resampler });
    const pilMs = await medianMs(() => prep('pil'));
    const sharpMs = await medianMs(() => prep('sharp'));
    const baseMs = (pillow.seconds[i] as number) * 1000;
    const d = levels(await prep('pil'), await prep('sharp'), config);
    rows.push([`${c.w}x${c.h} ${c.aspect}`, baseMs, pilMs, baseMs / pilMs, sharpMs, baseMs / sharpMs, d.max, d.mean]);
  }

  // Cache: LLaVA-1.5-7B's projector output for one image is [576, 4096] float32 (9.4 MB).
  const cache = new FeatureCache(join(dir, 'cache'));
  const features = { data: Float32Array.from({ length: 576 * 4096 }, (_, i) => Math.sin(i)), dims: [576, 4096] };
  const image = images[4] as string;
  const keyOf = async () => ({
    imageSha256: await imageContentHash(image),
    modelId: 'bench',
    preprocessingId: preprocessingId(config),
  });
  const missMs = await medianMs(async () => {
    const key = await keyOf();
    if ((await cache.get({ ...key, modelId: 'absent' })) !== undefined) throw new Error('unexpected hit');
    await preprocessImage(image, config);
  });
  const putMs = await medianMs(async () => cache.put(await keyOf(), features));
  const hitMs = await medianMs(async () => {
    if ((await cache.get(await keyOf())) === undefined) throw new Error('unexpected miss');
  });
  const hashMs = await medianMs(() => imageContentHash(image));
  rmSync(dir, { recursive: true, force: true });

  return {
    columns: [
      'case (llava-1.5, 336 px)',
      'Pillow ms',
      'ours (Pillow port) ms',
      'speed-up',
      'sharp ms',
      'speed-up',
      'sharp vs PIL max levels',
      'mean levels',
    ],
    rows,
    notes: [
      `median of ${REPEAT} runs per image, PNG read + decode + preprocess; Pillow + numpy timed inside Python (interpreter start excluded)`,
      'the Pillow port is bit-exact with Pillow (test/unit/engine/vision/preprocess-parity.test.ts), so its distance is 0 levels',
      `feature cache, 1920x1080 PNG, entry [576, 4096] float32: hit (hash image + read + verify) ${hitMs.toFixed(1)} ms; ` +
        `miss before the tower (hash + lookup + preprocess) ${missMs.toFixed(1)} ms, then put ${putMs.toFixed(1)} ms; image hash alone ${hashMs.toFixed(1)} ms`,
      `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
