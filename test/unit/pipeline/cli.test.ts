// The pipeline's CLI commands in-process (runCli, same code path as
// bin/mia-dpo.mjs): augment, select with a thresholds file, pairs --json,
// export, and usage/failure exit codes naming the problem.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../electron/cli/command';
import { runCli } from '../../../electron/cli/run';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';

const home = mkdtempSync(path.join(os.tmpdir(), 'cli-pipeline-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

function memoryIo(): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  return {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    tty: false,
    out: () => out,
    err: () => err,
  };
}

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo();
  const code = await runCli(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('mia-dpo pipeline commands', () => {
  it('augment, select, pairs and export on an imported project', async () => {
    const proj = path.join(home, 'proj');
    const ds = await makeDemoDataset(path.join(home, 'data'), { samples: 12, images: 12, bad: false });
    expect((await run('project', 'create', proj)).code).toBe(0);
    expect((await run('import', proj, '--llava', ds.file, '--images', ds.imagesRoot)).code).toBe(0);

    const aug = await run('augment', proj, '--formats', 'grid,pip', '--count', '6', '--seed', '5', '--json');
    expect(aug.code).toBe(0);
    const report = JSON.parse(aug.out) as { ok: boolean; made: number; augmented: { format: string; count: number }[] };
    expect(report).toMatchObject({ ok: true, made: 6 });
    expect(report.augmented.every((a) => a.format === 'grid' || a.format === 'pip')).toBe(true);

    const file = path.join(home, 'thresholds.json');
    writeFileSync(file, JSON.stringify({ selection: { thresholds: { grid: { '2': { value: 0.5 } } } } }));
    const sel = await run('select', proj, '--thresholds', file, '--json');
    expect(sel.code).toBe(0);
    expect(JSON.parse(sel.out)).toMatchObject({
      ok: true,
      generations: 0,
      kept: 0,
      modeDisagreement: { compared: 0, disagree: 0 },
    });

    const pairs = await run('pairs', proj, '--json');
    expect(pairs.code).toBe(0);
    expect(JSON.parse(pairs.out)).toEqual([]);

    const out = path.join(home, 'export');
    expect((await run('export', proj, '--format', 'llamafactory', '--out', out)).code).toBe(0);
    expect(JSON.parse(await readFile(path.join(out, 'dataset_info.json'), 'utf8'))).toHaveProperty('mia_dpo');
  });

  it('refuses bad arguments with exit 2 and bad settings with exit 1, naming them', async () => {
    const usage = await run('augment', '/nowhere', '--formats', 'grid,collage');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(
      /--formats: Invalid option: expected one of "sequence"\|"grid"\|"pip" \(got \["grid","collage"\]\)/,
    );
    const count = await run('augment', '/nowhere', '--count', '0');
    expect([count.code, count.err]).toEqual([2, expect.stringMatching(/--count: Too small/)]);
    expect((await run('export', '/nowhere', '--format', 'csv', '--out', 'x')).err).toMatch(
      /--format: Invalid option: expected one of "mia"\|"trl"\|"llamafactory"/,
    );
    const file = path.join(home, 'bad.json');
    writeFileSync(file, JSON.stringify({ selection: { thresholds: { grid: { '5': { value: 0.5 } } } } }));
    const proj = path.join(home, 'proj2');
    expect((await run('project', 'create', proj)).code).toBe(0);
    const bad = await run('select', proj, '--thresholds', file);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/selection.thresholds.grid/);
    writeFileSync(file, '{ not json');
    expect((await run('select', proj, '--thresholds', file)).err).toMatch(/bad\.json is not valid JSON/);
  });
});
