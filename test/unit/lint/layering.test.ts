// The layering lint (dependency-cruiser, `npm run lint:layers`, part of `npm run
// lint`) resolves import paths: files planted with relative imports against the
// layers must fail it, each naming its rule and both files, and the tree must pass.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const TAG = `__planted_layering_${process.pid}`;

interface Run {
  code: number;
  output: string;
}

/** Runs `npm run lint:layers` in the repository and collects its exit code and output. */
function lintLayers(): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'lint:layers'],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

interface Plant {
  /** Where the violating file goes, relative to the repository root. */
  file: string;
  source: string;
  rule: string;
  /** The resolved file the violation must name. */
  target: string;
}

const PLANTS: Plant[] = [
  {
    file: `electron/engine/${TAG}.ts`,
    source: "import type { Store } from '../store/store';\nexport type Planted = Store;\n",
    rule: 'engine-is-a-library',
    target: 'electron/store/store.ts',
  },
  {
    file: `electron/store/${TAG}.ts`,
    source: "import { listPairs } from '../pipeline/store/queries';\nexport const planted = listPairs;\n",
    rule: 'store-is-generic',
    target: 'electron/pipeline/store/queries.ts',
  },
  {
    file: `electron/jobs/${TAG}.ts`,
    source: "import { importJob } from '../io/import-job';\nexport const planted = importJob;\n",
    rule: 'jobs-runner-is-generic',
    target: 'electron/io/import-job.ts',
  },
  {
    file: `electron/main/${TAG}.ts`,
    source: "import { startServer } from '../server';\nexport const planted = startServer;\n",
    rule: 'transport-main-imports-no-transport',
    target: 'electron/server/index.ts',
  },
  {
    file: `electron/pipeline/${TAG}.ts`,
    source: "import { app } from 'electron';\nexport const planted = app;\n",
    rule: 'electron-package-only-in-main-and-preload',
    target: 'node_modules/electron/index.js',
  },
  {
    file: `shared/${TAG}.ts`,
    source:
      "import { AppError } from '../electron/../shared/errors';\nimport { createService } from '../electron/service';\nexport const planted = [AppError, createService];\n",
    rule: 'shared-is-the-contract',
    target: 'electron/service/index.ts',
  },
  {
    file: `renderer/src/${TAG}.ts`,
    source: "import { readFile } from 'node:fs/promises';\nexport const planted = readFile;\n",
    rule: 'renderer-imports-no-node-builtin',
    target: 'fs/promises',
  },
  {
    file: `electron/store/${TAG}-build.ts`,
    source: "import { NATIVE_MODULES } from '../../build/native-modules';\nexport const planted = NATIVE_MODULES;\n",
    rule: 'app-code-imports-no-build-config',
    target: 'build/native-modules.ts',
  },
];

describe('layering lint', () => {
  it('is part of npm run lint', () => {
    const scripts = (
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    expect(scripts.lint).toContain('npm run lint:layers');
    expect(scripts['lint:layers']).toMatch(/^depcruise --config \.dependency-cruiser\.cjs /);
  });

  it('passes on the tree as it is', async () => {
    const run = await lintLayers();
    expect(run.output).not.toMatch(/error /);
    expect(run.code).toBe(0);
  }, 60_000);

  it('fails on planted imports against the layers, naming the rule and both files', async () => {
    try {
      for (const p of PLANTS) {
        mkdirSync(path.dirname(path.join(root, p.file)), { recursive: true });
        writeFileSync(path.join(root, p.file), p.source);
      }
      const run = await lintLayers();
      expect(run.code).not.toBe(0);
      for (const p of PLANTS) {
        const line = run.output.split('\n').find((l) => l.includes(p.file));
        expect(line, `${p.file} should be reported`).toBeDefined();
        expect(line).toContain(`error ${p.rule}:`);
        expect(line).toContain(`→ ${p.target}`);
      }
    } finally {
      for (const p of PLANTS) rmSync(path.join(root, p.file), { force: true });
    }
  }, 60_000);
});
