// Resolves and reads files of the built renderer for the local web mode
// (and the Electron app:// protocol): only files under the renderer folder,
// with a MIME type from a closed list; unknown paths fall back to index.html.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
};

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** The absolute file a URL path maps to, or undefined when it would leave `root`. */
export function resolveUnder(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const base = path.resolve(root);
  const target = path.resolve(base, '.' + path.posix.normalize('/' + decoded));
  return target === base || target.startsWith(base + path.sep) ? target : undefined;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The file for `urlPath` under `root`; paths without an extension are app
 * routes and get index.html; undefined for anything else that is missing.
 */
export async function readStatic(root: string, urlPath: string): Promise<StaticFile | undefined> {
  const wanted = urlPath === '/' ? '/index.html' : urlPath;
  const resolved = resolveUnder(root, wanted);
  if (resolved === undefined) return undefined;
  const ext = path.extname(resolved).toLowerCase();
  let file = resolved;
  if (!(await isFile(file))) {
    if (ext !== '') return undefined;
    file = path.join(path.resolve(root), 'index.html');
    if (!(await isFile(file))) return undefined;
  }
  const type = MIME[path.extname(file).toLowerCase()];
  if (type === undefined) return undefined;
  return { body: await readFile(file), contentType: type };
}
