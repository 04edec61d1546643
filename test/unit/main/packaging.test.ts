import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dependencyClosure, packagedFilesFilter } from '../../../build/native-modules';
import { rewriteWorkerUrls, workerEntries } from '../../../build/worker-entries';

const root = path.resolve(import.meta.dirname, '..', '..', '..');

describe('packaged files', () => {
  it('includes the native modules with their runtime dependencies', () => {
    const closure = dependencyClosure(root, ['better-sqlite3']);
    expect(closure.has('better-sqlite3')).toBe(true);
    expect(closure.has('bindings')).toBe(true);
  });

  it('keeps the Vite output and native modules, drops sources and dev tools', () => {
    const ignored = packagedFilesFilter(root);
    for (const kept of [
      '/package.json',
      '/.vite/build/main.js',
      '/node_modules',
      '/node_modules/better-sqlite3/lib/index.js',
    ]) {
      expect(ignored(kept), kept).toBe(false);
    }
    for (const dropped of [
      '/electron/main/main.ts',
      '/renderer/src/App.tsx',
      '/node_modules/electron',
      '/node_modules/vitest/package.json',
      '/test',
    ]) {
      expect(ignored(dropped), dropped).toBe(true);
    }
  });
});

describe('worker threads in the bundle', () => {
  it('makes every *.worker.ts and *.schema.ts an entry of its own', () => {
    const entries = workerEntries(root);
    expect(entries['store.worker']).toBe(path.join(root, 'electron', 'store', 'store.worker.ts'));
    expect(entries['project.schema']).toBe(path.join(root, 'electron', 'db', 'project.schema.ts'));
  });

  it('points worker URLs at the built file beside main.js, but not inside comments', () => {
    const code = [
      "/** `moduleUrl` is usually `new URL('./x.worker.ts', import.meta.url)`. */",
      "const w = startWorker(new URL('../store/store.worker.ts', import.meta.url), {});",
      "// new URL('./y.worker.ts', import.meta.url)",
      'const other = new URL("./data.json", import.meta.url);',
      "const schema = { url: new URL('./project.schema.ts', import.meta.url) };",
    ].join('\n');
    const out = rewriteWorkerUrls(code).split('\n');
    expect(out[0]).toBe("/** `moduleUrl` is usually `new URL('./x.worker.ts', import.meta.url)`. */");
    expect(out[1]).toBe("const w = startWorker(new URL(/* @vite-ignore */ './store.worker.js', import.meta.url), {});");
    expect(out[2]).toBe("// new URL('./y.worker.ts', import.meta.url)");
    expect(out[3]).toBe('const other = new URL("./data.json", import.meta.url);');
    expect(out[4]).toBe("const schema = { url: new URL(/* @vite-ignore */ './project.schema.js', import.meta.url) };");
  });
});

describe('npm configuration', () => {
  // npm warns about unknown .npmrc keys on every call; package.json's allowScripts is what keeps onnxruntime-node's download off (issue 12 item 14).
  it('skips the onnxruntime-node install script through allowScripts, with no .npmrc key, and needs an npm that honours it', () => {
    expect(
      existsSync(path.join(root, '.npmrc')) &&
        readFileSync(path.join(root, '.npmrc'), 'utf8').includes('onnxruntime-node-install'),
    ).toBe(false);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      allowScripts: Record<string, boolean>;
      engines: Record<string, string>;
    };
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    expect(pkg.engines['npm']).toBe('>=11');
  });
});
