// IXC2.5's visual-token layout after the ViT (CLIPVisionTower.forward in the
// official code): each 560 crop's 40x40 patch features are merged 2x2 into 20x20
// tokens of 4x the ViT width, then one image becomes
//   global view: 20 rows of (20 tokens + 1 sub_GN), then 1 glb_GN,
//   crops: stitched into one (20 rows) x (20 cols) grid, each grid row + 1 sub_GN,
// so (rows*cols + 1) * 400 + 1 + (rows + 1) * 20 tokens. Pure index logic plus a
// Float32Array reference of merge + layout for tests and for the later graph.
// See docs/decisions/0710-ixc-hd-transform.md.

import { AppError } from '../../../shared/errors';

/** Merged tokens per crop side: 560 px / 14 px patches / 2. */
export const HD_MERGED_SIDE = 20;

export interface HdGrid {
  rows: number;
  cols: number;
}

/** A run of tokens, as offsets from the image's first token. */
export interface TokenRun {
  start: number;
  length: number;
}

export interface HdTokenLayout {
  grid: HdGrid;
  /** Merged tokens per crop side (20). */
  side: number;
  /** Tokens of the image, separators included. */
  length: number;
  /** Runs of ViT tokens (global rows, then crop-grid rows), in order; everything else is a separator. */
  content: TokenRun[];
  /** Offsets of the separator tokens (sub_GN after each row, glb_GN after the global view). */
  separators: Int32Array;
  /** Offset of the glb_GN token (between the global view and the crops). */
  glbSeparator: number;
  /** Token offset of the global view's cell (i, j) at `i * side + j`: a side x side map. */
  globalMap: Int32Array;
  /** Token offset of crop-grid cell (i, j) at `i * (side * cols) + j`: a (side*rows) x (side*cols) map. */
  hdMap: Int32Array;
}

/** Tokens one image takes: `(rows * cols + 1) * side^2 + 1 + (rows + 1) * side`. */
export function hdTokenCount(grid: HdGrid, side = HD_MERGED_SIDE): number {
  return (grid.rows * grid.cols + 1) * side * side + 1 + (grid.rows + 1) * side;
}

export function hdTokenLayout(grid: HdGrid, side = HD_MERGED_SIDE): HdTokenLayout {
  assertGrid(grid);
  const content: TokenRun[] = [];
  const separators: number[] = [];
  const globalMap = new Int32Array(side * side);
  let at = 0;
  for (let i = 0; i < side; i++) {
    content.push({ start: at, length: side });
    for (let j = 0; j < side; j++) globalMap[i * side + j] = at + j;
    at += side;
    separators.push(at++);
  }
  const glbSeparator = at;
  separators.push(at++);
  const hdRows = side * grid.rows;
  const hdCols = side * grid.cols;
  const hdMap = new Int32Array(hdRows * hdCols);
  for (let i = 0; i < hdRows; i++) {
    content.push({ start: at, length: hdCols });
    for (let j = 0; j < hdCols; j++) hdMap[i * hdCols + j] = at + j;
    at += hdCols;
    separators.push(at++);
  }
  const length = hdTokenCount(grid, side);
  if (at !== length) throw new AppError('internal', `HD layout walked ${at} tokens, expected ${length}`);
  return { grid, side, length, content, separators: Int32Array.from(separators), glbSeparator, globalMap, hdMap };
}

/**
 * Mean attention over one image's tokens: `whole` over its full span (separators
 * included, what `attention.per_image_mean` reports), `content` over ViT tokens only.
 * `weights[k]` is the attention to sequence position k; the image starts at `start`.
 */
export function hdSpanMeans(
  weights: ArrayLike<number>,
  start: number,
  layout: HdTokenLayout,
): { whole: number; content: number } {
  if (start < 0 || start + layout.length > weights.length)
    throw new AppError('internal', `image span ${start}+${layout.length} exceeds ${weights.length} positions`);
  let contentSum = 0;
  let contentCount = 0;
  for (const run of layout.content) {
    for (let k = 0; k < run.length; k++) contentSum += weights[start + run.start + k] as number;
    contentCount += run.length;
  }
  let separatorSum = 0;
  for (const s of layout.separators) separatorSum += weights[start + s] as number;
  return { whole: (contentSum + separatorSum) / layout.length, content: contentSum / contentCount };
}

