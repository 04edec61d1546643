// `mia-dpo bench import` end to end (issue 10, item 1): a VLMEvalKit TSV with
// every image form and a JSONL file with paths are imported; images land in
// the project cache named by their sha256 (one file per content), bad images
// and missing files are problems naming the row's index, the rest imported.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../electron/cli/command';
import { runCli } from '../../../../electron/cli/run';
import { createService } from '../../../../electron/service';

const home = mkdtempSync(path.join(os.tmpdir(), 'bench-import-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (w: (s: string) => void) => new Writable({ write: (c: Buffer, _e, done) => (w(c.toString()), done()) });
  const io: CliIo = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

const png = (r: number, g: number, b: number) =>
  sharp({ create: { width: 8, height: 6, channels: 3, background: { r, g, b } } })
    .png()
    .toBuffer();

describe('mia-dpo bench import', () => {
  it('imports every image form into the cache and lists bad rows by index', async () => {
    const red = await png(255, 0, 0);
    const blue = await png(0, 0, 255);
    const r64 = red.toString('base64');
    const b64 = blue.toString('base64');
    const data = path.join(home, 'data');
    mkdirSync(path.join(data, 'imgs'), { recursive: true });
    writeFileSync(path.join(data, 'imgs', 'blue.png'), blue);
    const notImage = Buffer.from('definitely not an image, just some text bytes here....').toString('base64');
    const rows = [
      ['index', 'question', 'A', 'B', 'answer', 'category', 'image', 'image_path'],
      ['1', 'Colour?', 'red', 'blue', 'A', 'one', r64, ''],
      ['2', 'Which is blue?', 'first', 'second', 'B', 'two', `['${r64}', '${b64}']`, ''],
      ['3', 'Same?', '', '', 'no', 'two', JSON.stringify([b64, r64]), ''],
      ['4', 'Path?', 'x', 'y', 'A', 'one', '', 'imgs/blue.png'],
      ['5', 'Paths?', 'x', 'y', 'B', 'two', '', "['imgs/blue.png', 'imgs/blue.png']"],
      ['6', 'Again?', '', '', 'yes', 'one', '1', ''],
      ['7', 'Broken', 'x', 'y', 'A', 'one', notImage, ''],
      ['8', 'Missing', 'x', 'y', 'A', 'one', '', 'imgs/none.png'],
      ['9', 'Bad letter', 'x', 'y', 'Z', 'one', r64, ''],
    ];
    const file = path.join(data, 'mini.tsv');
    writeFileSync(file, rows.map((r) => r.join('\t')).join('\n') + '\n');
    const proj = path.join(home, 'proj');
    expect((await run('project', 'create', proj)).code).toBe(0);

    const res = await run('bench', 'import', proj, file, '--json');
    expect(res.code, res.err).toBe(0);
    const report = JSON.parse(res.out) as {
      items: number;
      benchmark: string;
      problems: { index: string; reason: string }[];
    };
    expect(report).toMatchObject({ items: 6, benchmark: 'mini' });
    expect(report.problems.map((p) => [p.index, p.reason])).toEqual([
      ['7', 'bad-image'],
      ['8', 'missing-image'],
      ['9', 'bad-answer'],
    ]);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(readdirSync(path.join(proj, 'cache', 'bench')).sort()).toEqual(
      [`${sha(blue)}.png`, `${sha(red)}.png`].sort(),
    );

    const again = await run('bench', 'import', proj, file);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already has a benchmark named "mini"');

    const jsonl = path.join(data, 'multi.jsonl');
    writeFileSync(
      jsonl,
      [
        JSON.stringify({
          id: 'm1',
          question: 'Which image is red?',
          options: ['1', '2'],
          answer: 'B',
          images: ['imgs/blue.png', 'imgs/red.png'],
        }),
        JSON.stringify({ id: 'm2', question: 'q', answer: 'a', images: ['../outside.png'] }),
      ].join('\n'),
    );
    writeFileSync(path.join(data, 'imgs', 'red.png'), red);
    const j = await run('bench', 'import', proj, jsonl, '--name', 'multi', '--json');
    expect(JSON.parse(j.out)).toMatchObject({ items: 1, problems: [{ index: 'm2', reason: 'missing-image' }] });

    const service = await createService({ configDir: path.join(home, 'config') });
    try {
      await service.handlers['project.open']({ dir: proj });
      const { benchmarks } = await service.handlers['eval.bench.list']({});
      expect(benchmarks.map((b) => [b.name, b.items, b.problems, b.categories])).toEqual([
        ['mini', 6, 3, ['one', 'two']],
        ['multi', 1, 1, ['uncategorized']],
      ]);
    } finally {
      await service.close();
    }
  }, 60_000);
});
