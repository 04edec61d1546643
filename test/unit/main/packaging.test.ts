import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dependencyClosure, packagedFilesFilter } from '../../../build/native-modules';

const root = path.resolve(import.meta.dirname, '..', '..', '..');

describe('packaged files', () => {
  it('includes the native modules with their runtime dependencies', () => {
    const closure = dependencyClosure(root, ['better-sqlite3']);
    expect(closure.has('better-sqlite3')).toBe(true);
    expect(closure.has('bindings')).toBe(true);
  });

  it('keeps the Vite output and native modules, drops sources and dev tools', () => {
    const ignored = packagedFilesFilter(root);
    for (const kept of ['/package.json', '/.vite/build/main.js', '/node_modules', '/node_modules/better-sqlite3/build/Release/better_sqlite3.node']) {
      expect(ignored(kept), kept).toBe(false);
    }
    for (const dropped of ['/electron/main/main.ts', '/renderer/src/App.tsx', '/node_modules/electron', '/node_modules/vitest/package.json', '/test']) {
      expect(ignored(dropped), dropped).toBe(true);
    }
  });
});
