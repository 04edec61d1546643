// Which files the packaged app keeps. The Vite plugin bundles main and preload
// into .vite/, but native addons (better-sqlite3, sharp, onnxruntime-node) stay
// external, so their node_modules folders and their dependency closure ship too.
// better-sqlite3 ships its Electron build only (docs/decisions/0210).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../shared/errors';
import { ELECTRON_SQLITE_BINDING } from '../electron/store/native-binding';

/** better-sqlite3's own build folder: the plain-Node addon (plus objects), useless in Electron. */
const NODE_SQLITE_BUILD = '/node_modules/better-sqlite3/build';

/** Modules main.js leaves unbundled: they load .node binaries at run time. */
export const NATIVE_MODULES = ['better-sqlite3', 'sharp', 'onnxruntime-node'] as const;

function packageDir(root: string, name: string): string {
  return path.join(root, 'node_modules', ...name.split('/'));
}

/** The named modules plus every runtime dependency they pull in (hoisted layout). */
export function dependencyClosure(root: string, names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.pop()!;
    const manifest = path.join(packageDir(root, name), 'package.json');
    if (seen.has(name) || !existsSync(manifest)) continue;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    queue.push(...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}));
  }
  return seen;
}

/**
 * An @electron/packager ignore function: keeps package.json, the Vite output
 * and the native modules' closure; drops everything else (sources, tests, dev tools).
 */
export function packagedFilesFilter(root: string): (file: string) => boolean {
  const keep = [...dependencyClosure(root, NATIVE_MODULES)].map((name) => `/node_modules/${name}`);
  return (file: string) => {
    if (file === '' || file === '/package.json') return false;
    if (file === '/.vite' || file.startsWith('/.vite/')) return false;
    if (file === '/node_modules') return false;
    if (file === NODE_SQLITE_BUILD || file.startsWith(NODE_SQLITE_BUILD + '/')) return true;
    const isKept = keep.some((k) => file === k || file.startsWith(k + '/'));
    // Parent scope folders (e.g. /node_modules/@img) must be kept for their children.
    const isScopeOfKept = keep.some((k) => k.startsWith(file + '/'));
    return !(isKept || isScopeOfKept);
  };
}

/**
 * Puts the Electron build of better-sqlite3 into the app folder being packaged
 * (a Forge packageAfterPrune hook: after pruning, which would drop a folder that
 * is no dependency). Throws when scripts/electron-rebuild.mjs has not built it.
 */
export function copyElectronSqliteBinding(root: string, buildPath: string): void {
  const source = path.join(root, ELECTRON_SQLITE_BINDING);
  if (!existsSync(source)) {
    throw new AppError(
      'not-found',
      `${source} is missing: run \`node scripts/electron-rebuild.mjs\` (npm run make does) before packaging`,
      {
        subject: source,
      },
    );
  }
  const target = path.join(buildPath, ELECTRON_SQLITE_BINDING);
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(source, target);
}
