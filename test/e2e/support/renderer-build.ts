// Builds the renderer for the browser tests with Vite's build() API, but only
// when renderer/dist is older than its sources (renderer/ and shared/), so a
// second run starts at once.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'vite';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const RENDERER_DIST = path.join(REPO_ROOT, 'renderer', 'dist');

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(p)) {
    if (name === 'dist' || name === 'node_modules') continue;
    newest = Math.max(newest, newestMtime(path.join(p, name)));
  }
  return newest;
}

export function rendererIsStale(): boolean {
  const built = path.join(RENDERER_DIST, 'index.html');
  if (!existsSync(built)) return true;
  const sources = Math.max(newestMtime(path.join(REPO_ROOT, 'renderer')), newestMtime(path.join(REPO_ROOT, 'shared')));
  return sources > statSync(built).mtimeMs;
}

export async function ensureRendererBuilt(): Promise<void> {
  if (!rendererIsStale()) return;
  await build({ configFile: path.join(REPO_ROOT, 'renderer', 'vite.config.ts'), logLevel: 'error' });
}
