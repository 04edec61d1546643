// Lists the images of a plain folder in a stable order (sorted, depth-first),
// so an interrupted folder import resumes at the same position. Symbolic
// links are reported, not followed.
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.avif']);

export interface FolderItem {
  /** Path relative to the root, with '/' separators: the sample's id. */
  rel: string;
  abs: string;
  symlink: boolean;
}

export async function listFolderImages(root: string): Promise<FolderItem[]> {
  const out: FolderItem[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (e.isDirectory()) await walk(abs);
      else if (IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()) && (e.isFile() || e.isSymbolicLink())) {
        out.push({ rel, abs, symlink: e.isSymbolicLink() });
      }
    }
  }
  await walk(root);
  return out;
}
