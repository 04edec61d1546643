// Seeded Gaussian noise on raw 8-bit pixels (MIA-DPO.md, step 2), used only
// for the images handed to generation: the stored images stay clean, so this
// always returns a new buffer. One normal draw per pixel per channel, as the
// reference's `np.random.normal(0, std, image.shape)`; two ways to bring the
// sum back to 8 bits (`NoiseOverflow`), and the reference's grid cell geometry.
import type { NoiseOverflow, PerturbSettings } from '../../../shared/pipeline/settings';
import type { Rect } from '../../../shared/pipeline/types';
import { gridLayout } from '../composite/geometry';
import type { Rng } from '../random';

export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * One noisy 8-bit value.
 * - `clip`: the reference grid code, `np.clip(float(p) + noise, 0, 255).astype(np.uint8)`
 *   (clipped, then truncated).
 * - `wrap`: the reference pic-in-pic code, `p + noise.astype(np.uint8)`: the noise is
 *   truncated toward zero and taken modulo 256, and the uint8 sum wraps (250 + 109 -> 103).
 */
export function noisyValue(pixel: number, noise: number, overflow: NoiseOverflow): number {
  if (overflow === 'wrap') return (((pixel + Math.trunc(noise)) % 256) + 256) % 256;
  const v = pixel + noise;
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v);
}

/** A noisy copy of `image`; only pixels inside `region` (default: all) change. */
export function addGaussianNoise(
  image: RawPixels,
  std: number,
  rng: Rng,
  region?: Rect,
  overflow: NoiseOverflow = 'clip',
): RawPixels {
  const out = Uint8Array.from(image.data);
  const r = region ?? { x: 0, y: 0, width: image.width, height: image.height };
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(image.width, r.x + r.width);
  const y1 = Math.min(image.height, r.y + r.height);
  for (let y = y0; y < y1; y++) {
    const row = y * image.width * image.channels;
    for (let i = row + x0 * image.channels; i < row + x1 * image.channels; i++)
      out[i] = noisyValue(out[i] as number, std * rng.normal(), overflow);
  }
  return { ...image, data: out };
}

/**
 * The reference's grid noise region for the 1-based `targetIndex`: the canvas
 * cut into equal cells of (H // rows) x (W // cols) from the top-left, so the
 * cell holds the tile with its label strip above it and, horizontally, part
 * of the margins (`add_gaussian_noise_to_region` in make_data_ping.py).
 */
export function gridNoiseCell(
  canvas: { width: number; height: number },
  imageCount: number,
  targetIndex: number,
): Rect {
  const { rows, cols } = gridLayout(imageCount);
  const width = Math.floor(canvas.width / cols);
  const height = Math.floor(canvas.height / rows);
  const row = Math.floor((targetIndex - 1) / cols);
  const col = (targetIndex - 1) % cols;
  return { x: col * width, y: row * height, width, height };
}

/**
 * The perturbation the reference applies per format: the target of a grid
 * (`gridRegion`: its cell or its fitted image, per `settings.grid.region`),
 * the whole pic-in-pic composite, every sequence image. Returns the images
 * unchanged (same objects) when the format's noise is off.
 */
export function perturbForGeneration(
  format: 'sequence' | 'grid' | 'pip',
  images: readonly RawPixels[],
  settings: PerturbSettings,
  rng: Rng,
  gridRegion?: Rect,
): RawPixels[] {
  const spec = settings[format];
  if (!spec.enabled || spec.std === 0) return [...images];
  if (format === 'grid') {
    if (!gridRegion) throw new RangeError('grid perturbation needs the target region');
    return images.map((im) => addGaussianNoise(im, spec.std, rng, gridRegion, spec.overflow));
  }
  return images.map((im) => addGaussianNoise(im, spec.std, rng, undefined, spec.overflow));
}
