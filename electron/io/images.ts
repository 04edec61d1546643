// Checks one image referenced by a dataset, in place: the path stays inside
// the image root, passes through no symlink, exists, and decodes; then its
// sha256 and size. Failures are problems (values), not exceptions.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { StagedImage, StagedProblem } from './import-queries';

/** Larger files are not read: no dataset image is this big, and a runaway file must not fill memory. */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;

export type ImageCheck = { ok: true; image: StagedImage } | { ok: false; problem: StagedProblem };

/** The absolute path of `rel` under `root`, or a 'path-escape' problem. */
export function resolveInRoot(
  root: string,
  rel: string,
): { ok: true; path: string } | { ok: false; problem: StagedProblem } {
  const abs = path.resolve(root, rel);
  const inside = path.relative(root, abs);
  if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
    return {
      ok: false,
      problem: {
        reason: 'path-escape',
        message: `image "${rel}" resolves to ${abs}, outside the image root ${root}`,
        path: rel,
      },
    };
  }
  return { ok: true, path: abs };
}

/** Every path component below `root` must be a real file or folder: a symlink could point anywhere. */
async function findSymlink(root: string, abs: string): Promise<string | null> {
  const parts = path.relative(root, abs).split(path.sep);
  let at = root;
  for (const part of parts) {
    at = path.join(at, part);
    const st = await lstat(at).catch((e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' || e.code === 'ENOTDIR' ? null : Promise.reject(e),
    );
    if (st === null) return null;
    if (st.isSymbolicLink()) return at;
  }
  return null;
}

/**
 * The bytes of a regular file of at most MAX_IMAGE_BYTES. A FIFO would block the
 * read forever and a device like /dev/zero never ends: lstat refuses them before
 * opening, O_NONBLOCK keeps the open itself from waiting on a FIFO swapped in
 * meanwhile, and fstat checks what was actually opened.
 */
async function readRegularFile(abs: string): Promise<Buffer> {
  const notRegular = (what: string): Error =>
    new Error(`${abs} is ${what}, not a regular file; only regular files are read`);
  const before = await lstat(abs);
  if (!before.isFile()) throw notRegular(kindOf(before));
  const fh = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(kindOf(st));
    if (st.size > MAX_IMAGE_BYTES)
      throw new Error(`${abs} is ${st.size} bytes, over the ${MAX_IMAGE_BYTES}-byte limit for an image`);
    // One byte more than the size: a file growing while read is noticed, not read without end.
    const buffer = Buffer.alloc(st.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > st.size) throw new Error(`${abs} grew while it was read`);
    }
    return buffer.subarray(0, length);
  } finally {
    await fh.close();
  }
}

function kindOf(st: {
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isDirectory(): boolean;
}): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'a special file';
}

export async function checkImage(root: string, rel: string, abs: string): Promise<ImageCheck> {
  const link = await findSymlink(root, abs);
  if (link !== null)
    return {
      ok: false,
      problem: {
        reason: 'symlink',
        message: `image "${rel}" goes through the symbolic link ${link}; link targets are not imported`,
        path: rel,
      },
    };
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      return {
        ok: false,
        problem: { reason: 'missing-image', message: `image "${rel}" not found at ${abs}`, path: rel },
      };
    return {
      ok: false,
      problem: {
        reason: 'unreadable-image',
        message: `image "${rel}" cannot be read: ${(e as Error).message}`,
        path: rel,
      },
    };
  }
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('no image dimensions');
    // Decoding (at reduced size) is what finds truncated or corrupt files; the header alone can look fine.
    await sharp(bytes, { failOn: 'truncated' }).resize(32, 32, { fit: 'inside' }).raw().toBuffer();
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { ok: true, image: { path: abs, sha256, width: meta.width, height: meta.height, bytes: bytes.length } };
  } catch (e) {
    return {
      ok: false,
      problem: {
        reason: 'unreadable-image',
        message: `image "${rel}" is not a readable image: ${(e as Error).message}`,
        path: rel,
      },
    };
  }
}
