// The evaluation's store queries (migration 160), spread into the store's
// QUERIES table: benchmarks and their items, eval runs by their key, and the
// eval job's unit write (one item's result).
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import type { Benchmark, EvalMode } from '../../../shared/pipeline/eval';
import { parseJsonColumn, parseNullableJsonColumn } from '../../store/json-column';
import type { QueryTable } from '../../store/table';
import type { BenchOption, ItemKind } from './bench-read';

const OptionsColumn = z.array(z.object({ letter: z.string(), text: z.string() }));
const IdsColumn = z.array(z.int());
const OptionIdsColumn = z.record(z.string(), z.array(z.int()));
const ScoresColumn = z.record(z.string(), z.number());
const MeansColumn = z.array(z.number().nullable());
const DecodingColumn = z.record(z.string(), z.unknown());

export interface NewBenchItem {
  row: number;
  index: string;
  kind: ItemKind;
  question: string;
  hint: string | null;
  options: BenchOption[];
  answer: string;
  category: string;
  l2Category: string | null;
  /** Image files in the project cache, in prompt order. */
  images: { path: string; sha256: string; width: number; height: number; bytes: number }[];
  prompt: string;
}

/** Stores a benchmark with its items and their images in one transaction; a name already used is a conflict. */
export function insertBenchmark(
  db: Database,
  a: { name: string; file: string; format: Benchmark['format']; problems: number; items: NewBenchItem[] },
): number {
  const exists = db.prepare('SELECT id FROM benchmarks WHERE name = ?').pluck().get(a.name);
  if (exists !== undefined)
    throw new AppError(
      'conflict',
      `this project already has a benchmark named "${a.name}": import under another --name`,
      {
        subject: a.name,
      },
    );
  const id = Number(
    db
      .prepare('INSERT INTO benchmarks (name, file, format, problems, imported_at) VALUES (?, ?, ?, ?, ?)')
      .run(a.name, a.file, a.format, a.problems, Date.now()).lastInsertRowid,
  );
  const image = db.prepare(
    'INSERT INTO images (path, sha256, width, height, bytes) VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO NOTHING',
  );
  const imageId = db.prepare('SELECT id FROM images WHERE path = ?').pluck();
  const item = db.prepare(
    `INSERT INTO bench_items (benchmark_id, row, idx, kind, question, hint, options, answer, category, l2_category, image_ids, prompt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const it of a.items) {
    const ids = it.images.map((im) => {
      image.run(im.path, im.sha256, im.width, im.height, im.bytes);
      return imageId.get(im.path) as number;
    });
    item.run(
      id,
      it.row,
      it.index,
      it.kind,
      it.question,
      it.hint,
      JSON.stringify(it.options),
      it.answer,
      it.category,
      it.l2Category,
      JSON.stringify(ids),
      it.prompt,
    );
  }
  return id;
}

export function listBenchmarks(db: Database): Benchmark[] {
  const rows = db
    .prepare(
      `SELECT b.id, b.name, b.file, b.format, b.problems, b.imported_at,
         (SELECT count(*) FROM bench_items i WHERE i.benchmark_id = b.id) AS items,
         (SELECT json_group_array(category) FROM (SELECT DISTINCT category FROM bench_items i WHERE i.benchmark_id = b.id ORDER BY category)) AS categories
       FROM benchmarks b ORDER BY b.id`,
    )
    .all() as Record<string, unknown>[];
  return rows.map((r) => ({
    id: r.id as number,
    name: r.name as string,
    file: r.file as string,
    format: r.format as Benchmark['format'],
    items: r.items as number,
    problems: r.problems as number,
    categories: parseJsonColumn(z.array(z.string()), r.categories as string, {
      table: 'bench_items',
      row: r.id as number,
      column: 'category',
    }),
    importedAt: r.imported_at as number,
  }));
}

export interface BenchItem {
  id: number;
  benchmarkId: number;
  index: string;
  kind: ItemKind;
  question: string;
  options: BenchOption[];
  answer: string;
  category: string;
  imageIds: number[];
  /** The files of `imageIds`, in prompt order. */
  imagePaths: string[];
  prompt: string;
}

function itemOf(db: Database, r: Record<string, unknown>): BenchItem {
  const at = (column: string) => ({ table: 'bench_items', row: r.id as number, column });
  const imageIds = parseJsonColumn(IdsColumn, r.image_ids as string, at('image_ids'));
  const path = db.prepare('SELECT path FROM images WHERE id = ?').pluck();
  return {
    id: r.id as number,
    benchmarkId: r.benchmark_id as number,
    index: r.idx as string,
    kind: r.kind as ItemKind,
    question: r.question as string,
    options: parseJsonColumn(OptionsColumn, r.options as string, at('options')),
    answer: r.answer as string,
    category: r.category as string,
    imageIds,
    imagePaths: imageIds.map((id) => path.get(id) as string),
    prompt: r.prompt as string,
  };
}

export function benchItem(db: Database, a: { id: number }): BenchItem | null {
  const r = db.prepare('SELECT * FROM bench_items WHERE id = ?').get(a.id) as Record<string, unknown> | undefined;
  return r === undefined ? null : itemOf(db, r);
}

export function benchItems(db: Database, a: { benchmarkId: number }): BenchItem[] {
  const rows = db.prepare('SELECT * FROM bench_items WHERE benchmark_id = ? ORDER BY id').all(a.benchmarkId);
  return (rows as Record<string, unknown>[]).map((r) => itemOf(db, r));
}

export function benchmarkId(db: Database, a: { name: string }): number | null {
  return (db.prepare('SELECT id FROM benchmarks WHERE name = ?').pluck().get(a.name) as number | undefined) ?? null;
}

export interface RunKey {
  modelId: string;
  benchmarkId: number;
  mode: EvalMode;
  decoding: Record<string, unknown>;
}

/** The settings JSON with sorted keys, so equal settings always make the same key. */
export function decodingKey(decoding: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(decoding).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))));
}

/** The run of this key (made by `jobId` when there is none yet): a resumed or repeated evaluation fills the same run. */
export function ensureEvalRun(db: Database, a: RunKey & { jobId: number }): number {
  const key = decodingKey(a.decoding);
  db.prepare(
    `INSERT INTO eval_runs (job_id, model_id, benchmark_id, mode, decoding, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (model_id, benchmark_id, mode, decoding) DO UPDATE SET job_id = excluded.job_id`,
  ).run(a.jobId, a.modelId, a.benchmarkId, a.mode, key, Date.now());
  return db
    .prepare('SELECT id FROM eval_runs WHERE model_id = ? AND benchmark_id = ? AND mode = ? AND decoding = ?')
    .pluck()
    .get(a.modelId, a.benchmarkId, a.mode, key) as number;
}

/** Item ids of the run's benchmark without a result in the run, in id order. */
export function pendingEvalItems(db: Database, a: { runId: number }): number[] {
  return db
    .prepare(
      `SELECT i.id FROM bench_items i JOIN eval_runs r ON r.benchmark_id = i.benchmark_id
       WHERE r.id = ? AND NOT EXISTS (SELECT 1 FROM eval_results x WHERE x.run_id = r.id AND x.item_id = i.id) ORDER BY i.id`,
    )
    .pluck()
    .all(a.runId) as number[];
}

export interface EvalResultRecord {
  runId: number;
  itemId: number;
  promptIds: number[];
  response: string | null;
  responseIds: number[] | null;
  prediction: string | null;
  correct: boolean;
  optionIds: Record<string, number[]> | null;
  optionScores: Record<string, number> | null;
  perImageMean: number[] | null;
}

const int32 = (xs: readonly number[]): Buffer => Buffer.from(Int32Array.from(xs).buffer);
const ints = (b: Buffer): number[] =>
  Array.from(new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
const json = (v: unknown): string | null => (v === null ? null : JSON.stringify(v));

/** The eval job's unit write. */
export function insertEvalResult(db: Database, a: EvalResultRecord): void {
  db.prepare(
    `INSERT INTO eval_results (run_id, item_id, prompt_ids, response, response_ids, prediction, correct, option_ids, option_scores, per_image_mean, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    a.runId,
    a.itemId,
    int32(a.promptIds),
    a.response,
    a.responseIds === null ? null : int32(a.responseIds),
    a.prediction,
    a.correct ? 1 : 0,
    json(a.optionIds),
    json(a.optionScores),
    json(a.perImageMean),
    Date.now(),
  );
}

export interface EvalRunRow extends RunKey {
  id: number;
  jobId: number;
  benchmark: string;
  items: number;
  createdAt: number;
}

function runOf(r: Record<string, unknown>): EvalRunRow {
  return {
    id: r.id as number,
    jobId: r.job_id as number,
    modelId: r.model_id as string,
    benchmarkId: r.benchmark_id as number,
    benchmark: r.name as string,
    mode: r.mode as EvalMode,
    decoding: parseJsonColumn(DecodingColumn, r.decoding as string, {
      table: 'eval_runs',
      row: r.id as number,
      column: 'decoding',
    }),
    items: r.items as number,
    createdAt: r.created_at as number,
  };
}

const RUNS = `SELECT r.*, b.name, (SELECT count(*) FROM bench_items i WHERE i.benchmark_id = r.benchmark_id) AS items
  FROM eval_runs r JOIN benchmarks b ON b.id = r.benchmark_id`;

export function evalRuns(db: Database): EvalRunRow[] {
  return (db.prepare(`${RUNS} ORDER BY r.id`).all() as Record<string, unknown>[]).map(runOf);
}

export function evalRun(db: Database, a: { id?: number; jobId?: number }): EvalRunRow | null {
  const r = (
    a.id !== undefined
      ? db.prepare(`${RUNS} WHERE r.id = ?`).get(a.id)
      : db.prepare(`${RUNS} WHERE r.job_id = ? ORDER BY r.id DESC LIMIT 1`).get(a.jobId)
  ) as Record<string, unknown> | undefined;
  return r === undefined ? null : runOf(r);
}

/** One stored result with its item, as `eval show` and the side-by-side view read it. */
export interface EvalResultRow {
  itemId: number;
  index: string;
  category: string;
  question: string;
  imageIds: number[];
  answer: string;
  prompt: string;
  promptIds: number[];
  response: string | null;
  responseIds: number[] | null;
  prediction: string | null;
  correct: boolean;
  optionIds: Record<string, number[]> | null;
  optionScores: Record<string, number> | null;
  perImageMean: (number | null)[] | null;
}

/** A run's results in item order, optionally of one category. */
export function evalResults(db: Database, a: { runId: number; category?: string }): EvalResultRow[] {
  const rows = db
    .prepare(
      `SELECT x.*, i.idx, i.category, i.question, i.image_ids, i.answer, i.prompt FROM eval_results x JOIN bench_items i ON i.id = x.item_id
       WHERE x.run_id = ? AND (? IS NULL OR i.category = ?) ORDER BY x.item_id`,
    )
    .all(a.runId, a.category ?? null, a.category ?? null) as Record<string, unknown>[];
  return rows.map((r) => {
    const at = (column: string) => ({ table: 'eval_results', row: `${a.runId}/${r.item_id as number}`, column });
    return {
      itemId: r.item_id as number,
      index: r.idx as string,
      category: r.category as string,
      question: r.question as string,
      imageIds: parseJsonColumn(IdsColumn, r.image_ids as string, at('image_ids')),
      answer: r.answer as string,
      prompt: r.prompt as string,
      promptIds: ints(r.prompt_ids as Buffer),
      response: r.response as string | null,
      responseIds: r.response_ids === null ? null : ints(r.response_ids as Buffer),
      prediction: r.prediction as string | null,
      correct: r.correct === 1,
      optionIds: parseNullableJsonColumn(OptionIdsColumn, r.option_ids as string | null, at('option_ids')),
      optionScores: parseNullableJsonColumn(ScoresColumn, r.option_scores as string | null, at('option_scores')),
      perImageMean: parseNullableJsonColumn(MeansColumn, r.per_image_mean as string | null, at('per_image_mean')),
    };
  });
}

/** Every answered item of a run: what the statistics need. */
export function evalOutcomes(
  db: Database,
  a: { runId: number },
): { itemId: number; category: string; correct: boolean }[] {
  const rows = db
    .prepare(
      'SELECT x.item_id, i.category, x.correct FROM eval_results x JOIN bench_items i ON i.id = x.item_id WHERE x.run_id = ? ORDER BY x.item_id',
    )
    .all(a.runId) as { item_id: number; category: string; correct: number }[];
  return rows.map((r) => ({ itemId: r.item_id, category: r.category, correct: r.correct === 1 }));
}

/** The eval job's result (its final write): the run and its counts so far. */
export function evalJobSummary(
  db: Database,
  a: { runId: number },
): { runId: number; answered: number; correct: number; accuracy: number } {
  const r = db
    .prepare('SELECT count(*) AS answered, COALESCE(sum(correct), 0) AS correct FROM eval_results WHERE run_id = ?')
    .get(a.runId) as { answered: number; correct: number };
  return { runId: a.runId, ...r, accuracy: r.answered === 0 ? 0 : r.correct / r.answered };
}

export const EVAL_QUERIES = {
  evalOutcomes,
  evalJobSummary,
  insertBenchmark,
  listBenchmarks,
  benchItem,
  benchItems,
  benchmarkId,
  ensureEvalRun,
  pendingEvalItems,
  insertEvalResult,
  evalRuns,
  evalRun,
  evalResults,
} satisfies QueryTable;
export type EvalQueries = typeof EVAL_QUERIES;
