// Seeded Gaussian noise on raw 8-bit pixels (MIA-DPO.md, step 2), used only
// for the images handed to generation: the stored images stay clean, so this
// always returns a new buffer. Values are clipped to 0-255 then truncated,
// like numpy's `np.clip(img + noise, 0, 255).astype(np.uint8)`.
import type { PerturbSettings } from '../../../shared/pipeline/settings';
import type { Rect } from '../../../shared/pipeline/types';
import type { Rng } from '../random';

export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** A noisy copy of `image`; only pixels inside `region` (default: all) change. */
export function addGaussianNoise(image: RawPixels, std: number, rng: Rng, region?: Rect): RawPixels {
  const out = Uint8Array.from(image.data);
  const r = region ?? { x: 0, y: 0, width: image.width, height: image.height };
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const x1 = Math.min(image.width, r.x + r.width);
  const y1 = Math.min(image.height, r.y + r.height);
  for (let y = y0; y < y1; y++) {
    const row = y * image.width * image.channels;
    for (let i = row + x0 * image.channels; i < row + x1 * image.channels; i++) {
      const v = (out[i] as number) + std * rng.normal();
      out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v);
    }
  }
  return { ...image, data: out };
}

/**
 * The perturbation the reference applies per format: the target tile of a
 * grid (`targetRect`), the whole pic-in-pic composite, every sequence image.
 * Returns the images unchanged (same objects) when the format's noise is off.
 */
export function perturbForGeneration(
  format: 'sequence' | 'grid' | 'pip',
  images: readonly RawPixels[],
  settings: PerturbSettings,
  rng: Rng,
  targetRect?: Rect,
): RawPixels[] {
  const spec = settings[format];
  if (!spec.enabled || spec.std === 0) return [...images];
  if (format === 'grid') {
    if (!targetRect) throw new RangeError('grid perturbation needs the target tile rectangle');
    return images.map((im) => addGaussianNoise(im, spec.std, rng, targetRect));
  }
  return images.map((im) => addGaussianNoise(im, spec.std, rng));
}
