// better-sqlite3 in Electron (docs/decisions/0210): which addon the store loads
// in plain Node and in Electron, and that packaging ships the Electron build only.
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyElectronSqliteBinding, packagedFilesFilter } from '../../../build/native-modules';
import { ELECTRON_SQLITE_BINDING, sqliteNativeBinding } from '../../../electron/store/native-binding';
import { AppError } from '../../../shared/errors';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const ELECTRON = { node: '22.20.0', electron: '39.2.0' };

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'native-binding-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** An app folder like the checkout or app.asar: package.json, the bundle dir, optionally the Electron addon. */
function fakeApp(dir: string, withBinding: boolean): string {
  mkdirSync(path.join(dir, '.vite', 'build'), { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{}');
  if (withBinding) {
    mkdirSync(path.dirname(path.join(dir, ELECTRON_SQLITE_BINDING)), { recursive: true });
    writeFileSync(path.join(dir, ELECTRON_SQLITE_BINDING), 'electron addon');
  }
  return path.join(dir, '.vite', 'build');
}

describe('sqliteNativeBinding', () => {
  it('passes no binding in plain Node, whatever is on disk', () => {
    const bundleDir = fakeApp(tmp, true);
    expect(sqliteNativeBinding({ node: process.versions.node }, bundleDir)).toBeUndefined();
    expect(sqliteNativeBinding(process.versions, path.join(root, 'electron', 'store'))).toBeUndefined();
  });

  it('in Electron, loads the Electron build under the nearest folder with a package.json', () => {
    const app = path.join(tmp, 'resources', 'app.asar');
    const bundleDir = fakeApp(app, true);
    // A package.json higher up must not win over the app's own.
    writeFileSync(path.join(tmp, 'package.json'), '{}');
    expect(sqliteNativeBinding(ELECTRON, bundleDir)).toBe(
      path.join(app, 'node_modules', '.mia-dpo-electron', 'better_sqlite3.node'),
    );
  });

  it('in Electron without the build, says which file is missing and how to make it', () => {
    const bundleDir = fakeApp(tmp, false);
    let error: unknown;
    try {
      sqliteNativeBinding(ELECTRON, bundleDir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).kind).toBe('not-found');
    expect((error as AppError).subject).toBe(path.join(tmp, ELECTRON_SQLITE_BINDING));
    expect((error as AppError).message).toContain('scripts/electron-rebuild.mjs');
  });

  it('in Electron with no package.json above, fails as a bug rather than guessing', () => {
    const none = () => false;
    expect(() => sqliteNativeBinding(ELECTRON, path.join(tmp, 'a', 'b'), none)).toThrow(/no package\.json above/);
  });

  it('hands better-sqlite3 a path form it accepts as nativeBinding', () => {
    // The Node build stands in for the Electron one: same file name, same option shape.
    const nodeAddon = path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
    const db = new Database(':memory:', { nativeBinding: nodeAddon });
    expect(db.prepare('SELECT 1 + 1 AS two').get()).toEqual({ two: 2 });
    db.close();
  });
});

describe('packaging better-sqlite3', () => {
  it("drops better-sqlite3's Node build and the checkout's scratch folder, keeps its JavaScript", () => {
    const ignored = packagedFilesFilter(root);
    for (const dropped of [
      '/node_modules/better-sqlite3/build',
      '/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      '/node_modules/.mia-dpo-electron',
    ]) {
      expect(ignored(dropped), dropped).toBe(true);
    }
    for (const kept of [
      '/node_modules/better-sqlite3',
      '/node_modules/better-sqlite3/lib/database.js',
      '/node_modules/bindings/package.json',
    ]) {
      expect(ignored(kept), kept).toBe(false);
    }
    // A sibling whose name only starts like the build folder is not caught by it.
    expect(ignored('/node_modules/better-sqlite3/buildinfo.json')).toBe(false);
  });

  it('copies the Electron build into the packaged app at the path the store loads', () => {
    const checkout = path.join(tmp, 'checkout');
    fakeApp(checkout, true);
    const buildPath = path.join(tmp, 'packaged');
    const bundleDir = fakeApp(buildPath, false);
    copyElectronSqliteBinding(checkout, buildPath);
    expect(readFileSync(path.join(buildPath, ELECTRON_SQLITE_BINDING), 'utf8')).toBe('electron addon');
    expect(sqliteNativeBinding(ELECTRON, bundleDir)).toBe(path.join(buildPath, ELECTRON_SQLITE_BINDING));
  });

  it('refuses to package without the Electron build', () => {
    fakeApp(path.join(tmp, 'checkout'), false);
    expect(() => copyElectronSqliteBinding(path.join(tmp, 'checkout'), path.join(tmp, 'packaged'))).toThrow(
      /electron-rebuild\.mjs/,
    );
  });

  it('the rebuild script writes the addon where the store and packaging look for it', () => {
    const script = readFileSync(path.join(root, 'scripts', 'electron-rebuild.mjs'), 'utf8');
    const dir = /const scratch = path\.join\(root, ((?:'[^']+'(?:, )?)+)\);/.exec(script);
    const file = /const binding = path\.join\(scratch, '([^']+)'\);/.exec(script);
    const segments = (dir?.[1] ?? '').split(', ').map((s) => s.slice(1, -1));
    expect(path.join(...segments, file?.[1] ?? '')).toBe(ELECTRON_SQLITE_BINDING);
    expect(script).not.toContain('--node');
  });
});
