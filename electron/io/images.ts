// Checks one image referenced by a dataset, in place: the path stays inside
// the image root, passes through no symlink, exists, and decodes; then its
// sha256 and size. Failures are problems (values), not exceptions.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { byteString, fromByteString, fsPath, isBytePath, storedPath } from './fs-path';
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

/** How fs calls take the paths of one check: plain strings, or byte strings (./fs-path) given as bytes. */
type ToFs = (p: string) => string | Buffer;

/** Every path component below `root` must be a real file or folder: a symlink could point anywhere. */
async function findSymlink(root: string, abs: string, toFs: ToFs): Promise<string | null> {
  const parts = path.relative(root, abs).split(path.sep);
  let at = root;
  for (const part of parts) {
    at = path.join(at, part);
    const st = await lstat(toFs(at)).catch((e: NodeJS.ErrnoException) =>
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
async function readRegularFile(file: string | Buffer, abs: string): Promise<Buffer> {
  const notRegular = (what: string): Error =>
    new Error(`${abs} is ${what}, not a regular file; only regular files are read`);
  const before = await lstat(file);
  if (!before.isFile()) throw notRegular(kindOf(before));
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
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

/** `abs` is the stored path (./fs-path): a `bytes:` path is checked on its bytes. */
export async function checkImage(root: string, rel: string, abs: string): Promise<ImageCheck> {
  const bytes = isBytePath(abs);
  const toFs: ToFs = bytes ? fromByteString : (p) => p;
  const at = bytes ? byteString(fsPath(abs)) : abs;
  const linkAt = await findSymlink(bytes ? byteString(root) : root, at, toFs);
  const link = linkAt === null ? null : bytes ? storedPath(fromByteString(linkAt)) : linkAt;
  if (link !== null)
    return {
      ok: false,
      problem: {
        reason: 'symlink',
        message: `image "${rel}" goes through the symbolic link ${link}; link targets are not imported`,
        path: rel,
      },
    };
  let data: Buffer;
  try {
    data = await readRegularFile(toFs(at), abs);
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
    const meta = await sharp(data).metadata();
    if (!meta.width || !meta.height) throw new Error('no image dimensions');
    // Decoding (at reduced size) is what finds truncated or corrupt files; the header alone can look fine.
    await sharp(data, { failOn: 'truncated' }).resize(32, 32, { fit: 'inside' }).raw().toBuffer();
    const sha256 = createHash('sha256').update(data).digest('hex');
    return { ok: true, image: { path: abs, sha256, width: meta.width, height: meta.height, bytes: data.length } };
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
