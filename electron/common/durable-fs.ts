// Crash-safe folder writes for exports and checkpoints: a folder is built
// under a temporary name beside its destination, every file and the folder
// itself fsynced, then renamed into place and the parent fsynced, so a reader
// sees either no folder or a complete one, even after a power cut.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Flushes a file's data and metadata to the disk. */
export async function fsyncFile(file: string): Promise<void> {
  const h = await open(file, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Flushes a folder's entries (new names, renames) to the disk; a no-op where folders cannot be opened (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let h;
  try {
    h = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await h.sync();
  } catch (e) {
    // EISDIR / EPERM / EINVAL: the platform does not sync folders.
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await h.close();
  }
}

/** Every regular file directly in `dir`, then `dir` itself, fsynced. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isFile()) await fsyncFile(path.join(dir, e.name));
  await fsyncDir(dir);
}

/** A fresh temporary name beside `dest`: `<parent>/.<base>.tmp-<pid>-<random>` (hidden, so listings skip it). */
export function tempSibling(dest: string): string {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${tag}`);
}

/** Writes one file so that a reader sees the old content or the new, never a part: a synced temporary sibling, renamed. */
export async function writeFileAtomic(dest: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempSibling(dest);
  try {
    await writeFile(tmp, data);
    await fsyncFile(tmp);
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(path.dirname(dest));
}

/** Whether a name is one tempSibling made (a leftover of an interrupted write). */
export const isTempName = (name: string): boolean => /^\..+\.tmp-\d+-[0-9a-f]{8}$/.test(name);

/**
 * Makes the complete folder `tmp` appear as `dest`: fsyncs its files, renames
 * it, fsyncs the parent. An existing `dest` is first moved aside (to another
 * temporary name) and removed after, so `dest` never holds a mix of both.
 */
export async function commitDir(tmp: string, dest: string): Promise<void> {
  await fsyncTree(tmp);
  let old: string | null = null;
  if (existsSync(dest)) {
    old = tempSibling(dest);
    await rename(dest, old);
  }
  await rename(tmp, dest);
  await fsyncDir(path.dirname(dest));
  if (old) await rm(old, { recursive: true, force: true });
}

/** Whether `dir` is missing or an empty folder. */
export async function isMissingOrEmpty(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return true;
  return (await stat(dir)).isDirectory() && (await readdir(dir)).length === 0;
}
