// Resizing through sharp (libvips), the native alternative to the exact Pillow
// port: faster on large photos, but its kernels and shrink steps round differently,
// so pixels differ from PIL by a few levels (measured in docs/decisions).

import sharp from 'sharp';
import type { KernelEnum } from 'sharp';
import type { RgbImage } from './decode-image';
import type { ResampleFilter } from './preprocessor-config';

/** The closest libvips kernel to each PIL filter (cubic is Catmull-Rom, PIL's a = -0.5 cubic). */
const KERNELS: Record<ResampleFilter, keyof KernelEnum> = {
  nearest: 'nearest',
  box: 'linear',
  bilinear: 'linear',
  hamming: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

export async function resampleSharp(
  image: RgbImage,
  width: number,
  height: number,
  filter: ResampleFilter,
): Promise<RgbImage> {
  if (width === image.width && height === image.height) return image;
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: KERNELS[filter] })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
