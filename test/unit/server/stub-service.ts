// A minimal service for the transport tests: it answers project.info and
// samples.page, refuses everything else, serves one known thumbnail and one
// known composite and one known seen (perturbed) image, and lets the test emit events. The real service is exercised by test/e2e.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CHANNELS, type ApiEvent, type ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import type { ServedService } from '../../../electron/server';

export const KNOWN_IMAGE_ID = 7;
export const KNOWN_COMPOSITE_ID = 12;
/** Generation id and index of the one seen image. */
export const KNOWN_SEEN = { generationId: 21, index: 1 };
export const PNG_1x1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);

export function stubService(dir: string): ServedService & { emit(e: ApiEvent): void; calls: string[] } {
  const thumbPath = path.join(dir, 'thumb.png');
  writeFileSync(thumbPath, PNG_1x1);
  const compositePath = path.join(dir, 'composite.png');
  writeFileSync(compositePath, PNG_1x1);
  const listeners = new Set<(e: ApiEvent) => void>();
  const calls: string[] = [];
  const refuse = (channel: string) => async () => {
    calls.push(channel);
    throw new AppError('conflict', `${channel} is not part of this stub`);
  };
  const handlers = Object.fromEntries(CHANNELS.map((c) => [c, refuse(c)])) as unknown as ApiHandlers;
  handlers['project.info'] = async () => {
    calls.push('project.info');
    return { project: null };
  };
  handlers['samples.page'] = async (r) => {
    calls.push(`samples.page ${r.offset} ${r.limit}`);
    return { total: 0, items: [] };
  };
  return {
    handlers,
    calls,
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(e) {
      for (const l of listeners) l(e);
    },
    async getThumbnail(imageId, size) {
      if (imageId !== KNOWN_IMAGE_ID) throw new AppError('not-found', `image ${imageId} is not in the project`);
      if (size !== 256) throw new AppError('bad-input', `size ${size}`);
      return { path: thumbPath, mime: 'image/png' };
    },
    async getComposite(augmentedId) {
      if (augmentedId !== KNOWN_COMPOSITE_ID)
        throw new AppError('not-found', `augmented sample ${augmentedId} has no composite`);
      return { path: compositePath, mime: 'image/png' };
    },
    async getSeen(generationId, index) {
      if (generationId !== KNOWN_SEEN.generationId || index !== KNOWN_SEEN.index)
        throw new AppError('not-found', `generation ${generationId} has no seen image ${index}`);
      return { path: compositePath, mime: 'image/png' };
    },
  };
}
