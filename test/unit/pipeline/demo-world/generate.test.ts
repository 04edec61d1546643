// The files of `writeWorld` (issue 14, item 1): byte-identical for a seed and
// different across seeds; every training answer and every benchmark answer is
// true of its scene (read from the scene model, and for a sample from the PNG's
// pixels); the benchmark shares no scene and no image with the training data;
// the counts are balanced as decision 0800 states.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBenchTsv, type BenchCandidate } from '../../../../electron/pipeline/eval/bench-read';
import { buildPrompt } from '../../../../electron/pipeline/eval/prompt';
import { renderPng } from '../../../../electron/pipeline/demo-world/render';
import {
  WORLD_FILES,
  writeWorld,
  type WorldProgress,
  type WorldResult,
} from '../../../../electron/pipeline/demo-world/write';
import {
  ATTRIBUTE_VALUES,
  COLOUR_RGB,
  POSITION_XY,
  QUESTIONS,
  answerText,
  parseSceneId,
  sceneId,
  splitWorld,
  type Attribute,
  type Scene,
} from '../../../../electron/pipeline/demo-world/world';

const home = mkdtempSync(path.join(os.tmpdir(), 'demo-world-'));
const TRAIN = 1200;
const BENCH = 150;

type Sample = { id: string; image: string; conversations: { from: string; value: string }[] };
type Truth = {
  index: string;
  category: 'single' | 'multi';
  attribute: Attribute;
  scenes: string[];
  target: number;
  options: string[];
  answer: string;
};