/** Geometry of the ViT features `hdMergeLayout` reads. */
export interface HdFeatureShape {
  /** ViT width C (1024); tokens have 4C channels. */
  width: number;
  /** Patches per crop side (40). */
  patchSide: number;
}

/**
 * Merge + layout of one image, as the official forward computes it. `features`:
 * [1 + rows*cols, patchSide^2, C], the global view first then the crops in
 * row-major order (CLS dropped); `glbGN`, `subGN`: [4C]. Returns [length, 4C].
 * Merged token (i, j) holds the patches (2i, 2j), (2i, 2j+1), (2i+1, 2j),
 * (2i+1, 2j+1) as four consecutive C-channel blocks.
 */
export function hdMergeLayout(
  features: Float32Array,
  grid: HdGrid,
  glbGN: Float32Array,
  subGN: Float32Array,
  shape: HdFeatureShape,
): Float32Array {
  const { width: c, patchSide: p } = shape;
  if (p % 2 !== 0) throw new AppError('bad-input', `the ViT patch grid side ${p} is odd, so it cannot be merged 2x2`);
  const side = p / 2;
  const layout = hdTokenLayout(grid, side);
  const crops = grid.rows * grid.cols;
  const perCrop = p * p * c;
  if (features.length !== (crops + 1) * perCrop)
    throw new AppError(
      'internal',
      `ViT features hold ${features.length} values, expected ${(crops + 1) * perCrop} for a ${grid.rows}x${grid.cols} grid`,
    );
  if (glbGN.length !== 4 * c || subGN.length !== 4 * c)
    throw new AppError('internal', `separators must have ${4 * c} values (4 x ViT width ${c})`);
  const d = 4 * c;
  const out = new Float32Array(layout.length * d);
  // Copies the merged token (i, j) of crop `k` (0 = global view) to token `t`.
  const merged = (k: number, i: number, j: number, t: number): void => {
    for (let b = 0; b < 4; b++) {
      const py = 2 * i + (b >> 1);
      const px = 2 * j + (b & 1);
      const from = k * perCrop + (py * p + px) * c;
      out.set(features.subarray(from, from + c), t * d + b * c);
    }
  };
  for (let i = 0; i < side; i++)
    for (let j = 0; j < side; j++) merged(0, i, j, layout.globalMap[i * side + j] as number);
  const hdCols = side * grid.cols;
  for (let i = 0; i < side * grid.rows; i++) {
    for (let j = 0; j < hdCols; j++) {
      const k = 1 + Math.floor(i / side) * grid.cols + Math.floor(j / side);
      merged(k, i % side, j % side, layout.hdMap[i * hdCols + j] as number);
    }
  }
  for (const s of layout.separators) out.set(s === layout.glbSeparator ? glbGN : subGN, s * d);
  return out;
}

/**
 * Several images in one ViT batch (features of each image's global view and crops,
 * image after image), as the official forward walks them: the layouts concatenated,
 * with each image's token count.
 */
export function hdMergeLayoutBatch(
  features: Float32Array,
  grids: readonly HdGrid[],
  glbGN: Float32Array,
  subGN: Float32Array,
  shape: HdFeatureShape,
): { tokens: Float32Array; lengths: number[] } {
  const perCrop = shape.patchSide * shape.patchSide * shape.width;
  const parts: Float32Array[] = [];
  let offset = 0;
  for (const grid of grids) {
    const n = (grid.rows * grid.cols + 1) * perCrop;
    parts.push(hdMergeLayout(features.subarray(offset, offset + n), grid, glbGN, subGN, shape));
    offset += n;
  }
  if (offset !== features.length)
    throw new AppError('internal', `ViT batch holds ${features.length} values, the grids use ${offset}`);
  const tokens = new Float32Array(parts.reduce((s, x) => s + x.length, 0));
  let at = 0;
  for (const part of parts) {
    tokens.set(part, at);
    at += part.length;
  }
  return { tokens, lengths: parts.map((x) => x.length / (4 * shape.width)) };
}

function assertGrid(grid: HdGrid): void {
  if (!Number.isInteger(grid.rows) || !Number.isInteger(grid.cols) || grid.rows < 1 || grid.cols < 1)
    throw new AppError('internal', `HD grid ${grid.rows}x${grid.cols} is not a positive integer grid`);
}
