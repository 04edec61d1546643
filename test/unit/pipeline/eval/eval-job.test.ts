// The eval job end to end on a tiny random llava-hf model (issue 10, item 2):
// `mia-dpo eval` in generate and likelihood mode, then the stored per-item
// results against the independent PyTorch reference (greedy tokens from the
// stored prompt ids and pixels; each option's summed log-prob), `eval show`,
// `eval list`, a second run of the same key adding nothing, and `compare`
// of the base model against an adapter on the same items.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../electron/cli/command';
import { runCli } from '../../../../electron/cli/run';
import { createService } from '../../../../electron/service';
import { preprocessImage } from '../../../../electron/engine/vision/preprocess';
import { loadPreprocessorConfig } from '../../../../electron/engine/vision/preprocessor-config';
import { maxAbsDiff } from '../../../helpers/ort';
import { writeTinyLlava } from '../../../helpers/tiny-llava';
import { runReference } from '../../engine/models/reference';
import { writeAdapter } from '../respond/fixture';
import type { PairedComparison } from '../../../../shared/pipeline/eval';

const home = mkdtempSync(path.join(os.tmpdir(), 'eval-job-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (w: (s: string) => void) => new Writable({ write: (c: Buffer, _e, done) => (w(c.toString()), done()) });
  const io: CliIo = { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

const MAX_NEW = 4;

/** A project with a 4-item JSONL benchmark (multiple choice with 2 and 1 images, yes/no) and a tiny model. */
async function fixture() {
  const data = path.join(home, 'data');
  mkdirSync(data, { recursive: true });
  for (const [name, colour] of [
    ['red', { r: 220, g: 20, b: 10 }],
    ['blue', { r: 10, g: 30, b: 230 }],
    ['noise', { r: 90, g: 160, b: 40 }],
  ] as const) {
    const pixels = Buffer.alloc(20 * 14 * 3);
    for (let i = 0; i < pixels.length; i += 3) {
      const k = (i * 7919) % 61;
      pixels[i] = (colour.r + k) % 256;
      pixels[i + 1] = (colour.g + 2 * k) % 256;
      pixels[i + 2] = (colour.b + 3 * k) % 256;
    }
    await sharp(pixels, { raw: { width: 20, height: 14, channels: 3 } })
      .png()
      .toFile(path.join(data, `${name}.png`));
  }
  const items = [
    {
      id: 'm1',
      question: 'Which image is red?',
      options: ['first', 'second'],
      answer: 'A',
      images: ['red.png', 'blue.png'],
      category: 'colour',
    },
    {
      id: 'm2',
      question: 'What is shown?',
      options: ['a cat', 'a dog', 'a car'],
      answer: 'C',
      images: ['noise.png'],
      category: 'object',
    },
    { id: 'y1', question: 'Is it blue?', answer: 'yes', images: ['blue.png'], category: 'colour' },
    {
      id: 'm3',
      question: 'Same colour?',
      options: ['yes', 'no'],
      answer: 'B',
      images: ['red.png', 'noise.png', 'blue.png'],
      category: 'object',
    },
  ];
  const file = path.join(data, 'tiny-bench.jsonl');
  writeFileSync(file, items.map((i) => JSON.stringify(i)).join('\n'));
  const modelDir = path.join(home, 'tiny-llava');
  await writeTinyLlava({ seed: 11, textLayers: 2, visionLayers: 2 }, modelDir);
  const adapterDir = await writeAdapter(modelDir, path.join(home, 'adapter'), 5);
  const proj = path.join(home, 'proj');
  expect((await run('project', 'create', proj)).code).toBe(0);
  const imported = await run('bench', 'import', proj, file, '--json');
  expect(JSON.parse(imported.out)).toMatchObject({ items: 4, problems: [] });
  return { proj, modelDir, adapterDir, data };
}

interface Shown {
  run_id: number;
  mode: string;
  accuracy: number;
  items: {
    index: string;
    prompt_ids: number[];
    prediction: string | null;
    answer: string;
    correct: boolean;
    response_ids?: number[];
    response?: string;
    option_ids?: Record<string, number[]>;
    option_scores?: Record<string, number>;
  }[];
}

describe('mia-dpo eval', () => {
  it('stores per-item results that match the PyTorch reference, and compares runs', async () => {
    const { proj, modelDir, adapterDir, data } = await fixture();
    const gen = await run(
      'eval',
      proj,
      '--model',
      modelDir,
      '--bench',
      'tiny-bench',
      '--max-new-tokens',
      String(MAX_NEW),
      '--ep',
      'cpu',
      '--json',
    );
    expect(gen.code, gen.err).toBe(0);
    const genReport = JSON.parse(gen.out) as {
      run_id: number;
      accuracy: number;
      ci95: number[];
      per_category: { category: string }[];
    };
    expect(genReport.ci95[0]).toBeLessThanOrEqual(genReport.accuracy);
    expect(genReport.ci95[1]).toBeGreaterThanOrEqual(genReport.accuracy);
    expect(genReport.per_category.map((c) => c.category)).toEqual(['colour', 'object']);

    const lik = await run(
      'eval',
      proj,
      '--model',
      modelDir,
      '--bench',
      'tiny-bench',
      '--mode',
      'likelihood',
      '--ep',
      'cpu',
      '--json',
    );
    expect(lik.code, lik.err).toBe(0);
    const likRun = (JSON.parse(lik.out) as { run_id: number }).run_id;
    expect(likRun).not.toBe(genReport.run_id);

    const genShown = JSON.parse((await run('eval', 'show', proj, String(genReport.run_id), '--json')).out) as Shown;
    const likShown = JSON.parse((await run('eval', 'show', proj, String(likRun), '--json')).out) as Shown;
    expect(genShown.items.map((i) => i.index)).toEqual(['m1', 'm2', 'y1', 'm3']);
    expect(likShown.items.map((i) => i.index)).toEqual(['m1', 'm2', 'y1', 'm3']);

    const processor = await loadPreprocessorConfig(modelDir);
    const images: Record<string, string[]> = {
      m1: ['red', 'blue'],
      m2: ['noise'],
      y1: ['blue'],
      m3: ['red', 'noise', 'blue'],
    };
    for (const [g, l] of genShown.items.map((it, k) => [it, likShown.items[k]!] as const)) {
      const px = await Promise.all(
        images[g.index]!.map((n) => preprocessImage(path.join(data, `${n}.png`), processor, { aspect: 'pad' })),
      );
      const all = new Float32Array(px.reduce((s, p) => s + p.data.length, 0));
      px.reduce((at, p) => (all.set(p.data, at), at + p.data.length), 0);
      const side = Math.round(Math.sqrt(px[0]!.data.length / 3));
      const pixels = { data: all, shape: [px.length, 3, side, side] };
      const ref = runReference(modelDir, {
        input_ids: g.prompt_ids,
        pixels,
        steps: MAX_NEW,
        score: Object.values(l.option_ids!).map((r) => ({ prompt_ids: l.prompt_ids, response_ids: r })),
      });
      // Generate mode: the stored response tokens are the reference's greedy tokens (up to an end token, which is not stored).
      expect(ref.tokens.slice(0, g.response_ids!.length)).toEqual(g.response_ids);
      // Likelihood mode: each option's summed log-prob; the prediction is the best of them.
      const scores = Object.values(l.option_scores!);
      ref.scores.forEach((lp, k) =>
        expect(scores[k]).toBeCloseTo(
          lp.reduce((a, b) => a + b, 0),
          3,
        ),
      );
      expect(
        maxAbsDiff(
          scores,
          ref.scores.map((lp) => lp.reduce((a, b) => a + b, 0)),
        ),
      ).toBeLessThanOrEqual(1e-3);
      const letters = Object.keys(l.option_scores!);
      expect(l.prediction).toBe(letters[scores.indexOf(Math.max(...scores))]);
      expect(l.correct).toBe(l.prediction === l.answer);
    }
    expect(genShown.items.some((i) => i.response_ids!.length > 0)).toBe(true);
    expect(Object.keys(likShown.items[2]!.option_ids!)).toEqual(['Yes', 'No']);

    // The same key again: the run is complete, nothing is added.
    const again = JSON.parse(
      (
        await run(
          'eval',
          proj,
          '--model',
          modelDir,
          '--bench',
          'tiny-bench',
          '--max-new-tokens',
          String(MAX_NEW),
          '--ep',
          'cpu',
          '--json',
        )
      ).out,
    ) as { run_id: number; answered: number };
    expect(again).toMatchObject({ run_id: genReport.run_id, answered: 4 });

    const adapted = await run(
      'eval',
      proj,
      '--model',
      modelDir,
      '--adapter',
      adapterDir,
      '--bench',
      'tiny-bench',
      '--max-new-tokens',
      String(MAX_NEW),
      '--ep',
      'cpu',
      '--json',
    );
    const adaptedRun = (JSON.parse(adapted.out) as { run_id: number; model_id: string }).run_id;
    expect(adaptedRun).not.toBe(genReport.run_id);
    const listed = JSON.parse((await run('eval', 'list', proj, '--json')).out) as {
      runs: { run_id: number; model_id: string }[];
    };
    expect(listed.runs.map((r) => r.run_id)).toEqual([genReport.run_id, likRun, adaptedRun]);
    expect(listed.runs[2]!.model_id).toContain('+adapter@');

    const cmp = await run('compare', proj, String(genReport.run_id), String(adaptedRun), '--json');
    expect(cmp.code, cmp.err).toBe(0);
    const c = JSON.parse(cmp.out) as PairedComparison;
    expect(c.both_right + c.a_only + c.b_only + c.both_wrong).toBe(4);
    expect(c.delta).toBeCloseTo((c.b_only - c.a_only) / 4, 12);
    expect(c.per_category).toHaveLength(2);
    expect((await run('compare', proj, String(genReport.run_id), '99')).code).toBe(1);

    // Figure 6 (decision 0820): base and adapter runs chosen from the project, a two-image item, files written.
    const fig = await run('figures', proj, '--figure', '6', '--json');
    expect(fig.code, fig.err).toBe(0);
    const figReport = JSON.parse(fig.out) as { files: string[]; item: number; runs: [number, number] };
    expect(figReport.runs).toEqual([genReport.run_id, adaptedRun]);
    const figData = JSON.parse(
      readFileSync(
        figReport.files.find((f) => f.endsWith('.json'))!,
        'utf8',
      ),
    ) as {
      item: { id: number; target: number | null };
      images: { before: number[]; after: number[] }[];
    };
    expect(figData.item.id).toBe(figReport.item);
    expect(figData.images).toHaveLength(2);
    const png = await sharp(figReport.files.find((f) => f.endsWith('.png'))!).metadata();
    expect(png.width).toBeGreaterThan(600);

    // The UI's views of the same runs.
    const service = await createService({ configDir: path.join(home, 'config') });
    try {
      await service.handlers['project.open']({ dir: proj });
      const h = service.handlers;
      const table = await h['eval.table']({});
      expect(table.benchmarks.map((b) => b.name)).toEqual(['tiny-bench']);
      expect(table.rows.map((r) => [r.mode, r.cells[0]!.runId])).toEqual([
        ['generate', genReport.run_id],
        ['likelihood', likRun],
        ['generate', adaptedRun],
      ]);
      expect(table.rows[2]!.cells[0]!.delta).toBeCloseTo(c.delta, 12);
      const side = await h['eval.side']({
        a: genReport.run_id,
        b: adaptedRun,
        offset: 0,
        limit: 100,
        filter: { disagree: true },
      });
      expect(side.total).toBe(c.a_only + c.b_only);
      const colour = await h['eval.items']({ run: genReport.run_id, offset: 0, limit: 100, category: 'colour' });
      expect(colour.items.map((i) => i.index)).toEqual(['m1', 'y1']);
      expect(colour.items[0]!.per_image_mean).toHaveLength(2);
      const diff = await h['eval.attention.diff']({
        a: genReport.run_id,
        b: adaptedRun,
        itemId: colour.items[0]!.itemId,
      });
      expect(diff.images).toHaveLength(2);
      for (const im of diff.images) {
        expect(im.diff).toHaveLength(diff.side === null ? im.diff.length : diff.side * diff.side);
        expect(im.mean_diff).toBeCloseTo(im.mean_b - im.mean_a, 12);
        im.diff.forEach((d, k) => expect(d).toBeCloseTo(im.map_b[k]! - im.map_a[k]!, 12));
      }
      // Figure 6 drew this item (the only two-image one) with the same maps (greedy decoding: the same answers again).
      expect(figData.item.id).toBe(colour.items[0]!.itemId);
      figData.images.forEach((im, i) =>
        im.after.forEach((v, k) => expect(v).toBeCloseTo(diff.images[i]!.map_b[k]!, 9)),
      );
      // Run A's own answer reproduces its stored per-image attention (same prompt, same greedy decoding).
      diff.images.forEach((im, k) => expect(im.mean_a).toBeCloseTo(colour.items[0]!.per_image_mean![k]!, 6));
      await expect(h['eval.attention.diff']({ a: genReport.run_id, b: likRun, itemId: 1 })).rejects.toThrow(
        /attention layer/,
      );
    } finally {
      await service.close();
    }

    // A weight format is part of the model id, so of the run key: int8 is a run of its own, close to fp32's scores.
    const q = await run(
      'eval',
      proj,
      '--model',
      modelDir,
      '--bench',
      'tiny-bench',
      '--mode',
      'likelihood',
      '--weights',
      'int8',
      '--ep',
      'cpu',
      '--json',
    );
    expect(q.code, q.err).toBe(0);
    const qRun = JSON.parse(q.out) as { run_id: number; model_id: string };
    expect(qRun.model_id).toMatch(/:int8$/);
    expect([genReport.run_id, likRun, adaptedRun]).not.toContain(qRun.run_id);
    const qShown = JSON.parse((await run('eval', 'show', proj, String(qRun.run_id), '--json')).out) as Shown;
    qShown.items.forEach((it, k) => {
      const fp32 = Object.values(likShown.items[k]!.option_scores!);
      Object.values(it.option_scores!).forEach((v, j) => expect(Math.abs(v - fp32[j]!)).toBeLessThan(0.5));
    });
  }, 180_000);
});