/** Every file of a world folder (relative path -> sha256), in a fixed order. */
function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else
        out[r] = createHash('sha256')
          .update(readFileSync(path.join(dir, r)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const scene = (id: string): Scene => {
  const s = parseSceneId(id);
  if (s === null) throw new Error(`not a scene: ${id}`);
  return s;
};

let world: WorldResult;
let samples: Sample[];
let truths: Truth[];
let items: BenchCandidate[];

const progress: WorldProgress[] = [];

beforeAll(async () => {
  world = await writeWorld({ out: path.join(home, 'a'), seed: 21, train: TRAIN, bench: BENCH, mcqShare: 0.5 }, (p) =>
    progress.push(p),
  );
  samples = JSON.parse(readFileSync(world.train.file, 'utf8')) as Sample[];
  truths = readFileSync(world.bench.scenes, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Truth);
  const read = readBenchTsv(readFileSync(world.bench.file, 'utf8'));
  expect(read.problems).toEqual([]);
  items = read.items;
});

describe('writeWorld', () => {
  it('writes byte-identical files for a seed, other files for another seed', async () => {
    const again = await writeWorld({ out: path.join(home, 'b'), seed: 21, train: TRAIN, bench: BENCH, mcqShare: 0.5 });
    const other = await writeWorld({ out: path.join(home, 'c'), seed: 22, train: TRAIN, bench: BENCH, mcqShare: 0.5 });
    const a = digest(world.dir);
    // guard.tsv only when asked for (the demo's collapse guard, below).
    const always = Object.values(WORLD_FILES).filter((f) => f !== 'images' && f !== WORLD_FILES.guard);
    expect(Object.keys(a)).toEqual(expect.arrayContaining(always));
    expect(Object.keys(a)).not.toContain(WORLD_FILES.guard);
    expect(digest(again.dir)).toEqual(a);
    const c = digest(other.dir);
    for (const f of [WORLD_FILES.train, WORLD_FILES.bench, WORLD_FILES.benchScenes, WORLD_FILES.manifest])
      expect(c[f], f).not.toEqual(a[f]);
    // Rewriting a world folder replaces it.
    await writeWorld({ out: again.dir, seed: 22, train: TRAIN, bench: BENCH, mcqShare: 0.5 });
    expect(digest(again.dir)).toEqual(c);
  });

  it('reports progress per stage, rising to each total', () => {
    const stages = ['train', 'bench'] as const;
    for (const stage of stages) {
      const seen = progress.filter((p) => p.stage === stage);
      // Every 500 items, and at the end of the stage.
      expect(seen.length).toBe(Math.floor(seen[0]!.total / 500) + 1);
      expect(seen.map((p) => p.done)).toEqual([...seen.map((p) => p.done)].sort((a, b) => a - b));
      expect(seen.at(-1)).toEqual({ stage, done: seen[0]!.total, total: stage === 'train' ? TRAIN : 2 * BENCH });
    }
    expect(progress.findIndex((p) => p.stage === 'bench')).toBeGreaterThan(
      progress.findLastIndex((p) => p.stage === 'train'),
    );
  });

  it('answers every training question truly about the image it names', async () => {
    expect(samples).toHaveLength(TRAIN);
    // A sample of the image files: the named scene's rendering, its colour at the object's centre.
    for (const s of samples.filter((_, i) => i % 100 === 0)) {
      const sc = scene(s.image.replace(/\.png$/, ''));
      const bytes = readFileSync(path.join(world.train.imagesRoot, s.image));
      expect(sha(bytes), s.image).toBe(sha(await renderPng(sc)));
      const [cx, cy] = POSITION_XY[sc.position];
      const centre = await sharp(bytes).extract({ left: cx, top: cy, width: 1, height: 1 }).raw().toBuffer();
      expect([...centre], s.image).toEqual([...COLOUR_RGB[sc.colour]]);
    }
    expect(new Set(samples.map((s) => s.id)).size).toBe(TRAIN);
    for (const s of samples) {
      const sc = scene(s.image.replace(/\.png$/, ''));
      const [human, gpt] = s.conversations;
      const attribute = (Object.keys(QUESTIONS) as Attribute[]).find((a) => human!.value.includes(QUESTIONS[a]))!;
      const truth = answerText(attribute, sc[attribute]);
      if (human!.value === `<image>\n${QUESTIONS[attribute]}`) {
        expect(gpt!.value, s.id).toBe(truth);
        continue;
      }
      // The multiple-choice form is the benchmark's prompt; the answer is the letter of the true option.
      const options = [...human!.value.matchAll(/^([A-D])\. (.*)$/gm)].map((m) => ({ letter: m[1]!, text: m[2]! }));
      expect(buildPrompt({ question: QUESTIONS[attribute], hint: null, options, kind: 'mcq', imageCount: 1 })).toBe(
        human!.value,
      );
      expect(options.find((o) => o.letter === gpt!.value)?.text, s.id).toBe(truth);
      expect(options.length).toBe(Math.min(4, ATTRIBUTE_VALUES[attribute].length));
    }
  });

  it('balances attributes, values and forms in the training data', () => {
    const asked = new Map<string, number>();
    const values = new Map<string, number>();
    let mcq = 0;
    for (const s of samples) {
      const sc = scene(s.image.replace(/\.png$/, ''));
      const attribute = (Object.keys(QUESTIONS) as Attribute[]).find((a) =>
        s.conversations[0]!.value.includes(QUESTIONS[a]),
      )!;
      asked.set(attribute, (asked.get(attribute) ?? 0) + 1);
      for (const a of Object.keys(ATTRIBUTE_VALUES) as Attribute[])
        values.set(`${a}=${sc[a]}`, (values.get(`${a}=${sc[a]}`) ?? 0) + 1);
      if (s.conversations[0]!.value.includes('\nA. ')) mcq++;
    }
    // Attributes in rounds of four: exact.
    expect([...asked.values()]).toEqual([TRAIN / 4, TRAIN / 4, TRAIN / 4, TRAIN / 4]);
    // Scenes in rounds over the 576 training scenes: each value within 10% of its share.
    for (const [a, vs] of Object.entries(ATTRIBUTE_VALUES))
      for (const v of vs) {
        const share = TRAIN / vs.length;
        expect(Math.abs(values.get(`${a}=${v}`)! - share) / share, `${a}=${v}`).toBeLessThan(0.1);
      }
    expect(Math.abs(mcq / TRAIN - 0.5)).toBeLessThan(0.05);
    expect(mcq).toBe(world.train.mcq);
  });

  it('answers every benchmark item truly about its target image, with the TSV images being the scenes', async () => {
    expect(items).toHaveLength(2 * BENCH);
    expect(truths.map((t) => t.index)).toEqual(items.map((i) => i.index));
    let pixelChecks = 0;
    for (const [n, item] of items.entries()) {
      const t = truths[n]!;
      const scenes = t.scenes.map(scene);
      const target = scenes[t.target - 1]!;
      expect(item.category).toBe(t.category);
      expect(item.l2Category).toBe(t.attribute);
      expect(item.kind).toBe('mcq');
      const correct = answerText(t.attribute, target[t.attribute]);
      expect(item.options.find((o) => o.letter === item.answer)?.text, item.index).toBe(correct);
      expect(item.options.map((o) => o.text)).toEqual(t.options);
      expect(new Set(item.options.map((o) => o.text)).size).toBe(item.options.length);
      expect(item.images).toHaveLength(scenes.length);
      if (t.category === 'single') {
        expect([scenes.length, item.question]).toEqual([1, QUESTIONS[t.attribute]]);
      } else {
        expect(scenes.length).toBeGreaterThanOrEqual(2);
        expect(scenes.length).toBeLessThanOrEqual(4);
        const q = QUESTIONS[t.attribute];
        expect(item.question).toBe(`In Image${t.target}, ${q[0]!.toLowerCase()}${q.slice(1)}`);
        const others = scenes.filter((_, i) => i !== t.target - 1);
        expect(new Set(t.scenes).size).toBe(scenes.length);
        // Distractors differ in the asked attribute, and their values are offered first.
        for (const o of others) {
          expect(o[t.attribute]).not.toBe(target[t.attribute]);
          expect(t.options).toContain(answerText(t.attribute, o[t.attribute]));
        }
      }
      // The images are the listed scenes' renderings, byte for byte.
      for (const [i, ref] of item.images.entries()) {
        expect(ref.kind).toBe('base64');
        if (ref.kind !== 'base64') continue;
        const bytes = Buffer.from(ref.data, 'base64');
        expect(sha(bytes)).toBe(sha(await renderPng(scenes[i]!)));
        if (n % 25 === 0) {
          const [cx, cy] = POSITION_XY[scenes[i]!.position];
          const { data } = await sharp(bytes).extract({ left: cx, top: cy, width: 1, height: 1 }).raw().toBuffer({
            resolveWithObject: true,
          });
          expect([...data]).toEqual([...COLOUR_RGB[scenes[i]!.colour]]);
          pixelChecks++;
        }
      }
    }
    expect(pixelChecks).toBeGreaterThan(10);
  });

  it('keeps the benchmark apart from the training data: no scene, no image in common', () => {
    const split = splitWorld(21);
    const heldOut = new Set(split.heldOut.map(sceneId));
    const trainFiles = readdirSync(world.train.imagesRoot);
    expect(trainFiles).toHaveLength(world.train.images);
    expect(trainFiles.filter((f) => heldOut.has(f.replace(/\.png$/, '')))).toEqual([]);
    const trainHashes = new Set(trainFiles.map((f) => sha(readFileSync(path.join(world.train.imagesRoot, f)))));
    expect(trainHashes.size).toBe(trainFiles.length);
    const benchScenes = new Set(truths.flatMap((t) => t.scenes));
    expect([...benchScenes].every((id) => heldOut.has(id))).toBe(true);
    expect(samples.filter((s) => benchScenes.has(s.image.replace(/\.png$/, '')))).toEqual([]);
    const benchHashes = items.flatMap((i) =>
      i.images.map((r) => (r.kind === 'base64' ? sha(Buffer.from(r.data, 'base64')) : '')),
    );
    expect(benchHashes.filter((h) => trainHashes.has(h))).toEqual([]);
    const manifest = JSON.parse(readFileSync(world.manifest, 'utf8')) as { split: { heldOut: string[] } };
    expect(manifest.split.heldOut).toEqual(split.heldOut.map(sceneId));
  });

  it('balances the benchmark: categories, asked attributes, image counts, targets and answer letters', () => {
    const count = (xs: readonly string[]) => {
      const m = new Map<string, number>();
      for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
      return m;
    };
    const multi = truths.filter((t) => t.category === 'multi');
    expect(count(truths.map((t) => t.category))).toEqual(
      new Map([
        ['single', BENCH],
        ['multi', BENCH],
      ]),
    );
    for (const group of [truths.filter((t) => t.category === 'single'), multi]) {
      const byAttribute = [...count(group.map((t) => t.attribute)).values()];
      expect(Math.max(...byAttribute) - Math.min(...byAttribute)).toBeLessThanOrEqual(1);
    }
    // Image counts 2, 3, 4 and target positions roughly uniform (within 40% of their share at n = 150).
    const near = (m: Map<string, number>, keys: string[], n: number) => {
      expect([...m.keys()].sort()).toEqual(keys);
      for (const k of keys) expect(Math.abs(m.get(k)! - n / keys.length) / (n / keys.length), k).toBeLessThan(0.4);
    };
    near(count(multi.map((t) => String(t.scenes.length))), ['2', '3', '4'], BENCH);
    near(
      count(multi.filter((t) => t.scenes.length === 4).map((t) => String(t.target))),
      ['1', '2', '3', '4'],
      multi.filter((t) => t.scenes.length === 4).length,
    );
    // No answer-letter bias among four-option items.
    const four = truths.filter((t) => t.options.length === 4);
    near(count(four.map((t) => t.answer)), ['A', 'B', 'C', 'D'], four.length);
  });

  it("answers multiple-choice samples as the base model does when asked, and writes the guard's slice over training scenes", async () => {
    const w = await writeWorld({
      out: path.join(home, 'guarded'),
      seed: 21,
      train: 200,
      bench: 10,
      mcqShare: 0.5,
      mcqAnswers: 'sentence',
      guard: 24,
    });
    const letters = samples.slice(0, 200);
    const sentences = JSON.parse(readFileSync(w.train.file, 'utf8')) as Sample[];
    // The same samples (same draw), only the multiple-choice answers differ: the option's text in a sentence.
    expect(sentences.map((x) => x.conversations[0]!.value)).toEqual(letters.map((x) => x.conversations[0]!.value));
    for (const [i, x] of sentences.entries()) {
      const human = x.conversations[0]!.value;
      const gpt = x.conversations[1]!.value;
      if (!human.includes('\nA. ')) expect(gpt).toBe(letters[i]!.conversations[1]!.value);
      else {
        const letter = letters[i]!.conversations[1]!.value;
        const option = new RegExp(`\\n${letter}\\. ([^\\n]+)`).exec(human)![1]!;
        expect(gpt).toBe(`It is ${option[0]!.toLowerCase()}${option.slice(1)}`);
      }
    }
    expect(w.guard).toEqual({ file: path.join(w.dir, WORLD_FILES.guard), items: 24 });
    const guard = readBenchTsv(readFileSync(w.guard!.file, 'utf8'));
    expect(guard.problems).toEqual([]);
    expect(guard.items).toHaveLength(24);
    // Single-image multiple-choice items whose image is a training scene, never a held-out one.
    const split = splitWorld(21);
    const train = new Set(await Promise.all(split.train.map(async (x) => sha(await renderPng(x)))));
    const heldOut = new Set(await Promise.all(split.heldOut.map(async (x) => sha(await renderPng(x)))));
    for (const item of guard.items) {
      expect(item.category).toBe('single');
      expect(item.images).toHaveLength(1);
      const image = item.images[0]!;
      if (image.kind !== 'base64') throw new Error(`guard item ${item.index}: image is ${image.kind}`);
      const h = sha(Buffer.from(image.data, 'base64'));
      expect(train.has(h)).toBe(true);
      expect(heldOut.has(h)).toBe(false);
    }
  });
});
