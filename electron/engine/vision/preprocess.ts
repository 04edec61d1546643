// The image side of a LLaVA prompt: decode, optional LLaVA-1.5 square padding,
// then CLIPImageProcessor's steps (resize, centre crop, rescale, normalise) into a
// channels-first Float32Array that the vision tower takes as pixel_values.

import { createHash } from 'node:crypto';
import { decodeImage } from './decode-image';
import type { DecodeOptions, ImageInput, RgbImage } from './decode-image';
import { centerCrop, meanColour, padToSquare, resizeOutputSize } from './geometry';
import type { PreprocessorConfig } from './preprocessor-config';
import { resamplePil } from './resample-pil';
import { resampleSharp } from './resample-sharp';

/** 'crop': transformers' processor as configured; 'pad': LLaVA-1.5's square padding with the mean colour first. */
export type AspectMode = 'crop' | 'pad';
/** 'pil': exact port of Pillow's resampling (default); 'sharp': libvips, faster, a few levels off. */
export type Resampler = 'pil' | 'sharp';

export interface PreprocessOptions extends DecodeOptions {
  aspect?: AspectMode;
  resampler?: Resampler;
}

export interface PixelTensor {
  /** Channels first: value of channel c at (x, y) is `data[(c * height + y) * width + x]`. */
  data: Float32Array;
  dims: [3, number, number];
}

export async function preprocessImage(
  input: ImageInput,
  config: PreprocessorConfig,
  options: PreprocessOptions = {},
): Promise<PixelTensor> {
  const image = await decodeImage(input, options);
  return preprocessRgb(image, config, options);
}

/** The same pipeline on pixels already decoded to 8-bit RGB. */
export async function preprocessRgb(
  image: RgbImage,
  config: PreprocessorConfig,
  options: PreprocessOptions = {},
): Promise<PixelTensor> {
  let img = options.aspect === 'pad' ? padToSquare(image, meanColour(config.imageMean)) : image;
  if (config.doResize) {
    const { width, height } = resizeOutputSize(img.width, img.height, config.size);
    img =
      options.resampler === 'sharp'
        ? await resampleSharp(img, width, height, config.resample)
        : resamplePil(img, width, height, config.resample);
  }
  if (config.doCenterCrop) img = centerCrop(img, config.cropSize.width, config.cropSize.height);
  return toTensor(img, config);
}

/**
 * Rescale then normalise in the precision transformers uses: the rescale product is
 * taken in float64 and stored as float32, mean and std are float32 (Math.fround).
 */
function toTensor(image: RgbImage, config: PreprocessorConfig): PixelTensor {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const scale = config.doRescale ? config.rescaleFactor : 1;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(config.imageMean[c] as number);
    const std = Math.fround(config.imageStd[c] as number);
    for (let i = 0; i < plane; i++) {
      const v = Math.fround((data[i * 3 + c] as number) * scale);
      out[c * plane + i] = config.doNormalize ? Math.fround(v - mean) / std : v;
    }
  }
  return { data: out, dims: [3, height, width] };
}

/** A stable id of everything that changes pixel values, for cache keys (independent of key order). */
export function preprocessingId(config: PreprocessorConfig, options: PreprocessOptions = {}): string {
  const settings = {
    config,
    aspect: options.aspect ?? 'crop',
    resampler: options.resampler ?? 'pil',
    applyExif: options.applyExif ?? true,
  };
  return createHash('sha256').update(canonicalJson(settings)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
