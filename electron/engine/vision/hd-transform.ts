// InternLM-XComposer-2.5's "HD" image side: the crop-grid choice from hd_num, PIL
// bilinear resize, white padding to whole 560 px crops, CLIP normalisation, and
// the split into a 560x560 global view plus row-major crops that the ViT takes.
// Semantics of the official chat path (ixc_utils.Image_transform, the model's
// vis_processor, CLIPVisionTower.forward); the training variant
// (R560_HD18_Identity_transform) is offered as `variant: 'train'`.
// See docs/decisions/0710-ixc-hd-transform.md.

import { AppError } from '../../../shared/errors';
import { decodeImage, inputName } from './decode-image';
import type { DecodeOptions, ImageInput, RgbImage } from './decode-image';
import { pasteOnCanvas, transposeRgb } from './geometry';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from './preprocessor-config';
import { resamplePil } from './resample-pil';

/** Side of one crop and of the global view (the ViT's native 560 px input). */
export const HD_CROP_SIZE = 560;
/** hd_num the chat code passes for a prompt with one image, and the one it forces for several. */
export const HD_NUM_SINGLE = 24;
export const HD_NUM_MULTI = 6;

/** 'chat': `Image_transform` (padding at the bottom); 'train': finetune's transform (1.5x scale, centred padding). */
export type HdVariant = 'chat' | 'train';

export interface HdOptions {
  variant?: HdVariant;
  /** Crop side in pixels; a `vision_config.image_size` other than 560 changes it. */
  cropSize?: number;
}

/** Where every pixel goes, in the image's own orientation (transposition is undone). */
export interface HdGeometry {
  /** Size of the decoded image. */
  source: { width: number; height: number };
  /** The image was taller than wide, so the grid was chosen on its transpose. */
  transposed: boolean;
  /** Crops along the long side. */
  scale: number;
  /** Size after the resize, before padding. */
  resized: { width: number; height: number };
  /** The padded canvas: cols x rows crops. */
  padded: { width: number; height: number };
  /** Top-left of the resized image on the canvas (the rest is white). */
  offset: { x: number; y: number };
  rows: number;
  cols: number;
}

/** The hd_num the official chat code uses for a prompt holding `imageCount` images. */
export function hdNumFor(imageCount: number): number {
  return imageCount > 1 ? HD_NUM_MULTI : HD_NUM_SINGLE;
}

/**
 * The crop grid of a `width` x `height` image. On the landscape orientation
 * (ratio = long / short side): scale = the largest s with s * ceil(s / ratio) <= hdNum,
 * capped by ceil(long / crop) (1.5 * long for 'train'); the long side becomes
 * crop * scale, the short side int(long / ratio), padded up to a multiple of crop.
 * Same float64 arithmetic as the numpy code, so the integer results agree.
 */
