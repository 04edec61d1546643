// The eval job and attention-diff on a tiny InternLM-XComposer-2.5 folder
// (decision 0724): `mia-dpo eval` opens the model through the one dispatch
// point (model-session.ts), so in generate and likelihood mode, with and
// without a PEFT adapter in the official IXC layout, every stored item is what
// IxcAppSession answers / scores directly on the item's prompt (greedy tokens,
// the prompt ids with image rows marked -200, the per-image means over each
// image's whole span; each option letter's summed log-prob). `compare` pairs
// the base and adapter runs; `eval.attention.diff` returns the global-view
// grids (side x side merged tokens, as selection reads them) of both models
// and their difference.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../electron/cli/command';
import { runCli } from '../../../../electron/cli/run';
import { IxcAppSession } from '../../../../electron/engine/generate/ixc-app-session';
import { buildPrompt } from '../../../../electron/pipeline/eval/prompt';
import { createService } from '../../../../electron/service';
import type { PairedComparison } from '../../../../shared/pipeline/eval';
import { writeRandomIxcAdapter } from '../../../helpers/ixc-adapter';
import { writeTinyIxc, type TinyIxc } from '../../../helpers/tiny-ixc';
import { photoLike, writeRgbPng } from '../../engine/vision/draw-images';

const home = mkdtempSync(path.join(os.tmpdir(), 'ixc-eval-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');
const MAX_NEW = 4;
const LAYER = 1;

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (w: (s: string) => void) => new Writable({ write: (c: Buffer, _e, done) => (w(c.toString()), done()) });
  const io: CliIo = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

const ITEMS = [
  {
    id: 'm1',
    question: 'Which image is wider?',
    options: ['first', 'second'],
    answer: 'A',
    images: ['wide.png', 'tall.png'],
    category: 'shape',
  },
  { id: 'm2', question: 'What is shown?', options: ['a cat', 'a car'], answer: 'B', images: ['photo.png'] },
  { id: 'y1', question: 'Is it tall?', answer: 'yes', images: ['tall.png'], category: 'shape' },
];
/** The prompt the job builds for an item (its own prompt code: the input, not what is checked). */
const promptOf = (i: (typeof ITEMS)[number]) =>
  buildPrompt({
    question: i.question,
    hint: null,
    options: (i.options ?? []).map((text, k) => ({ letter: 'ABCDEFGH'[k]!, text })),
    kind: i.options ? 'mcq' : 'yesno',
    imageCount: i.images.length,
  });

let tiny: TinyIxc;
let proj: string;
let data: string;
let adapterDir: string;

beforeAll(async () => {
  tiny = await writeTinyIxc(31);
  data = path.join(home, 'data');
  mkdirSync(data, { recursive: true });
  await writeRgbPng(path.join(data, 'wide.png'), photoLike(150, 60, 1), 150, 60);
  await writeRgbPng(path.join(data, 'tall.png'), photoLike(50, 90, 2), 50, 90);
  await writeRgbPng(path.join(data, 'photo.png'), photoLike(120, 100, 3), 120, 100);
  const file = path.join(data, 'ixc-bench.jsonl');
  writeFileSync(file, ITEMS.map((i) => JSON.stringify(i)).join('\n'));
  adapterDir = path.join(home, 'adapter');
  const probe = await IxcAppSession.open({ modelDir: tiny.dir, ep: 'cpu' });
  try {
    await writeRandomIxcAdapter(adapterDir, probe.session.model.spec, { seed: 7 });
  } finally {
    await probe.close();
  }
  proj = path.join(home, 'proj');
  expect((await run('project', 'create', proj)).code).toBe(0);
  const imported = await run('bench', 'import', proj, file, '--json');
  expect(JSON.parse(imported.out)).toMatchObject({ items: 3, problems: [] });
}, 120_000);

afterAll(() => {
  tiny?.cleanup();
  rmSync(home, { recursive: true, force: true });
});

interface Shown {
  items: {
    index: string;
    prompt_ids: number[];
    prediction: string | null;
    correct: boolean;
    response_ids: number[] | null;
    option_scores: Record<string, number> | null;
    per_image_mean: number[] | null;
  }[];
}

async function evaluate(...extra: string[]): Promise<number> {
  const common = ['--model', tiny.dir, '--bench', 'ixc-bench', '--ep', 'cpu', '--layer', String(LAYER), '--json'];
  const r = await run('eval', proj, ...common, '--max-new-tokens', String(MAX_NEW), ...extra);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { run_id: number }).run_id;
}

const show = async (runId: number) =>
  JSON.parse((await run('eval', 'show', proj, String(runId), '--json')).out) as Shown;

