// The built UI for the local web mode. From a source checkout (`npx mia-dpo
// serve` right after `npm ci`, the demo, the browser tests) renderer/dist is
// built on first use, and rebuilt when renderer/ or shared/ changed since.
// An installed copy ships renderer/dist and needs nothing.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as Vite from 'vite';
import { AppError } from '../../shared/errors';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
export const DEFAULT_RENDERER_DIR = path.join(REPO_ROOT, 'renderer', 'dist');
const RENDERER_SOURCES = path.join(REPO_ROOT, 'renderer', 'src');

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(p)) {
    if (name !== 'dist' && name !== 'node_modules') newest = Math.max(newest, newestMtime(path.join(p, name)));
  }
  return newest;
}

/** True when renderer/dist is missing, or older than the sources it is built from. */
export function rendererIsStale(): boolean {
  const built = path.join(DEFAULT_RENDERER_DIR, 'index.html');
  if (!existsSync(built)) return true;
  if (!existsSync(RENDERER_SOURCES)) return false;
  const sources = Math.max(newestMtime(path.join(REPO_ROOT, 'renderer')), newestMtime(path.join(REPO_ROOT, 'shared')));
  return sources > statSync(built).mtimeMs;
}

/** Builds renderer/dist with Vite's build() API when it is stale (about 10 s, once). */
export async function ensureRendererBuilt(log: (line: string) => void = () => undefined): Promise<void> {
  if (!rendererIsStale()) return;
  if (!existsSync(RENDERER_SOURCES)) {
    throw new AppError(
      'not-found',
      `the UI is not built and its sources are missing: ${DEFAULT_RENDERER_DIR} has no index.html`,
    );
  }
  let vite: typeof Vite;
  try {
    vite = await import('vite');
  } catch (e) {
    throw new AppError(
      'not-found',
      `the UI in ${DEFAULT_RENDERER_DIR} must be built, and Vite is not installed: run npm ci, then npm run build:renderer`,
      { cause: e },
    );
  }
  log('building the UI (once)...');
  await vite.build({ configFile: path.join(REPO_ROOT, 'renderer', 'vite.config.ts'), logLevel: 'error' });
}
