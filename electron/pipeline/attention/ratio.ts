// Attention ratios of MIA-DPO.md, step 4, the reference way: how much of the
// answer's attention (one map per image, averaged over generated tokens and
// heads) lands on the target image. Empty or all-zero maps give NaN, which
// never passes a threshold.

/**
 * Sizes of `parts` near-equal blocks covering `total` rows: the first
 * `total % parts` blocks get one extra row (numpy's `array_split` rule).
 */
export function splitSizes(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  return values.length === 0 ? NaN : s / values.length;
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  return s;
}

/** Sequence: mean(target) / sum of the per-image means; `targetIndex` is 1-based. */
export function sequenceRatio(perImageMean: readonly number[], targetIndex: number): number {
  const target = perImageMean[targetIndex - 1];
  if (target === undefined) throw new RangeError(`target Image${targetIndex} outside ${perImageMean.length} image(s)`);
  return target / perImageMean.reduce((s, v) => s + v, 0);
}

function checkSquare(map: ArrayLike<number>, side: number): void {
  if (map.length !== side * side)
    throw new RangeError(`attention map has ${map.length} values, expected ${side}x${side}`);
}

/**
 * Grid: the collage's single side x side map split into rows x cols blocks,
 * rows and cols inferred from the canvas by integer division by the tile size
 * (the label strips and margins are ignored, as in the reference);
 * sum(target block) / sum(map).
 */
export function gridRatio(
  map: ArrayLike<number>,
  side: number,
  canvas: { width: number; height: number },
  targetIndex: number,
  tileSize = 448,
): number {
  checkSquare(map, side);
  const rows = Math.max(1, Math.floor(canvas.height / tileSize));
  const cols = Math.max(1, Math.floor(canvas.width / tileSize));
  if (targetIndex < 1 || targetIndex > rows * cols)
    throw new RangeError(`target Image${targetIndex} outside a ${rows}x${cols} grid`);
  const rowSizes = splitSizes(side, rows);
  const colSizes = splitSizes(side, cols);
  const r = Math.floor((targetIndex - 1) / cols);
  const c = (targetIndex - 1) % cols;
  const r0 = rowSizes.slice(0, r).reduce((s, v) => s + v, 0);
  const c0 = colSizes.slice(0, c).reduce((s, v) => s + v, 0);
  let block = 0;
  for (let y = r0; y < r0 + (rowSizes[r] as number); y++) {
    for (let x = c0; x < c0 + (colSizes[c] as number); x++) block += map[y * side + x] as number;
  }
  return block / sum(map);
}

/**
 * The centre square of a side x side patch grid: 16x16 of 24x24 by default,
 * scaled to other grids (27x27 -> 18x18 starting at 4).
 */
export function centreSquare(side: number, fraction: number): { start: number; size: number } {
  const size = Math.round(side * fraction);
  return { start: Math.floor((side - size) / 2), size };
}

/** Pic-in-pic: sum of the central square / sum(map). */
export function pipRatio(map: ArrayLike<number>, side: number, fraction = 16 / 24): number {
  checkSquare(map, side);
  const { start, size } = centreSquare(side, fraction);
  let centre = 0;
  for (let y = start; y < start + size; y++) {
    for (let x = start; x < start + size; x++) centre += map[y * side + x] as number;
  }
  return centre / sum(map);
}
