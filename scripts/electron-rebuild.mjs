#!/usr/bin/env node
// Prepares this checkout to run inside Electron (`npm start`, `npm run make`),
// on the user's machine and never in postinstall (CI and the tests run plain
// Node): downloads the Electron binary when it is missing, and rebuilds
// better-sqlite3 for Electron's ABI with @electron/rebuild. sharp and
// onnxruntime-node use Node-API, whose binaries load in Electron unchanged.
// The plain-Node build is kept aside; `node scripts/electron-rebuild.mjs --node`
// puts it back for `npm test` and the CLI.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');
const releaseDir = path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release');
const binary = path.join(releaseDir, 'better_sqlite3.node');
const stampFile = path.join(releaseDir, 'mia-dpo-abi.json');
const nodeBackup = path.join(releaseDir, `better_sqlite3.node-abi${process.versions.modules}`);

function fail(message) {
  process.stderr.write(`electron-rebuild: ${message}\n`);
  process.exit(1);
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return { runtime: 'node' };
  }
}

function ensureElectronBinary() {
  // electron/install.js writes path.txt once the binary is unpacked.
  if (existsSync(path.join(electronDir, 'path.txt'))) return;
  process.stdout.write('Downloading the Electron binary (once)...\n');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const r = spawnSync(process.execPath, [path.join(electronDir, 'install.js')], { stdio: 'inherit', env });
  if (r.status !== 0 || !existsSync(path.join(electronDir, 'path.txt'))) {
    fail('could not download the Electron binary (it needs the network once; behind a proxy set HTTPS_PROXY or ELECTRON_MIRROR)');
  }
}

async function rebuildForElectron() {
  const electronVersion = JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;
  const stamp = readStamp();
  if (stamp.runtime === 'electron' && stamp.version === electronVersion && existsSync(binary)) return;
  if (stamp.runtime === 'node' && existsSync(binary)) copyFileSync(binary, nodeBackup);
  process.stdout.write(`Rebuilding better-sqlite3 for Electron ${electronVersion}...\n`);
  const { rebuild } = require('@electron/rebuild');
  try {
    await rebuild({ buildPath: root, electronVersion, onlyModules: ['better-sqlite3'], force: true });
  } catch (e) {
    fail(`rebuilding better-sqlite3 failed: ${e instanceof Error ? e.message : String(e)} (a C++ toolchain and Python are needed)`);
  }
  writeFileSync(stampFile, JSON.stringify({ runtime: 'electron', version: electronVersion }));
}

function restoreNodeBuild() {
  if (readStamp().runtime === 'node') return;
  if (existsSync(nodeBackup)) {
    copyFileSync(nodeBackup, binary);
  } else {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['rebuild', 'better-sqlite3'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
    if (r.status !== 0) fail('npm rebuild better-sqlite3 failed');
  }
  writeFileSync(stampFile, JSON.stringify({ runtime: 'node', version: process.versions.node }));
  process.stdout.write('better-sqlite3 is built for Node again.\n');
}

if (process.argv.includes('--node')) {
  restoreNodeBuild();
} else {
  ensureElectronBinary();
  await rebuildForElectron();
}