describe('the eval job on an IXC2.5 folder', () => {
  it('stores what IxcAppSession answers and scores, base and with an adapter; compare and attention-diff work', async () => {
    const gen = await evaluate();
    const lik = await evaluate('--mode', 'likelihood');
    const adapted = await evaluate('--adapter', adapterDir);
    expect(new Set([gen, lik, adapted]).size).toBe(3);
    const [genShown, likShown, adaptedShown] = [await show(gen), await show(lik), await show(adapted)];
    expect(genShown.items.map((i) => i.index)).toEqual(['m1', 'm2', 'y1']);

    const open = (adapter?: string) =>
      IxcAppSession.open({
        modelDir: tiny.dir,
        ep: 'cpu',
        attentionLayers: [LAYER],
        ...(adapter ? { adapter: { dir: adapter } } : {}),
      });
    const base = await open();
    const withAdapter = await open(adapterDir);
    try {
      for (const [k, item] of ITEMS.entries()) {
        const images = item.images.map((f) => path.join(data, f));
        const prompt = promptOf(item);
        for (const [shown, session] of [
          [genShown, base],
          [adaptedShown, withAdapter],
        ] as const) {
          const got = shown.items[k]!;
          const want = await session.answer({ prompt, images, maxNewTokens: MAX_NEW });
          const g = want.generation;
          expect(got.prompt_ids).toEqual(g.inputIds);
          expect(got.prompt_ids.filter((x) => x === -200).length).toBe(
            g.imageSpans.reduce((n, s) => n + s.end - s.start, 0),
          );
          expect(got.response_ids).toEqual(g.stopReason === 'eos' ? g.tokens.slice(0, -1) : g.tokens);
          // Means over each image's whole span (separators included), as the session reads them.
          expect(got.per_image_mean).toHaveLength(item.images.length);
          got.per_image_mean!.forEach((m, i) => expect(m).toBeCloseTo(want.imageMaps[0]!.images[i]!.mean, 6));
        }
        const letters = item.options ? item.options.map((_, i) => 'ABCDEFGH'[i]!) : ['Yes', 'No'];
        const scored = await base.score({ prompt, images, responses: letters });
        const stored = likShown.items[k]!;
        expect(stored.prompt_ids).toEqual(scored.input_ids);
        expect(Object.keys(stored.option_scores!)).toEqual(letters);
        letters.forEach((l, i) => expect(stored.option_scores![l]).toBeCloseTo(scored.sum_logprob[i]!, 4));
        const best = letters[scored.sum_logprob.indexOf(Math.max(...scored.sum_logprob))];
        expect(stored.prediction).toBe(best);
      }
      // The adapter changes what is stored.
      expect(adaptedShown.items.map((i) => i.per_image_mean)).not.toEqual(genShown.items.map((i) => i.per_image_mean));

      const cmp = await run('compare', proj, String(gen), String(adapted), '--json');
      expect(cmp.code, cmp.err).toBe(0);
      const c = JSON.parse(cmp.out) as PairedComparison;
      expect(c.n).toBe(3);
      expect(c.both_right + c.a_only + c.b_only + c.both_wrong).toBe(3);

      // Attention difference on the two-image item: both models' global-view grids and B - A.
      const service = await createService({ configDir: path.join(home, 'config') });
      try {
        await service.handlers['project.open']({ dir: proj });
        const h = service.handlers;
        const items = await h['eval.items']({ run: gen, offset: 0, limit: 10 });
        const itemId = items.items.find((i) => i.index === 'm1')!.itemId;
        const diff = await h['eval.attention.diff']({ a: gen, b: adapted, itemId });
        const side = base.encoder.spec.side;
        expect(diff.layer).toBe(LAYER);
        expect(diff.side).toBe(side);
        const prompt = promptOf(ITEMS[0]!);
        const images = ITEMS[0]!.images.map((f) => path.join(data, f));
        const ra = await base.respond({ prompt, images, maxNewTokens: MAX_NEW });
        const rb = await withAdapter.respond({ prompt, images, maxNewTokens: MAX_NEW });
        expect(diff.images).toHaveLength(2);
        diff.images.forEach((im, i) => {
          expect(im.map_a).toHaveLength(side * side);
          im.map_a.forEach((v, j) => expect(v).toBeCloseTo(ra.attention.maps[i]!.flat()[j]!, 7));
          im.map_b.forEach((v, j) => expect(v).toBeCloseTo(rb.attention.maps[i]!.flat()[j]!, 7));
          im.diff.forEach((d, j) => expect(d).toBeCloseTo(im.map_b[j]! - im.map_a[j]!, 12));
          expect(im.mean_a).toBeCloseTo(ra.attention.per_image_mean[i]!, 7);
          expect(im.mean_b).toBeCloseTo(rb.attention.per_image_mean[i]!, 7);
          // Run A's stored mean is the same whole-span mean.
          expect(im.mean_a).toBeCloseTo(genShown.items[0]!.per_image_mean![i]!, 6);
        });
        expect(diff.images.some((im) => im.diff.some((d) => Math.abs(d) > 1e-6))).toBe(true);
      } finally {
        await service.close();
      }
    } finally {
      await withAdapter.close();
      await base.close();
    }
  }, 180_000);
});