export function hdGeometry(width: number, height: number, hdNum: number, options: HdOptions = {}): HdGeometry {
  const crop = options.cropSize ?? HD_CROP_SIZE;
  if (!Number.isInteger(hdNum) || hdNum < 1)
    throw new AppError('bad-input', `hd_num must be a positive integer, got ${hdNum}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new AppError('bad-input', `image size ${width}x${height} is not a positive integer size`);
  const transposed = width < height;
  const long = transposed ? height : width;
  const short = transposed ? width : height;
  const ratio = long / short;
  let scale = 1;
  while (scale * Math.ceil(scale / ratio) <= hdNum) scale++;
  scale--;
  const idScale = options.variant === 'train' ? 1.5 : 1;
  scale = Math.min(Math.ceil((long * idScale) / crop), scale);
  const newLong = Math.trunc(scale * crop);
  const newShort = Math.trunc(newLong / ratio);
  if (newShort < 1)
    throw new AppError(
      'bad-input',
      `a ${width}x${height} image is too elongated for the HD transform (its short side would be ${newShort} px)`,
    );
  const paddedShort = Math.ceil(newShort / crop) * crop;
  const before = options.variant === 'train' ? Math.trunc((paddedShort - newShort) / 2) : 0;
  const lines = paddedShort / crop;
  return transposed
    ? {
        source: { width, height },
        transposed,
        scale,
        resized: { width: newShort, height: newLong },
        padded: { width: paddedShort, height: newLong },
        offset: { x: before, y: 0 },
        rows: scale,
        cols: lines,
      }
    : {
        source: { width, height },
        transposed,
        scale,
        resized: { width: newLong, height: newShort },
        padded: { width: newLong, height: paddedShort },
        offset: { x: 0, y: before },
        rows: lines,
        cols: scale,
      };
}

/**
 * Where a rectangle of the source image (pixels, x to the right, y down) lies on the
 * padded canvas, in canvas pixels; divide by the canvas size for fractions of the
 * global view, or by 560 / 20 for cells of the crop-grid token map. The resize maps
 * the whole image onto the resized rectangle, so the scale per axis is
 * resized / source (not quite equal on both axes: the short side is truncated).
 */
export function hdCanvasRect(
  geometry: HdGeometry,
  rect: { x: number; y: number; width: number; height: number },
): { x: number; y: number; width: number; height: number } {
  const sx = geometry.resized.width / geometry.source.width;
  const sy = geometry.resized.height / geometry.source.height;
  return {
    x: geometry.offset.x + rect.x * sx,
    y: geometry.offset.y + rect.y * sy,
    width: rect.width * sx,
    height: rect.height * sy,
  };
}

/** What the ViT takes for one image, channels first, float32. */
export interface HdPixels {
  geometry: HdGeometry;
  /** [3, crop, crop]: the whole normalised canvas resized by torch bicubic. */
  global: { data: Float32Array; dims: [3, number, number] };
  /** [rows * cols, 3, crop, crop], crops in row-major order. */
  crops: { data: Float32Array; dims: [number, 3, number, number] };
}

export async function hdTransformImage(
  input: ImageInput,
  hdNum: number,
  options: HdOptions & DecodeOptions = {},
): Promise<HdPixels> {
  // The official code opens images with plain `Image.open`: EXIF orientation is not applied unless asked for.
  const image = await decodeImage(input, { ...options, applyExif: options.applyExif ?? false });
  try {
    return hdTransformRgb(image, hdNum, options);
  } catch (e) {
    if (e instanceof AppError && e.kind === 'bad-input') {
      const name = inputName(input, options.label);
      throw new AppError('bad-input', `${name}: ${e.message}`, { subject: name, cause: e });
    }
    throw e;
  }
}

/** The HD transform of 8-bit RGB pixels. */
export function hdTransformRgb(image: RgbImage, hdNum: number, options: HdOptions = {}): HdPixels {
  const crop = options.cropSize ?? HD_CROP_SIZE;
  const geometry = hdGeometry(image.width, image.height, hdNum, options);
  const { transposed, resized, padded, offset } = geometry;
  // Resize and pad in the landscape frame, as the official code does: PIL's two passes
  // run in a fixed order, so resizing the transpose is not the transpose of a resize.
  let img = transposed ? transposeRgb(image) : image;
  const [w, h] = transposed ? [resized.height, resized.width] : [resized.width, resized.height];
  img = resamplePil(img, w, h, 'bilinear');
  const [pw, ph] = transposed ? [padded.height, padded.width] : [padded.width, padded.height];
  img = pasteOnCanvas(img, pw, ph, 0, transposed ? offset.x : offset.y, [255, 255, 255]);
  if (transposed) img = transposeRgb(img);
  const crops = normalisedCrops(img, crop);
  const global = bicubicFromCrops(crops, geometry.rows, geometry.cols, crop, crop, crop);
  return {
    geometry,
    global: { data: global, dims: [3, crop, crop] },
    crops: { data: crops, dims: [geometry.rows * geometry.cols, 3, crop, crop] },
  };
}

/**
 * ToTensor then Normalize, in float32 as torchvision computes them (v / 255, then
 * (x - mean) / std with float32 mean and std), written straight into crop order:
 * `img.reshape(1, 3, rows, crop, cols, crop).permute(0, 2, 4, 1, 3, 5)`. The result
 * depends on the byte and the channel only, so it is a 3 x 256 table.
 */
function normalisedCrops(image: RgbImage, crop: number): Float32Array {
  const { width, height, data } = image;
  const cols = width / crop;
  const plane = crop * crop;
  const table = new Float32Array(3 * 256);
  for (let ch = 0; ch < 3; ch++) {
    const mean = Math.fround(OPENAI_CLIP_MEAN[ch] as number);
    const std = Math.fround(OPENAI_CLIP_STD[ch] as number);
    for (let v = 0; v < 256; v++) table[ch * 256 + v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
  }
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const r = Math.floor(y / crop);
    const rowBase = r * cols * 3 * plane + (y - r * crop) * crop;
    for (let c = 0; c < cols; c++) {
      const base = rowBase + c * 3 * plane;
      let p = (y * width + c * crop) * 3;
      for (let x = 0; x < crop; x++, p += 3) {
        out[base + x] = table[data[p] as number] as number;
        out[base + plane + x] = table[256 + (data[p + 1] as number)] as number;
        out[base + 2 * plane + x] = table[512 + (data[p + 2] as number)] as number;
      }
    }
  }
  return out;
}

interface CubicTaps {
  /** 4 clamped source indices and 4 float32 weights per output index. */
  index: Int32Array;
  weight: Float32Array;
  /**
   * Every output takes one source value with weight 1 and the others with 0 (an odd
   * integer scale): torch's sum then returns that value unchanged, so it is copied.
   */
  pick: Int32Array | undefined;
}

const CUBIC_A = Math.fround(-0.75);
const f = Math.fround;

/** torch's `get_cubic_upsample_coefficients` (A = -0.75), each step rounded to float32. */
function cubicCoefficients(t: number): [number, number, number, number] {
  const c1 = (x: number) => f(f(f(f(f(f(CUBIC_A + 2) * x) - f(CUBIC_A + 3)) * x) * x) + 1);
  const c2 = (x: number) => f(f(f(f(f(f(f(CUBIC_A * x) - f(5 * CUBIC_A)) * x) + f(8 * CUBIC_A)) * x)) - f(4 * CUBIC_A));
  const x2 = f(1 - t);
  return [c2(f(t + 1)), c1(t), c1(x2), c2(f(x2 + 1))];
}

/** Source taps of torch's bicubic interpolation along one axis (align_corners false, no antialias). */
function cubicTaps(inSize: number, outSize: number): CubicTaps {
  const scale = f(inSize / outSize);
  const index = new Int32Array(outSize * 4);
  const weight = new Float32Array(outSize * 4);
  for (let i = 0; i < outSize; i++) {
    const real = f(f(scale * f(i + 0.5)) - 0.5);
    const base = Math.floor(real);
    const w = cubicCoefficients(f(real - base));
    for (let j = 0; j < 4; j++) {
      index[i * 4 + j] = Math.min(Math.max(base - 1 + j, 0), inSize - 1);
      weight[i * 4 + j] = w[j] as number;
    }
  }
  const pick = Int32Array.from({ length: outSize }, (_, i) => index[i * 4 + 1] as number);
  const isPick = weight.every((w, k) => w === (k % 4 === 1 ? 1 : 0));
  return { index, weight, pick: isPick ? pick : undefined };
}

/**
 * `F.interpolate(canvas, size=(outH, outW), mode='bicubic')` in float32, reading the
 * canvas through the crop layout. torch sums per output pixel
 * `sum_j wy_j * (sum_i wx_i * in[y_j, x_i])` (in the order `dot4` describes); the inner sums depend
 * on the column and the source row only, so they are computed once per row (a
 * horizontal pass) without changing any rounding.
 */
function bicubicFromCrops(
  crops: Float32Array,
  rows: number,
  cols: number,
  crop: number,
  outH: number,
  outW: number,
): Float32Array {
  const inH = rows * crop;
  const inW = cols * crop;
  const plane = crop * crop;
  const tx = cubicTaps(inW, outW);
  const ty = cubicTaps(inH, outH);
  const horiz = new Float32Array(3 * inH * outW);
  const row = new Float32Array(inW);
  for (let ch = 0; ch < 3; ch++) {
    for (let y = 0; y < inH; y++) {
      const r = Math.floor(y / crop);
      const from = r * cols * 3 * plane + ch * plane + (y - r * crop) * crop;
      for (let c = 0; c < cols; c++)
        row.set(crops.subarray(from + c * 3 * plane, from + c * 3 * plane + crop), c * crop);
      const o = (ch * inH + y) * outW;
      if (tx.pick) {
        for (let ox = 0; ox < outW; ox++) horiz[o + ox] = row[tx.pick[ox] as number] as number;
        continue;
      }
      for (let ox = 0; ox < outW; ox++) {
        const k = ox * 4;
        horiz[o + ox] = dot4(
          row[tx.index[k] as number] as number,
          row[tx.index[k + 1] as number] as number,
          row[tx.index[k + 2] as number] as number,
          row[tx.index[k + 3] as number] as number,
          tx.weight,
          k,
        );
      }
    }
  }
  const out = new Float32Array(3 * outH * outW);
  for (let ch = 0; ch < 3; ch++) {
    for (let oy = 0; oy < outH; oy++) {
      const k = oy * 4;
      const r0 = (ch * inH + (ty.index[k] as number)) * outW;
      const r1 = (ch * inH + (ty.index[k + 1] as number)) * outW;
      const r2 = (ch * inH + (ty.index[k + 2] as number)) * outW;
      const r3 = (ch * inH + (ty.index[k + 3] as number)) * outW;
      const o = (ch * outH + oy) * outW;
      if (ty.pick) {
        const from = (ch * inH + (ty.pick[oy] as number)) * outW;
        out.set(horiz.subarray(from, from + outW), o);
        continue;
      }
      for (let ox = 0; ox < outW; ox++) {
        out[o + ox] = dot4(
          horiz[r0 + ox] as number,
          horiz[r1 + ox] as number,
          horiz[r2 + ox] as number,
          horiz[r3 + ox] as number,
          ty.weight,
          k,
        );
      }
    }
  }
  return out;
}

/**
 * torch's `out = v0*w0; out += v1*w1; out += v2*w2; out += v3*w3` in float32 as the
 * compiled CPU kernel evaluates it: the compiler contracts the additions into fused
 * multiply-adds, the first one fusing the FIRST product (fma(v0, w0, round(v1*w1))).
 * Found by matching torch 1.13's output bit for bit; builds may differ by 1 ulp.
 */
function dot4(v0: number, v1: number, v2: number, v3: number, weight: Float32Array, k: number): number {
  const acc = fmaf(v0, weight[k] as number, f(v1 * (weight[k + 1] as number)));
  return fmaf(v3, weight[k + 3] as number, fmaf(v2, weight[k + 2] as number, acc));
}

/**
 * float32 fused multiply-add, a * b + c rounded once. The product of two float32 is
 * exact in float64; the float64 sum can only mislead the final rounding when it lands
 * exactly halfway between two float32 values, where the sum's rounding error decides.
 */
function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f(s);
  if (r === s) return r;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err === 0) return r;
  const d = s - r;
  const other = r + 2 * d;
  if (f(other) !== other) return r; // not a tie: the float64 rounding did not matter
  return Math.sign(err) === Math.sign(d) ? other : r;
}
