// Issue 13 item 6: a project whose folder or database file cannot be written
// (permissions, read-only media) is opened read-only and said to be so: `jobs`
// and `pairs` work, `import` is refused as read-only, and nothing calls it damaged.
// Root ignores permissions, so as root the CLI runs as `nobody` (a real EACCES).
import { spawn } from 'node:child_process';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { runCli } from '../../../electron/cli/run';
import { makeDemoDataset, type DemoDataset } from '../../../electron/io/demo-dataset';
import { createProject } from '../../../electron/db';
import { PROJECT_DB } from '../../../electron/store/project';
import { removeTempDirs, tempDir } from '../io/helpers';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/mia-dpo.mjs');
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

let root = '';
let config = '';
let ds: DemoDataset;

/** Every folder and file under `dir` (itself included) gets `dirMode` / `fileMode`. */
function chmodTree(dir: string, dirMode: number, fileMode: number): void {
  chmodSync(dir, dirMode);
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) chmodTree(p, dirMode, fileMode);
    else chmodSync(p, fileMode);
  }
}

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: config, HOME: config },
      ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const quiet = { stdout: new Writable({ write: (_c, _e, done) => done() }), tty: false };

/** A project with one finished import, readable by everyone (the unprivileged child reads it). */
async function importedProject(name: string): Promise<string> {
  const dir = path.join(root, name);
  await (await createProject(dir)).close();
  const io = { ...quiet, stderr: quiet.stdout };
  expect(await runCli(['import', dir, '--llava', ds.file, '--images', ds.imagesRoot], io)).toBe(0);
  return dir;
}

beforeAll(async () => {
  root = tempDir('read-only-');
  chmodSync(root, 0o755);
  config = path.join(root, 'config');
  ds = await makeDemoDataset(path.join(root, 'data'), { samples: 4, bad: false });
  chmodTree(path.join(root, 'data'), 0o755, 0o644);
  chmodTree(root, 0o755, 0o644);
  chmodSync(root, 0o777);
}, 30_000);

afterAll(() => {
  chmodTree(root, 0o755, 0o644);
  removeTempDirs();
});

describe('a read-only project', () => {
  it('folder and files read-only: jobs and pairs work, import says read-only, nothing is written', async () => {
    const dir = await importedProject('ro-folder');
    chmodTree(dir, 0o555, 0o444);
    const before = readdirSync(dir).sort();

    const jobs = await cli('jobs', dir, '--json');
    expect(jobs.stderr).toBe('');
    expect(jobs.code).toBe(0);
    expect((JSON.parse(jobs.stdout) as { jobs: { kind: string; state: string }[] }).jobs).toEqual([
      expect.objectContaining({ kind: 'import', state: 'done' }),
    ]);
    const pairs = await cli('pairs', dir, '--json');
    expect(pairs.stderr).toBe('');
    expect(pairs.code).toBe(0);

    const imported = await cli('import', dir, '--llava', ds.file, '--images', ds.imagesRoot);
    expect(imported.code).toBe(1);
    // project.open falls back to read-only (no lock can be taken there); the import itself is what is refused.
    expect(imported.stderr).toContain(
      'the project folder or its database file is read-only): importing is not possible',
    );
    expect(imported.stderr).not.toMatch(/integrity|damaged|\n\s+at /);
    expect(readdirSync(dir).sort()).toEqual(before);
  }, 60_000);

  it('only the database file read-only: jobs works, import is refused as read-only, never as damaged', async () => {
    const dir = await importedProject('ro-file');
    chmodTree(dir, 0o777, 0o666);
    chmodSync(path.join(dir, PROJECT_DB), 0o444);

    const jobs = await cli('jobs', dir);
    expect(jobs.stderr).toBe('');
    expect(jobs.code).toBe(0);
    expect(jobs.stdout).toMatch(/done/);

    const imported = await cli('import', dir, '--llava', ds.file, '--images', ds.imagesRoot, '--again');
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain('the project folder or its database file is read-only');
    expect(imported.stderr).not.toMatch(/integrity|damaged/);
  }, 60_000);
});
