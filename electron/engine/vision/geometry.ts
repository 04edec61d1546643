// The integer geometry of transformers' image processors and LLaVA's padding:
// output size of a shortest-edge resize, centre-crop bounds, square padding.
// Pure functions on RGB pixels, so every rounding rule is testable alone.

import type { ResizeTarget } from './preprocessor-config';
import type { RgbImage } from './decode-image';

/** `get_resize_output_image_size(default_to_square=False)`: the long edge is truncated, as `int()` does. */
export function resizeOutputSize(
  width: number,
  height: number,
  target: ResizeTarget,
): { width: number; height: number } {
  if (!('shortestEdge' in target)) return { width: target.width, height: target.height };
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((target.shortestEdge * long) / short);
  return width <= height
    ? { width: target.shortestEdge, height: newLong }
    : { width: newLong, height: target.shortestEdge };
}

/**
 * transformers' `center_crop`: top = (h - ch) // 2, left = (w - cw) // 2 (floor division);
 * an image smaller than the crop is first centred on a zero canvas (pad ceil(diff / 2) before).
 */
export function centerCrop(image: RgbImage, cropWidth: number, cropHeight: number): RgbImage {
  const { width, height } = image;
  const top = Math.floor((height - cropHeight) / 2);
  const left = Math.floor((width - cropWidth) / 2);
  if (top >= 0 && left >= 0 && top + cropHeight <= height && left + cropWidth <= width) {
    return copyRegion(image, left, top, cropWidth, cropHeight);
  }
  const newHeight = Math.max(cropHeight, height);
  const newWidth = Math.max(cropWidth, width);
  const topPad = Math.ceil((newHeight - height) / 2);
  const leftPad = Math.ceil((newWidth - width) / 2);
  const padded = pasteOnCanvas(image, newWidth, newHeight, leftPad, topPad, [0, 0, 0]);
  const y0 = Math.max(0, top + topPad);
  const y1 = Math.min(newHeight, top + topPad + cropHeight);
  const x0 = Math.max(0, left + leftPad);
  const x1 = Math.min(newWidth, left + leftPad + cropWidth);
  return copyRegion(padded, x0, y0, x1 - x0, y1 - y0);
}

/** LLaVA's `expand2square`: a square canvas of `fill`, the image pasted centred (offset floored). */
export function padToSquare(image: RgbImage, fill: readonly [number, number, number]): RgbImage {
  const { width, height } = image;
  if (width === height) return image;
  const side = Math.max(width, height);
  return pasteOnCanvas(image, side, side, Math.floor((side - width) / 2), Math.floor((side - height) / 2), fill);
}

/** LLaVA's background colour: `tuple(int(x * 255) for x in image_mean)`. */
export function meanColour(mean: readonly [number, number, number]): [number, number, number] {
  return [Math.trunc(mean[0] * 255), Math.trunc(mean[1] * 255), Math.trunc(mean[2] * 255)];
}

function copyRegion(image: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * image.width + x) * 3;
    data.set(image.data.subarray(from, from + width * 3), row * width * 3);
  }
  return { width, height, data };
}

/** A `width` x `height` canvas of `fill` with `image` pasted at (x, y) (PIL `Image.new` + `paste`). */
export function pasteOnCanvas(
  image: RgbImage,
  width: number,
  height: number,
  x: number,
  y: number,
  fill: readonly [number, number, number],
): RgbImage {
  const data = new Uint8Array(width * height * 3);
  data.set(fill, 0);
  // Doubling copies fill the canvas in log2(pixels) steps.
  for (let filled = 3; filled < data.length; filled *= 2)
    data.copyWithin(filled, 0, Math.min(filled, data.length - filled));
  for (let row = 0; row < image.height; row++) {
    const from = row * image.width * 3;
    data.set(image.data.subarray(from, from + image.width * 3), ((y + row) * width + x) * 3);
  }
  return { width, height, data };
}

/** PIL's `Image.transpose(Image.TRANSPOSE)`: pixel (x, y) moves to (y, x), so width and height swap. */
export function transposeRgb(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      const to = (x * height + y) * 3;
      out[to] = data[from] as number;
      out[to + 1] = data[from + 1] as number;
      out[to + 2] = data[from + 2] as number;
    }
  }
  return { width: height, height: width, data: out };
}
