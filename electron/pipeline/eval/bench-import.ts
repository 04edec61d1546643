// Imports a benchmark file into a project (issue 10, item 1): the rows are
// read by ./bench-read.ts, each image (base64 in the file, or a file named
// relative to it) is decoded once to check it and stored content-addressed
// in the project cache (cache/bench/<sha256>.<ext>), and the items go to the
// store with their prompts in one transaction. A bad row or image is a
// problem naming the row's index; the rest is imported.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { AppError } from '../../../shared/errors';
import type { Benchmark, BenchProblem } from '../../../shared/pipeline/eval';
import type { Store } from '../../store/store';
import { readBenchJson, readBenchTsv, type BenchCandidate, type BenchRead, type ImageRef } from './bench-read';
import { buildPrompt } from './prompt';
import type { EvalQueries, NewBenchItem } from './queries';

export const BENCH_CACHE_DIR = path.join('cache', 'bench');

type StoredImage = NewBenchItem['images'][number];

class ImageProblem extends Error {
  constructor(
    readonly reason: 'bad-image' | 'missing-image',
    message: string,
  ) {
    super(message);
  }
}

export function benchFormat(file: string): Benchmark['format'] {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv') return 'tsv';
  if (ext === '.json') return 'json';
  if (ext === '.jsonl') return 'jsonl';
  throw new AppError('bad-input', `${file}: a benchmark is a .tsv (VLMEvalKit), .json or .jsonl file`, {
    subject: file,
  });
}

export function readBench(text: string, format: Benchmark['format']): BenchRead {
  return format === 'tsv' ? readBenchTsv(text) : readBenchJson(text, format);
}

/** Checks that `bytes` decode as an image and stores them in the cache once (by content). */
async function storeImage(cacheDir: string, bytes: Buffer, what: string): Promise<StoredImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new ImageProblem('bad-image', `${what} is not a readable image (${(e as Error).message})`);
  }
  if (!meta.width || !meta.height || !meta.format)
    throw new ImageProblem('bad-image', `${what} is not a readable image (no size or format)`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const file = path.join(cacheDir, `${sha256}.${meta.format}`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  }
  return { path: file, sha256, width: meta.width, height: meta.height, bytes: bytes.length };
}

async function imageBytes(ref: ImageRef, root: string, n: number): Promise<{ bytes: Buffer; what: string }> {
  if (ref.kind === 'base64') return { bytes: Buffer.from(ref.data, 'base64'), what: `image ${n}` };
  if (ref.kind === 'path') {
    const file = path.resolve(root, ref.path);
    try {
      return { bytes: await readFile(file), what: `image ${n} (${ref.path})` };
    } catch (e) {
      throw new ImageProblem(
        'missing-image',
        `image ${n} (${file}) cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  throw new AppError('internal', 'image references are resolved after the images they name');
}

export interface BenchImportResult {
  benchmark: Benchmark;
  problems: BenchProblem[];
}

/** Reads, checks and stores the benchmark `file` as `name` (default: the file's name without extension). */
export async function importBenchmark(
  store: Store<EvalQueries>,
  projectDir: string,
  file: string,
  name?: string,
): Promise<BenchImportResult> {
  const abs = path.resolve(file);
  const format = benchFormat(abs);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new AppError('not-found', `${abs} cannot be read: ${(e as Error).message}`, { subject: abs, cause: e });
  }
  const benchName = name ?? path.basename(abs, path.extname(abs));
  if ((await store.call('benchmarkId', { name: benchName })) !== null)
    throw new AppError(
      'conflict',
      `this project already has a benchmark named "${benchName}": import under another --name`,
      {
        subject: benchName,
      },
    );
  const read = readBench(text, format);
  const problems = [...read.problems];
  const cacheDir = path.join(projectDir, BENCH_CACHE_DIR);
  await mkdir(cacheDir, { recursive: true });
  const root = path.dirname(abs);
  const imagesOf = new Map<string, StoredImage[]>();
  const ok: BenchCandidate[] = [];
  // Rows that hold their images first, so a row naming another's image finds it stored.
  const ordered = [...read.items].sort(
    (a, b) => Number(a.images.some((i) => i.kind === 'ref')) - Number(b.images.some((i) => i.kind === 'ref')),
  );
  for (const item of ordered) {
    try {
      const images: StoredImage[] = [];
      for (const [i, ref] of item.images.entries()) {
        if (ref.kind === 'ref') {
          const held = imagesOf.get(ref.index);
          if (held === undefined)
            throw new ImageProblem(
              'bad-image',
              `image ${i + 1} names row "${ref.index}", whose image was not imported`,
            );
          images.push(...held);
          continue;
        }
        const { bytes, what } = await imageBytes(ref, root, i + 1);
        images.push(await storeImage(cacheDir, bytes, what));
      }
      imagesOf.set(item.index, images);
      ok.push(item);
    } catch (e) {
      if (!(e instanceof ImageProblem)) throw e;
      problems.push({ index: item.index, row: item.row, reason: e.reason, message: e.message });
    }
  }
  ok.sort((a, b) => a.row - b.row);
  problems.sort((a, b) => a.row - b.row);
  const items: NewBenchItem[] = ok.map((it) => {
    const images = imagesOf.get(it.index)!;
    return {
      row: it.row,
      index: it.index,
      kind: it.kind,
      question: it.question,
      hint: it.hint,
      options: it.options,
      answer: it.answer,
      category: it.category,
      l2Category: it.l2Category,
      images,
      prompt: buildPrompt({ ...it, imageCount: images.length }),
    };
  });
  const id = await store.call('insertBenchmark', {
    name: benchName,
    file: abs,
    format,
    problems: problems.length,
    items,
  });
  const benchmark = (await store.call('listBenchmarks')).find((b) => b.id === id)!;
  return { benchmark, problems };
}
