// GET /images/<imageId>?size=N: the cached thumbnail of an image the open
// project knows, never an arbitrary file: the id goes to the service, which
// looks it up in the project and returns its thumbnail under cache/.
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { toAppError } from '../../shared/errors';
import { parseImageParams, type ThumbnailSource } from '../service/http/image-params';
import { statusOfKind } from '../service/http/status';
import { send, sendJson } from './respond';

export const IMAGES_PREFIX = '/images/';

/** The image id and size a request asks for, or a message saying what is wrong. */
export function parseImageRequest(url: URL): { imageId: number; size: number } | string {
  return parseImageParams(url.pathname.slice(IMAGES_PREFIX.length), url.searchParams.get('size'));
}

export async function handleImage(res: ServerResponse, url: URL, thumbnails: ThumbnailSource): Promise<void> {
  const wanted = parseImageRequest(url);
  if (typeof wanted === 'string') {
    sendJson(res, 400, { kind: 'bad-input', message: wanted });
    return;
  }
  try {
    const thumb = await thumbnails(wanted.imageId, wanted.size);
    // Ids are per project and a project can be closed and another opened: no caching.
    send(res, 200, await readFile(thumb.path), { 'Content-Type': thumb.mime });
  } catch (e) {
    const error = toAppError(e).toJSON();
    sendJson(res, statusOfKind(error.kind), error);
  }
}
