#!/usr/bin/env node
// Prepares this checkout to run inside Electron (`npm start`, `npm run make`),
// on the user's machine and never in postinstall (CI and the tests run plain
// Node): downloads the Electron binary when it is missing, and builds a second
// copy of better-sqlite3's addon for Electron's ABI next to, never over, the
// Node build, so `npm test` and the CLI keep working (docs/decisions/0210).
// sharp and onnxruntime-node use Node-API, whose binaries load in Electron unchanged.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');
const sqliteDir = path.join(root, 'node_modules', 'better-sqlite3');
// Must match ELECTRON_SQLITE_BINDING in electron/store/native-binding.ts: the store loads it from there in Electron.
const scratch = path.join(root, 'node_modules', '.mia-dpo-electron');
const binding = path.join(scratch, 'better_sqlite3.node');
const stampFile = path.join(scratch, 'built-for.txt');

function fail(message) {
  process.stderr.write(`electron-rebuild: ${message}\n`);
  process.exit(1);
}

function versionOf(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
}

function ensureElectronBinary() {
  // electron/install.js writes path.txt once the binary is unpacked.
  if (existsSync(path.join(electronDir, 'path.txt'))) return;
  process.stdout.write('Downloading the Electron binary (once)...\n');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const r = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { stdio: 'inherit', env });
  if (r.status !== 0 || !existsSync(path.join(electronDir, 'path.txt'))) {
    fail(
      'could not download the Electron binary (it needs the network once; behind a proxy set HTTPS_PROXY or ELECTRON_MIRROR)',
    );
  }
}

/**
 * Rebuilds a copy of better-sqlite3 inside a scratch project (package.json +
 * node_modules/better-sqlite3, without the Node build/), keeps only the addon
 * and a stamp of what it was built for, so a new Electron or better-sqlite3 rebuilds it.
 */
async function buildElectronBinding() {
  const electronVersion = versionOf(electronDir);
  const builtFor = `electron ${electronVersion}, better-sqlite3 ${versionOf(sqliteDir)}`;
  if (existsSync(binding) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === builtFor) return;
  process.stdout.write(
    `Building better-sqlite3 for Electron ${electronVersion} in ${path.relative(root, scratch)}...\n`,
  );
  rmSync(scratch, { recursive: true, force: true });
  const copy = path.join(scratch, 'node_modules', 'better-sqlite3');
  cpSync(sqliteDir, copy, { recursive: true, filter: (src) => src !== path.join(sqliteDir, 'build') });
  const manifest = {
    name: 'mia-dpo-electron-native',
    private: true,
    dependencies: { 'better-sqlite3': versionOf(sqliteDir) },
  };
  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify(manifest, null, 2));
  const { rebuild } = require('@electron/rebuild');
  try {
    // projectRootPath stops @electron/rebuild from walking up into the checkout's own node_modules.
    await rebuild({
      buildPath: scratch,
      projectRootPath: scratch,
      electronVersion,
      onlyModules: ['better-sqlite3'],
      force: true,
    });
  } catch (e) {
    fail(
      `building better-sqlite3 for Electron failed: ${e instanceof Error ? e.message : String(e)} (a C++ toolchain and Python are needed)`,
    );
  }
  const built = path.join(copy, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(built)) fail(`@electron/rebuild finished but ${built} is missing`);
  copyFileSync(built, binding);
  rmSync(path.join(scratch, 'node_modules'), { recursive: true, force: true });
  rmSync(path.join(scratch, 'package.json'), { force: true });
  writeFileSync(stampFile, builtFor);
}

ensureElectronBinary();
await buildElectronBinding();
