// `mia-dpo figures` and the figures job on a project with synthetic answers:
// Figure 5's files appear in <project>/figures with the stored answers'
// counts, a threshold draft changes only the figure, and a project without
// answers or eval runs is refused at once, naming the step to run first.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../electron/cli/command';
import { runCli } from '../../../electron/cli/run';
import { createProject } from '../../../electron/db';
import { createService, type Service } from '../../../electron/service';
import { writeSyntheticPairs } from '../../helpers/synthetic-pairs';

const home = mkdtempSync(path.join(os.tmpdir(), 'figures-job-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (w: (s: string) => void) => new Writable({ write: (c: Buffer, _e, done) => (w(c.toString()), done()) });
  const io: CliIo = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

const N = 120;
let proj: string;
let empty: string;

beforeAll(async () => {
  proj = path.join(home, 'answers');
  await (await createProject(proj)).close();
  writeSyntheticPairs(path.join(proj, 'project.sqlite'), N, 3);
  empty = path.join(home, 'empty');
  await (await createProject(empty)).close();
});

describe('mia-dpo figures', () => {
  it('writes Figure 5 as PNG, SVG and data into the project, counting every answer', async () => {
    const r = await run('figures', proj, '--figure', '5', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { ok: boolean; dir: string; files: string[]; runs: null };
    expect(report.dir).toBe(path.join(proj, 'figures'));
    expect(report.files.map((f) => path.basename(f)).sort()).toEqual([
      'figure5-attention-ratios.json',
      'figure5-attention-ratios.png',
      'figure5-attention-ratios.svg',
    ]);
    // Atomic writes leave no temporary files.
    expect(readdirSync(report.dir).sort()).toEqual(report.files.map((f) => path.basename(f)).sort());
    const data = JSON.parse(readFileSync(path.join(report.dir, 'figure5-attention-ratios.json'), 'utf8')) as {
      bars: { count: number }[];
      rules: { format: string; images: string; value: number }[];
      totals: { answers: number; missing: number }[];
    };
    expect(data.totals.reduce((a, t) => a + t.answers, 0)).toBe(N);
    expect(data.bars.reduce((a, b) => a + b.count, 0) + data.totals.reduce((a, t) => a + t.missing, 0)).toBe(N);
    expect(data.rules.find((x) => x.format === 'Grid collage' && x.images === '4 images')?.value).toBe(0.5);
    const meta = await sharp(path.join(report.dir, 'figure5-attention-ratios.png')).stats();
    expect(meta.channels[0]!.stdev).toBeGreaterThan(10); // not blank
    expect(readFileSync(path.join(report.dir, 'figure5-attention-ratios.svg'), 'utf8')).not.toMatch(/<text/);
  });

  it('refuses at once, naming what to run, without answers or eval runs', async () => {
    const none = await run('figures', empty, '--figure', '5');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no answers yet.*run the respond step first \(mia-dpo respond/);
    expect(existsSync(path.join(empty, 'figures'))).toBe(false);
    const six = await run('figures', proj, '--figure', '6');
    expect(six.code).toBe(1);
    expect(six.err).toMatch(/no eval run of an adapter.*evaluate both first \(mia-dpo eval/);
    const both = await run('figures', proj);
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/Figure 5 alone: mia-dpo figures .* --figure 5/);
    const bad = await run('figures', proj, '--run', '1');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--run: give two eval runs/);
  });
});

describe('figure commands', () => {
  let service: Service;
  beforeAll(async () => {
    service = await createService({ configDir: path.join(home, 'config') });
    await service.handlers['project.open']({ dir: proj });
  });
  afterAll(() => service.close());

  it("previews Figure 5 with a draft's thresholds, storing nothing", async () => {
    const h = service.handlers;
    const stored = await h['pipeline.settings']({});
    const draft = await h['figures.attentionRatios']({
      patch: { selection: { thresholds: { grid: { '4': { op: '<', value: 0.25 } } } } },
    });
    expect(draft.answers).toBe(N);
    expect(draft.svg).toContain('aria-label="4: &lt; 0.25"');
    expect((await h['figures.attentionRatios']({ patch: {} })).svg).toContain('aria-label="4: &lt; 0.5"');
    expect(await h['pipeline.settings']({})).toEqual(stored);
  });
});
