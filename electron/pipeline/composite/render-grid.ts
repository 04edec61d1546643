// Grid collages (MIA-DPO.md): each image resized to fit a 448x448 slot
// (LANCZOS, aspect kept, top-left on white), `Image{n}` labels in the margin
// above, PNG into the project cache with its provenance. Byte-identical per input.
import sharp from 'sharp';
import type { Geometry } from '../../../shared/pipeline/settings';
import type { CompositeProvenance, GridTile } from '../../../shared/pipeline/types';
import { writeContentAddressed } from './cache-file';
import { gridCanvas, gridTiles } from './geometry';
import { blendLabel, renderLabel } from './label';
import type { RawImage } from './load-image';
import { imageSize, loadResized } from './load-image';

export interface CompositeImage {
  /** Id recorded in the provenance (content hash or project image id). */
  id: string;
  file: string;
}

export interface CompositeRequest {
  sourceSampleId: string;
  images: readonly CompositeImage[];
  /** 1-based. */
  targetIndex: number;
}

export interface RenderedComposite {
  png: Buffer;
  /** The same image as raw RGB, for perturbation before generation. */
  pixels: Buffer;
  tiles: GridTile[];
  width: number;
  height: number;
}

/** Fixed PNG settings: part of what makes output byte-identical across runs. */
export const PNG_OPTIONS = { compressionLevel: 6, adaptiveFiltering: false, palette: false } as const;

/** Copies an RGB image into an RGB canvas at (left, top); the caller keeps it inside. */
function paste(canvas: Buffer, canvasWidth: number, image: RawImage, left: number, top: number): void {
  const rowBytes = image.width * 3;
  for (let y = 0; y < image.height; y++)
    image.data.copy(canvas, ((top + y) * canvasWidth + left) * 3, y * rowBytes, (y + 1) * rowBytes);
}

export async function composeGrid(
  images: readonly CompositeImage[],
  g: Geometry,
  fontFile?: string,
): Promise<RenderedComposite> {
  const sizes = await Promise.all(images.map((im) => imageSize(im.file)));
  const tiles = gridTiles(sizes, g);
  const canvas = gridCanvas(images.length, g);
  const pixels = Buffer.alloc(canvas.width * canvas.height * 3, 255);
  for (const [i, tile] of tiles.entries()) {
    paste(
      pixels,
      canvas.width,
      await loadResized((images[i] as CompositeImage).file, tile.content),
      tile.content.x,
      tile.content.y,
    );
  }
  for (const tile of tiles) {
    blendLabel(
      pixels,
      canvas.width,
      renderLabel(`${g.labelPrefix}${tile.index}`, g.labelFontPx, fontFile),
      tile.label.x,
      tile.label.y,
    );
  }
  const png = await sharp(pixels, { raw: { ...canvas, channels: 3 } })
    .png(PNG_OPTIONS)
    .toBuffer();
  return { png, pixels, tiles, ...canvas };
}

/** Renders the collage into `cacheDir` (content-addressed) and describes it. */
export async function renderGrid(
  req: CompositeRequest,
  g: Geometry,
  cacheDir: string,
  fontFile?: string,
): Promise<{ path: string; provenance: CompositeProvenance }> {
  const composite = await composeGrid(req.images, g, fontFile);
  const written = await writeContentAddressed(cacheDir, composite.png, 'png');
  return {
    path: written.path,
    provenance: {
      kind: 'grid',
      sourceSampleId: req.sourceSampleId,
      images: req.images.map((im) => im.id),
      targetIndex: req.targetIndex,
      canvas: { width: composite.width, height: composite.height },
      tiles: composite.tiles.map((t) => t.content),
      sha256: written.sha256,
    },
  };
}
