// Pillow's convolution resampling (libImaging/Resample.c) for 8-bit RGB, step for
// step: the same filters, antialiasing support, bounds rounding, 22-bit fixed-point
// coefficients and horizontal-then-vertical passes, so pixels match PIL exactly.

import type { RgbImage } from './decode-image';
import type { ResampleFilter } from './preprocessor-config';

interface Filter {
  support: number;
  weight: (x: number) => number;
}

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

const FILTERS: Record<Exclude<ResampleFilter, 'nearest'>, Filter> = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  hamming: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      return (Math.sin(Math.PI * a) / (Math.PI * a)) * (0.54 + 0.46 * Math.cos(Math.PI * a));
    },
  },
  // Keys' cubic convolution with a = -0.5, as PIL and Catmull-Rom.
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ROUNDING = 1 << (PRECISION_BITS - 1);

interface Coefficients {
  /** Taps per output pixel (the row stride of `weights`). */
  taps: number;
  /** First input index and tap count of each output pixel. */
  first: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `taps` per output pixel. */
  weights: Float64Array;
}

/** `precompute_coeffs` + `normalize_coeffs_8bpc` for an axis of `inSize` resampled to `outSize`. */
function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  const w = new Float64Array(taps);
  // PIL multiplies by the reciprocal (not divides): kept so weights round identically.
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = filter.weight((x + xmin - center + 0.5) * ss);
      total += w[x] as number;
    }
    for (let x = 0; x < xmax; x++) {
      const k = total !== 0 ? (w[x] as number) / total : (w[x] as number);
      weights[xx * taps + x] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { taps, first, count, weights };
}

const CLIP_HIGH = 2 ** (PRECISION_BITS + 8);
const SCALE = 2 ** PRECISION_BITS;

function clip8(v: number): number {
  if (v >= CLIP_HIGH) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / SCALE);
}

/** Resizes like PIL's `Image.resize(size, resample)` (no box, no reducing_gap). */
export function resamplePil(image: RgbImage, width: number, height: number, filter: ResampleFilter): RgbImage {
  if (filter === 'nearest') return resampleNearest(image, width, height);
  if (width === image.width && height === image.height) return image;
  const f = FILTERS[filter];
  const horiz = coefficients(image.width, width, f);
  const vert = coefficients(image.height, height, f);
  let src = image;
  let rowOffset = 0;
  if (width !== image.width) {
    // Only the source rows the vertical pass reads are resampled horizontally.
    const firstRow = vert.first[0] as number;
    const lastRow = (vert.first[height - 1] as number) + (vert.count[height - 1] as number);
    src = horizontalPass(image, horiz, width, firstRow, lastRow);
    rowOffset = firstRow;
  }
  return height !== image.height ? verticalPass(src, vert, height, rowOffset) : src;
}

function horizontalPass(
  image: RgbImage,
  c: Coefficients,
  outWidth: number,
  firstRow: number,
  lastRow: number,
): RgbImage {
  const rows = lastRow - firstRow;
  const out = new Uint8Array(outWidth * rows * 3);
  const { data, width } = image;
  const { first, count, weights, taps } = c;
  for (let y = 0; y < rows; y++) {
    const rowStart = (y + firstRow) * width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const n = count[xx] as number;
      let p = rowStart + (first[xx] as number) * 3;
      let k = xx * taps;
      let r = ROUNDING;
      let g = ROUNDING;
      let b = ROUNDING;
      for (let x = 0; x < n; x++, p += 3, k++) {
        const w = weights[k] as number;
        r += (data[p] as number) * w;
        g += (data[p + 1] as number) * w;
        b += (data[p + 2] as number) * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height: rows, data: out };
}

/** `rowOffset`: source row 0 of `image` is row `rowOffset` of the original. */
function verticalPass(image: RgbImage, c: Coefficients, outHeight: number, rowOffset: number): RgbImage {
  const { data, width } = image;
  const { first, count, weights, taps } = c;
  const stride = width * 3;
  const out = new Uint8Array(stride * outHeight);
  const acc = new Float64Array(stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = (first[yy] as number) - rowOffset;
    const n = count[yy] as number;
    // Row by row (not column by column) so memory is read in order; sums are exact integers either way.
    acc.fill(ROUNDING);
    for (let y = 0; y < n; y++) {
      const w = weights[yy * taps + y] as number;
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] = (acc[i] as number) + (data[row + i] as number) * w;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = clip8(acc[i] as number);
  }
  return { width, height: outHeight, data: out };
}

/**
 * PIL's nearest neighbour (ImagingScaleAffine): source positions accumulate the
 * scale step by step from half a step, then truncate; the accumulated rounding
 * decides ties where an output centre falls exactly on a source pixel border.
 */
function resampleNearest(image: RgbImage, width: number, height: number): RgbImage {
  if (width === image.width && height === image.height) return image;
  const columns = nearestPositions(image.width, width);
  const rows = nearestPositions(image.height, height);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const rowStart = (rows[y] as number) * image.width;
    for (let x = 0; x < width; x++) {
      const p = (rowStart + (columns[x] as number)) * 3;
      out.set(image.data.subarray(p, p + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data: out };
}

function nearestPositions(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const positions = new Int32Array(outSize);
  let at = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    positions[i] = Math.min(inSize - 1, Math.trunc(at));
    at += step;
  }
  return positions;
}
