// `mia-dpo demo world` end to end through the real command line (runCli, the
// code path of bin/mia-dpo.mjs): the world it writes imports with zero
// problems through `mia-dpo import` (the LLaVA import job) and
// `mia-dpo bench import` (the VLMEvalKit TSV reader and image cache).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../electron/cli/command';
import { runCli } from '../../../../electron/cli/run';

const home = mkdtempSync(path.join(os.tmpdir(), 'demo-world-cli-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (w: (s: string) => void) => new Writable({ write: (c: Buffer, _e, done) => (w(c.toString()), done()) });
  const io: CliIo = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe('mia-dpo demo world', () => {
  it('writes a world that mia-dpo import and mia-dpo bench import take without a problem', async () => {
    const out = path.join(home, 'world');
    const made = await run('demo', 'world', '--out', out, '--seed', '4', '--train', '300', '--bench', '40', '--json');
    expect(made.code, made.err).toBe(0);
    const world = JSON.parse(made.out) as {
      ok: boolean;
      train: { file: string; imagesRoot: string; samples: number; images: number };
      bench: { file: string; single: number; multi: number; images: number };
    };
    expect(world).toMatchObject({ ok: true, train: { samples: 300 }, bench: { single: 40, multi: 40 } });

    const proj = path.join(home, 'project');
    expect((await run('project', 'create', proj)).code).toBe(0);
    const imported = await run(
      'import',
      proj,
      '--llava',
      world.train.file,
      '--images',
      world.train.imagesRoot,
      '--json',
    );
    expect(imported.code, imported.err).toBe(0);
    expect(JSON.parse(imported.out)).toMatchObject({
      ok: true,
      entries: 300,
      imported: 300,
      flagged: 0,
      rejected: 0,
      images: world.train.images,
      problems: [],
    });

    const bench = await run('bench', 'import', proj, world.bench.file, '--json');
    expect(bench.code, bench.err).toBe(0);
    expect(JSON.parse(bench.out)).toMatchObject({ ok: true, benchmark: 'bench', items: 80, problems: [] });
  });

  it('refuses a folder that holds something else, and bad sizes, naming them', async () => {
    const busy = path.join(home, 'busy');
    const made = await run('demo', 'world', '--out', busy, '--train', '5', '--bench', '2');
    expect(made.code, made.err).toBe(0);
    expect(made.out).toContain('5 training samples');
    writeFileSync(path.join(home, 'note.txt'), 'mine');
    const refused = await run('demo', 'world', '--out', home, '--json');
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({ ok: false, error: { kind: 'conflict' } });
    expect(refused.err).toContain(`${home} is not empty and holds no demo world`);
    const bad = await run('demo', 'world', '--out', busy, '--bench', '0');
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('--bench: Too small')]);
    expect((await run('demo', 'world')).err).toContain("required option '--out <DIR>' not specified");
  });
});
