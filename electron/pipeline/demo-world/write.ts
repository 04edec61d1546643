// Writes a demo world to a folder (issue 14, item 1; docs/decisions/0800):
//   images/<scene>.png     one PNG per training scene used
//   train.json             LLaVA-format single-image samples (images relative to images/)
//   bench.tsv              VLMEvalKit TSV over held-out scenes only (base64 PNGs)
//   bench-scenes.jsonl     per benchmark item: its scenes, target and asked attribute
//   guard.tsv              (when asked) single-image items over training scenes, the demo's collapse guard
//   world.json             the seed, the counts, and the split of the 720 scenes
// Files are streamed (any size in bounded memory) and hold no time or
// absolute path, so the same seed and sizes give byte-identical files.
import { createWriteStream, existsSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { OPTION_LETTERS } from '../../../shared/pipeline/eval';
import { benchItems, guardItems, MAX_OPTIONS, trainSamples, type BenchItem, type McqAnswerForm } from './plan';
import { renderPng } from './render';
import { sceneId, splitWorld, type Scene, type WorldSplit } from './world';

export const WORLD_FILES = {
  manifest: 'world.json',
  train: 'train.json',
  images: 'images',
  bench: 'bench.tsv',
  benchScenes: 'bench-scenes.jsonl',
  guard: 'guard.tsv',
} as const;

/** Version of the world's definition and file layout, in world.json. */
export const WORLD_VERSION = 1;

export interface WorldRequest {
  out: string;
  seed: number;
  /** Training samples. */
  train: number;
  /** Benchmark items per category (single and multi). */
  bench: number;
  /** Share of training samples in the benchmark's multiple-choice form. */
  mcqShare: number;
  /** How those samples are answered: the option's letter (default) or as the base model answers (plan.ts `mcqAnswer`). */
  mcqAnswers?: McqAnswerForm;
  /** Single-image multiple-choice items over training scenes in guard.tsv (plan.ts `guardItems`); absent or 0: none. */
  guard?: number;
}

export interface WorldProgress {
  stage: 'train' | 'bench';
  done: number;
  total: number;
}

export interface WorldResult {
  dir: string;
  seed: number;
  manifest: string;
  train: { file: string; imagesRoot: string; samples: number; mcq: number; images: number };
  bench: { file: string; scenes: string; single: number; multi: number; images: number };
  /** guard.tsv, when asked for. */
  guard: { file: string; items: number } | null;
  split: { train: number; heldOut: number };
}

/** Progress is reported at most this often (items), and at each stage's end. */
const PROGRESS_EVERY = 500;

/** A stream written in order, waiting when its buffer is full. */
class Lines {
  private readonly stream: WriteStream;
  private failed: Error | null = null;
  constructor(file: string) {
    this.stream = createWriteStream(file);
    this.stream.on('error', (e) => (this.failed = e));
  }
  async write(text: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.stream.write(text))
      await new Promise<void>((resolve) => {
        // An error ends the wait too (no drain follows it); it is thrown below.
        const done = (): void => {
          this.stream.off('drain', done).off('error', done);
          resolve();
        };
        this.stream.on('drain', done).on('error', done);
      });
    if (this.failed) throw this.failed;
  }
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      this.stream.end((e?: Error | null) => (e ? reject(e) : resolve()));
    });
  }
}

/** The folder must be new, empty, or an earlier world (which is replaced). */
function prepareFolder(dir: string): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) return;
  if (!existsSync(path.join(dir, WORLD_FILES.manifest)))
    throw new AppError(
      'conflict',
      `${dir} is not empty and holds no demo world (${WORLD_FILES.manifest}); give a new or empty folder`,
      {
        subject: dir,
      },
    );
  for (const f of Object.values(WORLD_FILES)) rmSync(path.join(dir, f), { recursive: true, force: true });
}

/** A TSV row of pandas' form; the world's cells never hold a tab, newline or quote. */
const tsvRow = (cells: readonly string[]): string => `${cells.join('\t')}\n`;

const TSV_HEADER = [
  'index',
  'question',
  ...OPTION_LETTERS.slice(0, MAX_OPTIONS),
  'answer',
  'category',
  'l2-category',
  'image',
];

function benchRow(item: BenchItem, base64: readonly string[]): string {
  const options = Array.from({ length: MAX_OPTIONS }, (_, i) => item.options[i] ?? '');
  // VLMEvalKit's cells: one image as its base64, several as a Python list literal.
  const image = base64.length === 1 ? base64[0]! : `[${base64.map((b) => `'${b}'`).join(', ')}]`;
  return tsvRow([item.index, item.question, ...options, item.answer, item.category, item.attribute, image]);
}

type Report = (p: WorldProgress) => void;

