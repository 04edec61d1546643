// Thumbnails for the grid and detail views: made once by sharp, cached on disk
// under the project's cache/thumbs/<size>/ by content hash, so a moved or
// renamed image with the same bytes reuses its thumbnail.
import { mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Image } from '../../shared/api';
import { AppError } from '../../shared/errors';
import { imageInput } from './fs-path';

export async function makeThumbnail(
  image: Pick<Image, 'path' | 'sha256'>,
  size: number,
  cacheDir: string,
): Promise<{ path: string; mime: 'image/jpeg' }> {
  const dir = path.join(cacheDir, 'thumbs', String(size));
  const file = path.join(dir, `${image.sha256}.jpg`);
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    return { path: file, mime: 'image/jpeg' };
  await mkdir(dir, { recursive: true });
  // Write beside and rename: a reader never sees a half-written thumbnail.
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await sharp(await imageInput(image.path))
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 82 })
      .toFile(tmp);
  } catch (e) {
    throw new AppError('bad-file', `cannot make a thumbnail of ${image.path}: ${(e as Error).message}`, {
      subject: image.path,
      cause: e,
    });
  }
  await rename(tmp, file);
  return { path: file, mime: 'image/jpeg' };
}
