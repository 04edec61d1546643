// Content-addressed files in the project cache: a composite is stored under
// the sha256 of its bytes, written atomically so a crash never leaves half a PNG.
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes `bytes` to `<dir>/<sha256>.<ext>` unless it is already there; returns path and hash. */
export async function writeContentAddressed(
  dir: string,
  bytes: Uint8Array,
  ext: string,
): Promise<{ path: string; sha256: string }> {
  const hash = sha256(bytes);
  const file = path.join(dir, `${hash}.${ext}`);
  const exists = await stat(file).then(
    (s) => s.size === bytes.length,
    () => false,
  );
  if (!exists) {
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  }
  return { path: file, sha256: hash };
}
