// The text forms of a thumbnail request (image id and size), checked the same
// way by both routes that serve thumbnails: the web server's /images/<id> and
// Electron's app://images/<id>. Where thumbnails come from is the service's.
import { THUMBNAIL_SIZES } from '../../../shared/api';
import type { Thumbnail } from '../types';

export type ThumbnailSource = (imageId: number, size: number) => Promise<Thumbnail>;

/** Image id and size from their text forms, or a message saying what is wrong. Size defaults to 256. */
export function parseImageParams(idText: string, sizeText: string | null): { imageId: number; size: number } | string {
  if (!/^\d{1,15}$/.test(idText)) return `image id must be a non-negative integer, got ${JSON.stringify(idText)}`;
  const size = Number(sizeText ?? '256');
  if (!(THUMBNAIL_SIZES as readonly number[]).includes(size)) {
    return `size must be one of ${THUMBNAIL_SIZES.join(', ')}, got ${JSON.stringify(sizeText)}`;
  }
  return { imageId: Number(idText), size };
}
