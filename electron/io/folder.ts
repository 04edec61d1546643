// Lists the images of a plain folder in a stable order (sorted, depth-first),
// so an interrupted folder import resumes at the same position. Symbolic
// links are reported, not followed. Names are read as bytes: one that is not
// UTF-8 is kept as its bytes (./fs-path), not turned into U+FFFD and missed.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { byteString, fromByteString, storedPath } from './fs-path';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif']);

export interface FolderItem {
  /** Path relative to the root, with '/' separators: the sample's id (stored form, ./fs-path). */
  rel: string;
  /** Stored form (./fs-path). */
  abs: string;
  symlink: boolean;
}

export async function listFolderImages(root: string): Promise<FolderItem[]> {
  const out: FolderItem[] = [];
  // Byte strings (one char per byte) throughout: sorting and path arithmetic are on the names' bytes.
  const rootBytes = byteString(root);
  async function walk(dir: string): Promise<void> {
    const entries = (await readdir(fromByteString(dir), { withFileTypes: true, encoding: 'buffer' }))
      .map((e) => ({ e, name: byteString(e.name) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const { e, name } of entries) {
      const abs = path.join(dir, name);
      const rel = path.relative(rootBytes, abs).split(path.sep).join('/');
      if (e.isDirectory()) await walk(abs);
      else if (IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()) && (e.isFile() || e.isSymbolicLink())) {
        out.push({
          rel: storedPath(fromByteString(rel)),
          abs: storedPath(fromByteString(abs)),
          symlink: e.isSymbolicLink(),
        });
      }
    }
  }
  await walk(rootBytes);
  return out;
}
