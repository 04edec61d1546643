// Exact-region attention: the reference grid split ignores label strips,
// margins and the model's preprocessing. Here a pixel rectangle of the
// composite is carried through the preprocessing (resize shortest edge +
// centre crop, or pad to square + resize, or IXC2.5's global view) onto the patch grid, and each patch
// is weighted by the fraction of it the rectangle covers.
import type { Rect } from '../../../shared/pipeline/types';

export type Preprocessing =
  | {
      /** `crop`: CLIPImageProcessor (shortest edge + centre crop); `pad`: LLaVA-1.5 expand-to-square. */
      mode: 'crop' | 'pad';
      /** Model input side in pixels (336 for LLaVA-1.5). */
      size: number;
    }
  | {
      /** IXC2.5's global view: the image scaled by `scale` per axis, its top-left at the view's (the rest padding). */
      mode: 'hd';
      /** The view's side in pixels (560). */
      size: number;
      scale: { x: number; y: number };
    };

/** Affine map x' = x * sx - ox (same for y) from canvas pixels to model-input pixels. */
function transform(
  canvas: { width: number; height: number },
  pre: Preprocessing,
): { sx: number; sy: number; ox: number; oy: number } {
  const { width: w, height: h } = canvas;
  if (pre.mode === 'hd') return { sx: pre.scale.x, sy: pre.scale.y, ox: 0, oy: 0 };
  if (pre.mode === 'pad') {
    const side = Math.max(w, h);
    const s = pre.size / side;
    return { sx: s, sy: s, ox: -Math.floor((side - w) / 2) * s, oy: -Math.floor((side - h) / 2) * s };
  }
  // transformers: the short edge becomes `size`, the long one int(size * long / short); crop offsets floor.
  const rw = w <= h ? pre.size : Math.floor((pre.size * w) / h);
  const rh = h <= w ? pre.size : Math.floor((pre.size * h) / w);
  return { sx: rw / w, sy: rh / h, ox: Math.floor((rw - pre.size) / 2), oy: Math.floor((rh - pre.size) / 2) };
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** Coverage fraction (0-1) of each patch of the side x side grid, row-major. */
export function regionWeights(
  canvas: { width: number; height: number },
  rect: Rect,
  pre: Preprocessing,
  side: number,
): Float64Array {
  const t = transform(canvas, pre);
  const x0 = rect.x * t.sx - t.ox;
  const x1 = (rect.x + rect.width) * t.sx - t.ox;
  const y0 = rect.y * t.sy - t.oy;
  const y1 = (rect.y + rect.height) * t.sy - t.oy;
  const patch = pre.size / side;
  const weights = new Float64Array(side * side);
  for (let i = 0; i < side; i++) {
    const oy = overlap(y0, y1, i * patch, (i + 1) * patch);
    if (oy === 0) continue;
    for (let j = 0; j < side; j++)
      weights[i * side + j] = (oy * overlap(x0, x1, j * patch, (j + 1) * patch)) / (patch * patch);
  }
  return weights;
}

/** sum(weights * map) / sum(map) for the target's rectangle. */
export function exactRatio(
  map: ArrayLike<number>,
  side: number,
  canvas: { width: number; height: number },
  rect: Rect,
  pre: Preprocessing,
): number {
  if (map.length !== side * side)
    throw new RangeError(`attention map has ${map.length} values, expected ${side}x${side}`);
  const w = regionWeights(canvas, rect, pre, side);
  let inside = 0;
  let total = 0;
  for (let i = 0; i < map.length; i++) {
    inside += (w[i] as number) * (map[i] as number);
    total += map[i] as number;
  }
  return inside / total;
}
