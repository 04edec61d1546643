// The mia-dpo command line as a user runs it (bin/mia-dpo.mjs in a child
// process): exit codes 0/1/2 and the --json documents.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import type { CliIo } from '../../../electron/cli/command';
import { runCli } from '../../../electron/cli/run';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';
import { createProjectExclusive } from '../../../electron/db';
import { LOCK_FILE, noteServedUrl } from '../../../electron/store/lock';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/mia-dpo.mjs');
const home = mkdtempSync(path.join(os.tmpdir(), 'cli-'));
// In-process runs too keep their recent-projects list out of the user's config.
process.env.XDG_CONFIG_HOME = path.join(home, 'config');
afterAll(() => rmSync(home, { recursive: true, force: true }));

function memoryIo(): CliIo & { err(): string } {
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  return { stdout: sink(() => undefined), stderr: sink((s) => (err += s)), tty: false, err: () => err };
}

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return cliWithEnv({}, ...args);
}

function cliWithEnv(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config'), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('mia-dpo', () => {
  it('exits 2 with usage on bad arguments', async () => {
    const spawned = await cli('import', '/x', '--llava', 'f.json');
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toMatch(/usage: mia-dpo import/);
    // The other cases in-process (same code path, without a process start each).
    for (const args of [
      [],
      ['frobnicate'],
      ['import'],
      ['project', 'delete', '/x'],
      ['jobs', '/x', '--bogus'],
      ['serve', '/x', '--port', 'abc'],
      ['selftest', '--ep', 'tpu'],
    ]) {
      const io = memoryIo();
      expect(await runCli(args, io), args.join(' ')).toBe(2);
      expect(io.err()).toMatch(/usage/);
    }
  });

  it('creates a project, imports with a --json report, lists jobs; exit 1 on failures', async () => {
    const dir = path.join(home, 'p');
    const created = await cli('project', 'create', dir, '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ ok: true, project: { dir, sampleCount: 0 } });

    const ds = await makeDemoDataset(path.join(home, 'data'), { samples: 12 });
    const imported = await cli('import', dir, '--llava', ds.file, '--images', ds.imagesRoot, '--json');
    expect(imported.code, imported.stderr).toBe(0);
    const report = JSON.parse(imported.stdout) as {
      ok: boolean;
      samples: number;
      problemEntries: number;
      problems: { index: number; id: string; reason: string }[];
    };
    expect(report).toMatchObject({
      ok: true,
      samples: 16,
      problemEntries: 6,
      entries: 18,
      imported: 12,
      flagged: 4,
      rejected: 2,
    });
    expect(report.problems.map((p) => [p.index, p.id, p.reason])).toContainEqual([8, 'demo-2', 'duplicate-id']);

    const jobs = await cli('jobs', dir, '--json');
    expect(JSON.parse(jobs.stdout).jobs).toMatchObject([{ id: 1, kind: 'import', state: 'done' }]);
    const text = await cli('import', dir, '--llava', ds.file, '--images', ds.imagesRoot, '--again');
    expect(text.stdout).toMatch(
      /^18 entries read: 12 imported, 4 flagged, 2 rejected \(\d+ images\)\nimported: usable samples; flagged: /,
    );

    const again = await cli('project', 'create', dir, '--json');
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, error: { kind: 'conflict' } });

    const aborted = await cli(
      'import',
      dir,
      '--llava',
      ds.file,
      '--images',
      ds.imagesRoot,
      '--abort-on-problem',
      '--again',
      '--json',
    );
    expect(aborted.code).toBe(1);
    expect(JSON.parse(aborted.stdout)).toMatchObject({ ok: false, state: 'failed' });

    const missing = await cli('jobs', path.join(home, 'nowhere'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not a MIA-DPO Studio project/);
  });

  it('reads a project another process holds (jobs, pairs, export) and tells write commands what to do', async () => {
    const dir = path.join(home, 'held');
    // This test process holds the project, as `serve` or the demo would; the CLI runs as another process.
    const holder = await createProjectExclusive(dir);
    try {
      noteServedUrl(dir, 'http://127.0.0.1:4999/?token=t');
      const jobs = await cli('jobs', dir, '--json');
      expect(jobs.code, jobs.stderr).toBe(0);
      expect(JSON.parse(jobs.stdout)).toEqual({ jobs: [] });
      const pairs = await cli('pairs', dir, '--json');
      expect(pairs.code, pairs.stderr).toBe(0);
      expect(JSON.parse(pairs.stdout)).toEqual([]);
      const exported = await cli('export', dir, '--format', 'trl', '--out', path.join(home, 'held-export'), '--json');
      expect(exported.code, exported.stderr).toBe(0);
      expect(JSON.parse(exported.stdout)).toMatchObject({ ok: true, pairs: 0 });
      const ds = await makeDemoDataset(path.join(home, 'held-data'), { samples: 2, bad: false });
      const write = await cli('import', dir, '--llava', ds.file, '--images', ds.imagesRoot);
      expect(write.code).toBe(1);
      expect(write.stderr).toContain(
        `already open in process ${process.pid} (serving its UI at http://127.0.0.1:4999/)`,
      );
      expect(write.stderr).toContain(
        `use the UI at http://127.0.0.1:4999/, or stop that process first (Ctrl-C in its terminal, or kill ${process.pid})`,
      );
    } finally {
      await holder.close();
    }
  });

  it('selftest exits 0 when every engine check passes and 1 when one fails', async () => {
    const passed = await cli('selftest', '--ep', 'cpu', '--json');
    expect(passed.code, passed.stderr).toBe(0);
    expect(JSON.parse(passed.stdout)).toMatchObject({ ok: true, ep: 'cpu', train: { ok: true } });
    // No Vulkan driver: the WebGPU checks cannot run, which must count as failures.
    const failed = await cliWithEnv(
      { VK_ICD_FILENAMES: path.join(home, 'no-such-icd.json') },
      'selftest',
      '--ep',
      'webgpu',
      '--json',
    );
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false, ep: 'webgpu' });
  });

  it('kill -TERM of the mia-dpo wrapper stops serve: port released, lock removed (issue 13 item 4)', async () => {
    const dir = path.join(home, 'killed');
    expect(await runCli(['project', 'create', dir], memoryIo())).toBe(0);
    const child = spawn(process.execPath, [BIN, 'serve', dir, '--port', '0'], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(home, 'config') },
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (code, signal) => resolve([code, signal])),
    );
    let out = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /127\.0\.0\.1:(\d+)\//.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${out}`)));
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    child.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }, out).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    const free = createServer();
    await new Promise<void>((resolve, reject) => free.once('error', reject).listen(port, '127.0.0.1', resolve));
    free.close();
  });

  it('serve exits 1 with a clear message when the port is taken', async () => {
    const dir = path.join(home, 'served');
    expect(await runCli(['project', 'create', dir], memoryIo())).toBe(0);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    const io = memoryIo();
    expect(await runCli(['serve', dir, '--port', String(port)], io)).toBe(1);
    expect(io.err()).toMatch(new RegExp(`port ${port} on 127.0.0.1 is already in use`));
    blocker.close();
  });
});
