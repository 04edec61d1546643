// GET /images/<imageId>?size=N: the cached thumbnail of an image the open
// project knows; GET /images/composite/<augmentedId>: the grid or pic-in-pic
// composite of an augmented sample. Never an arbitrary file: the request
// carries only an id, which the service looks up in the open project.
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { THUMBNAIL_SIZES } from '../../shared/api';
import { toAppError } from '../../shared/errors';
import { COMPOSITE_SEGMENT } from '../../shared/pipeline/image-route';
import type { CompositeImage, Thumbnail } from '../service/types';
import { send, sendJson, statusOfKind } from './respond';

export const IMAGES_PREFIX = '/images/';

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

export async function handleImage(res: ServerResponse, url: URL, sources: ImageSources): Promise<void> {
  const target = parseImageTarget(url.pathname.slice(IMAGES_PREFIX.length), url.searchParams.get('size'));
  if (typeof target === 'string') {
    sendJson(res, 400, { kind: 'bad-input', message: target });
    return;
  }
  try {
    const image = await loadImage(target, sources);
    // Ids are per project and a project can be closed and another opened: no caching.
    send(res, 200, image.body, { 'Content-Type': image.mime });
  } catch (e) {
    const error = toAppError(e).toJSON();
    sendJson(res, statusOfKind(error.kind), error);
  }
}