/** train.json, and images/ with each training scene's PNG the first time a sample shows it. */
async function writeTrain(dir: string, split: WorldSplit, r: WorldRequest, onProgress: Report) {
  const file = path.join(dir, WORLD_FILES.train);
  const imagesRoot = path.join(dir, WORLD_FILES.images);
  await mkdir(imagesRoot, { recursive: true });
  const out = new Lines(file);
  const written = new Set<string>();
  let mcq = 0;
  let n = 0;
  await out.write('[');
  for (const s of trainSamples(split, r.seed, { count: r.train, mcqShare: r.mcqShare, mcqAnswers: r.mcqAnswers })) {
    const id = sceneId(s.scene);
    const image = `${id}.png`;
    if (!written.has(id)) {
      await writeFile(path.join(imagesRoot, image), await renderPng(s.scene));
      written.add(id);
    }
    if (s.form === 'mcq') mcq++;
    const conversations = [
      { from: 'human', value: s.human },
      { from: 'gpt', value: s.gpt },
    ];
    await out.write(`${n === 0 ? '\n' : ',\n'}${JSON.stringify({ id: s.id, image, conversations })}`);
    if (++n % PROGRESS_EVERY === 0) onProgress({ stage: 'train', done: n, total: r.train });
  }
  await out.write('\n]\n');
  await out.close();
  onProgress({ stage: 'train', done: n, total: r.train });
  return { file, imagesRoot, samples: n, mcq, images: written.size };
}

/** bench.tsv and bench-scenes.jsonl, row for row; each held-out scene is rendered once. */
async function writeBench(dir: string, split: WorldSplit, r: WorldRequest, onProgress: Report) {
  const file = path.join(dir, WORLD_FILES.bench);
  const scenes = path.join(dir, WORLD_FILES.benchScenes);
  const bench = new Lines(file);
  const truth = new Lines(scenes);
  const base64 = new Map<string, string>();
  const encoded = async (scene: Scene): Promise<string> => {
    const id = sceneId(scene);
    let b = base64.get(id);
    if (b === undefined) {
      b = (await renderPng(scene)).toString('base64');
      base64.set(id, b);
    }
    return b;
  };
  const counts = { single: 0, multi: 0 };
  const total = 2 * r.bench;
  await bench.write(tsvRow(TSV_HEADER));
  for (const item of benchItems(split, r.seed, r.bench)) {
    const images: string[] = [];
    for (const s of item.scenes) images.push(await encoded(s));
    await bench.write(benchRow(item, images));
    const { index, category, attribute, target, options, answer } = item;
    const line = { index, category, attribute, scenes: item.scenes.map(sceneId), target, options, answer };
    await truth.write(`${JSON.stringify(line)}\n`);
    counts[category]++;
    const done = counts.single + counts.multi;
    if (done % PROGRESS_EVERY === 0) onProgress({ stage: 'bench', done, total });
  }
  await bench.close();
  await truth.close();
  onProgress({ stage: 'bench', done: counts.single + counts.multi, total });
  return { file, scenes, ...counts, images: base64.size };
}

/** guard.tsv: `r.guard` single-image items over training scenes, in the benchmark's TSV form. */
async function writeGuard(dir: string, split: WorldSplit, r: WorldRequest & { guard: number }) {
  const file = path.join(dir, WORLD_FILES.guard);
  const out = new Lines(file);
  await out.write(tsvRow(TSV_HEADER));
  for (const item of guardItems(split, r.seed, r.guard))
    await out.write(benchRow(item, [(await renderPng(item.scenes[0]!)).toString('base64')]));
  await out.close();
  return { file, items: r.guard };
}

/** Writes the world `r` asks for; `onProgress` hears of each stage's progress. */
export async function writeWorld(r: WorldRequest, onProgress: Report = () => {}): Promise<WorldResult> {
  const dir = path.resolve(r.out);
  prepareFolder(dir);
  const split = splitWorld(r.seed);
  const train = await writeTrain(dir, split, r, onProgress);
  const bench = await writeBench(dir, split, r, onProgress);
  const guard = r.guard ? await writeGuard(dir, split, { ...r, guard: r.guard }) : null;
  const manifest = path.join(dir, WORLD_FILES.manifest);
  const world = {
    world: 'DEMO-WORLD',
    version: WORLD_VERSION,
    seed: r.seed,
    train: {
      file: WORLD_FILES.train,
      images: WORLD_FILES.images,
      samples: train.samples,
      mcq: train.mcq,
      imageFiles: train.images,
      mcqShare: r.mcqShare,
      mcqAnswers: r.mcqAnswers ?? 'letter',
    },
    bench: {
      file: WORLD_FILES.bench,
      scenes: WORLD_FILES.benchScenes,
      single: bench.single,
      multi: bench.multi,
      images: bench.images,
    },
    ...(guard ? { guard: { file: WORLD_FILES.guard, items: guard.items } } : {}),
    split: { train: split.train.map(sceneId), heldOut: split.heldOut.map(sceneId) },
  };
  await writeFile(manifest, `${JSON.stringify(world, null, 2)}\n`);
  return {
    dir,
    seed: r.seed,
    manifest,
    train,
    bench,
    guard,
    split: { train: split.train.length, heldOut: split.heldOut.length },
  };
}
