// The image requests both transports serve, checked the same way by the web
// server's /images/... and Electron's app://images/...: a thumbnail of an
// image the open project knows (`<id>?size=N`) or the composite of an
// augmented sample (`composite/<id>`). A request carries only an id, which the
// service looks up in the open project; never a path.
import { readFile } from 'node:fs/promises';
import { THUMBNAIL_SIZES } from '../../../shared/api';
import { COMPOSITE_SEGMENT } from '../../../shared/pipeline/image-route';
import type { CompositeImage, Thumbnail } from '../types';

export type ThumbnailSource = (imageId: number, size: number) => Promise<Thumbnail>;
export type CompositeSource = (augmentedId: number) => Promise<CompositeImage>;

/** What the image routes read from: the service's lookups by id. */
export interface ImageSources {
  thumbnails: ThumbnailSource;
  composites: CompositeSource;
}

const ID = /^\d{1,15}$/;

/** Image id and size from their text forms, or a message saying what is wrong. Size defaults to 256. */
export function parseImageParams(idText: string, sizeText: string | null): { imageId: number; size: number } | string {
  if (!ID.test(idText)) return `image id must be a non-negative integer, got ${JSON.stringify(idText)}`;
  const size = Number(sizeText ?? '256');
  if (!(THUMBNAIL_SIZES as readonly number[]).includes(size)) {
    return `size must be one of ${THUMBNAIL_SIZES.join(', ')}, got ${JSON.stringify(sizeText)}`;
  }
  return { imageId: Number(idText), size };
}

export type ImageTarget = { kind: 'thumbnail'; imageId: number; size: number } | { kind: 'composite'; augmentedId: number };

/** What a path below the images prefix asks for (`<id>` or `composite/<id>`), or a message saying what is wrong. */
export function parseImageTarget(rest: string, sizeText: string | null): ImageTarget | string {
  if (rest.startsWith(COMPOSITE_SEGMENT)) {
    const idText = rest.slice(COMPOSITE_SEGMENT.length);
    if (!ID.test(idText)) return `composite id must be a non-negative integer, got ${JSON.stringify(idText)}`;
    if (sizeText !== null) return 'composites are served at full size: size is not accepted';
    return { kind: 'composite', augmentedId: Number(idText) };
  }
  const thumb = parseImageParams(rest, sizeText);
  return typeof thumb === 'string' ? thumb : { kind: 'thumbnail', ...thumb };
}

/** The file of a target, looked up by id. Throws the service's AppError (not-found, bad-input). */
export async function loadImage(target: ImageTarget, sources: ImageSources): Promise<{ body: Buffer; mime: string }> {
  const file = target.kind === 'thumbnail' ? await sources.thumbnails(target.imageId, target.size) : await sources.composites(target.augmentedId);
  return { body: await readFile(file.path), mime: file.mime };
}
