// The image requests both transports serve, checked the same way by the web
// server's /images/... and Electron's app://images/...: a thumbnail of an
// image the open project knows (`<id>?size=N`), the composite of an
// augmented sample (`composite/<id>`) or an image a perturbed generation's
// model saw (`seen/<generationId>/<index>`). A request carries only ids, which
// the service looks up in the open project; never a path.
import { readFile } from 'node:fs/promises';
import { THUMBNAIL_SIZES } from '../../../shared/api';
import { COMPOSITE_SEGMENT, SEEN_SEGMENT } from '../../../shared/pipeline/image-route';
import type { CompositeImage, SeenImageFile, Thumbnail } from '../types';

export type ThumbnailSource = (imageId: number, size: number) => Promise<Thumbnail>;
export type CompositeSource = (augmentedId: number) => Promise<CompositeImage>;
export type SeenSource = (generationId: number, index: number) => Promise<SeenImageFile>;

/** What the image routes read from: the service's lookups by id. */
export interface ImageSources {
  thumbnails: ThumbnailSource;
  composites: CompositeSource;
  seen: SeenSource;
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

export type ImageTarget =
  | { kind: 'thumbnail'; imageId: number; size: number }
  | { kind: 'composite'; augmentedId: number }
  | { kind: 'seen'; generationId: number; index: number };

const SEEN_PARAMS = /^(\d{1,15})\/(\d{1,6})$/;

/** What a path below the images prefix asks for (`<id>`, `composite/<id>` or `seen/<generationId>/<index>`), or a message saying what is wrong. */
export function parseImageTarget(rest: string, sizeText: string | null): ImageTarget | string {
  if (rest.startsWith(SEEN_SEGMENT)) {
    const ids = SEEN_PARAMS.exec(rest.slice(SEEN_SEGMENT.length));
    if (ids === null)
      return `seen images are seen/<generation id>/<index> with non-negative integers, got ${JSON.stringify(rest)}`;
    if (sizeText !== null) return 'seen images are served at full size: size is not accepted';
    return { kind: 'seen', generationId: Number(ids[1]), index: Number(ids[2]) };
  }
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
  const file =
    target.kind === 'thumbnail'
      ? await sources.thumbnails(target.imageId, target.size)
      : target.kind === 'composite'
        ? await sources.composites(target.augmentedId)
        : await sources.seen(target.generationId, target.index);
  return { body: await readFile(file.path), mime: file.mime };
}
