// Pure geometry of the composites (MIA-DPO.md): grid canvas, tile slots, where
// each resized image and its `Image{n}` label go, and the pic-in-pic inset.
// Rendering (render-grid.ts, render-pip.ts) and exact-region attention read it.
import type { Geometry } from '../../../shared/pipeline/settings';
import type { GridTile, Rect } from '../../../shared/pipeline/types';

export interface Size {
  width: number;
  height: number;
}

/** Rows x cols per image count: 2 and 3 in one row, 4 as 2x2, 6 as 2x3, 9 as 3x3. */
export const GRID_LAYOUTS: Readonly<Record<number, { rows: number; cols: number }>> = {
  2: { rows: 1, cols: 2 },
  3: { rows: 1, cols: 3 },
  4: { rows: 2, cols: 2 },
  6: { rows: 2, cols: 3 },
  9: { rows: 3, cols: 3 },
};

export function gridLayout(count: number): { rows: number; cols: number } {
  const layout = GRID_LAYOUTS[count];
  if (!layout)
    throw new RangeError(`no grid layout for ${count} images (allowed: ${Object.keys(GRID_LAYOUTS).join(', ')})`);
  return layout;
}

/** Canvas: cols*tile + (cols-1)*margin wide, rows*(tile + margin) high (a label strip above every row). */
export function gridCanvas(count: number, g: Geometry): Size {
  const { rows, cols } = gridLayout(count);
  return { width: cols * g.tileSize + (cols - 1) * g.margin, height: rows * (g.tileSize + g.margin) };
}

/** Largest size with the image's aspect that fits `box` (at least 1 px per side). */
export function fitInside(image: Size, box: Size): Size {
  const scale = Math.min(box.width / image.width, box.height / image.height);
  return {
    width: Math.max(1, Math.min(box.width, Math.round(image.width * scale))),
    height: Math.max(1, Math.min(box.height, Math.round(image.height * scale))),
  };
}

/** Tiles in reading order (row by row); `images` are the source sizes, one per tile. */
export function gridTiles(images: readonly Size[], g: Geometry): GridTile[] {
  const { cols } = gridLayout(images.length);
  const box = { width: g.tileSize, height: g.tileSize };
  return images.map((image, i) => {
    const row = Math.floor(i / cols);
    const col = i % cols;
    const slot: Rect = {
      x: col * (g.tileSize + g.margin),
      y: row * (g.tileSize + g.margin) + g.margin,
      width: g.tileSize,
      height: g.tileSize,
    };
    const fitted = fitInside(image, box);
    return {
      index: i + 1,
      slot,
      content: { x: slot.x, y: slot.y, ...fitted },
      label: { x: slot.x + g.labelOffsetX, y: slot.y - g.margin },
    };
  });
}

/**
 * Pic-in-pic: the inset scaled to `pipScale` of the host's width or height,
 * whichever keeps it inside with its aspect, centred (offsets rounded down).
 */
export function pipInset(host: Size, inset: Size, g: Pick<Geometry, 'pipScale'>): Rect {
  const box = { width: Math.round(host.width * g.pipScale), height: Math.round(host.height * g.pipScale) };
  const fitted = fitInside(inset, box);
  return {
    x: Math.floor((host.width - fitted.width) / 2),
    y: Math.floor((host.height - fitted.height) / 2),
    ...fitted,
  };
}
