// The content hash of an import source (decision 0202): with the source path it
// tells a deliberate second import of the same data from a new one. A dataset
// file hashes its bytes; a folder hashes its listing (relative names as bytes
// and sizes), since hashing every image would read the whole folder twice.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import type { ImportSource } from '../../shared/api';
import { listFolderImages } from './folder';
import { fsPath } from './fs-path';

/** sha256 of a regular file's bytes; null when it is not a regular file (the import itself reports that). */
async function fileHash(file: string): Promise<string | null> {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then says what it is.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => null);
  if (handle === null) return null;
  try {
    if (!(await handle.stat()).isFile()) return null;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream('', { fd: handle.fd, autoClose: false, start: 0 }))
      hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

async function folderHash(root: string): Promise<string | null> {
  const items = await listFolderImages(root).catch(() => null);
  if (items === null) return null;
  const hash = createHash('sha256');
  for (const item of items) {
    const size = await lstat(fsPath(item.abs)).then(
      (s) => s.size,
      () => -1,
    );
    hash.update(Buffer.from(item.rel)).update(`\0${size}\n`);
  }
  return hash.digest('hex');
}

/** The source's path as a source row records it, and its content hash (null when it cannot be read). */
export async function sourceFingerprint(source: ImportSource): Promise<{ path: string; contentHash: string | null }> {
  if (source.kind === 'llava') {
    const file = path.resolve(source.file);
    return { path: file, contentHash: await fileHash(file) };
  }
  const root = path.resolve(source.root);
  return { path: root, contentHash: await folderHash(root) };
}
