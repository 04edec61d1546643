// `mia-dpo demo base` through the real command line on the tiny size: a few
// full-SFT steps from the random init lower the loss, the folder it writes
// loads as a llava-hf model whose tokenizer covers the world, and a run that
// ends before the target exits 1 saying so.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../electron/cli/command';
import { runCli } from '../../../../electron/cli/run';
import { LlavaSession } from '../../../../electron/engine/generate/session';
import type { BaseRecipe } from '../../../../electron/pipeline/demo-world/base/recipe';

const home = mkdtempSync(path.join(os.tmpdir(), 'demo-base-cli-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (w: (s: string) => void) => new Writable({ write: (c: Buffer, _e, done) => (w(c.toString()), done()) });
  const io: CliIo = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

/** A short run of the tiny size into `out`: `steps` steps of 8, a check every 4 steps on 2 items. */
const tinyRun = (out: string, steps: number, ...more: string[]) =>
  run(
    ...['demo', 'base', '--out', out, '--size', 'tiny', '--steps', String(steps), '--batch', '8', '--lr', '0.01'],
    ...['--warmup', '1', '--eval-every', '4', '--check-items', '2', '--final-items', '2', ...more, '--json'],
  );

describe('mia-dpo demo base', () => {
  it('trains a few steps, lowers the loss, writes a loadable folder and exits 1 short of the target', async () => {
    const out = path.join(home, 'model');
    const r = await tinyRun(out, 8, '--target', '1');
    expect(r.code, r.err).toBe(1);
    const recipe = JSON.parse(r.out) as BaseRecipe;
    expect(recipe).toMatchObject({ steps: 8, batch: 8, reached: false, final: { items: 4 } });
    expect(recipe.checks.map((c) => c.step)).toEqual([4, 8]);
    expect(r.err).toMatch(/held-out single-image accuracy/);
    const first = recipe.losses[0]!;
    const last = recipe.losses[recipe.losses.length - 1]!;
    expect([first.step, last.step]).toEqual([1, 8]);
    expect(last.loss).toBeLessThan(first.loss * 0.8);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'recipe.json'])
      expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'recipe.json'), 'utf8'))).toEqual(recipe);

    const session = await LlavaSession.open({ modelDir: out, ep: 'cpu' });
    try {
      const tok = session.tokenizer;
      expect(tok.decode(tok.encode('In the centre.', { addSpecialTokens: false }))).toBe('In the centre.');
      expect(session.runner.model.spec.tokensPerImage).toBe(16);
    } finally {
      await session.close();
    }
  }, 240_000);

  it('mixes in the language prior when asked, image-less rows included, and records it', async () => {
    const out = path.join(home, 'prior');
    const r = await tinyRun(out, 4, '--prior-share', '0.5', '--prior', 'text');
    const recipe = JSON.parse(r.out) as BaseRecipe;
    expect(recipe).toMatchObject({ steps: 4, priorShare: 0.5, priorKind: 'text' });
    expect(recipe.command).toContain('--prior-share 0.5 --prior text');
    expect(recipe.losses.every((l) => Number.isFinite(l.loss))).toBe(true);
  }, 240_000);

  it('refuses a folder that holds something else', async () => {
    const r = await run('demo', 'base', '--out', path.dirname(home), '--size', 'tiny', '--steps', '1');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/not empty and holds no model/);
  });
});
