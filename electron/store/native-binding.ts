// Which better-sqlite3 addon the store loads (docs/decisions/0210): the package's
// own in plain Node, the copy built for Electron's ABI inside Electron. The
// packaging code in build/ reads ELECTRON_SQLITE_BINDING from here to ship it.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';

/**
 * Where better-sqlite3's addon built for Electron's ABI lives, relative to the app
 * root, in the checkout (written by scripts/electron-rebuild.mjs) and in the packaged
 * app alike; the store loads it from there when it runs inside Electron.
 */
export const ELECTRON_SQLITE_BINDING = path.join('node_modules', '.mia-dpo-electron', 'better_sqlite3.node');

/**
 * better-sqlite3's `nativeBinding` for this runtime (docs/decisions/0210): none in plain
 * Node, whose addon is the package's own build; inside Electron, the copy built for
 * Electron's ABI under the app root, the nearest folder above `fromDir` with a
 * package.json (the checkout, or app.asar once packaged).
 */
export function sqliteNativeBinding(
  versions: Readonly<Record<string, string | undefined>>,
  fromDir: string,
  exists: (file: string) => boolean = existsSync,
): string | undefined {
  if (versions.electron === undefined) return undefined;
  let dir = path.resolve(fromDir);
  while (!exists(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new AppError(
        'internal',
        `no package.json above ${fromDir}: cannot locate the app's better-sqlite3 build for Electron`,
        { subject: fromDir },
      );
    dir = parent;
  }
  const binding = path.join(dir, ELECTRON_SQLITE_BINDING);
  if (!exists(binding)) {
    throw new AppError(
      'not-found',
      `${binding} is missing: better-sqlite3 has no build for Electron yet; run \`node scripts/electron-rebuild.mjs\` (npm start does)`,
      {
        subject: binding,
      },
    );
  }
  return binding;
}
