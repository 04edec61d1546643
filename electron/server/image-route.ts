// GET /images/<imageId>?size=N: the cached thumbnail of an image the open
// project knows; GET /images/composite/<augmentedId>: the grid or pic-in-pic
// composite of an augmented sample; GET /images/seen/<generationId>/<index>: an
// image a perturbed generation's model saw. Never an arbitrary file: the request
// carries only ids, which the service looks up in the open project.
import type { ServerResponse } from 'node:http';
import { toAppError } from '../../shared/errors';
import { loadImage, parseImageTarget, type ImageSources } from '../service/http/image-params';
import { statusOfKind } from '../service/http/status';
import { send, sendJson } from './respond';

export const IMAGES_PREFIX = '/images/';

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
