// Evaluation and model comparison (issue 10): benchmarks imported from local
// files, eval runs (one job each), accuracy with Wilson intervals, paired
// comparisons and per-item evidence. The `eval.*` commands are merged into the
// contract's command table; `mia-dpo bench|eval|compare` print these shapes.
import { z } from 'zod';
import { EpChoice } from '../ep';
import { Id, pageRequest } from '../api/domain';
import { RespondOptions } from './respond';

export const BENCH_FORMATS = ['tsv', 'json', 'jsonl'] as const;
export const EVAL_MODES = ['generate', 'likelihood'] as const;
export type EvalMode = (typeof EVAL_MODES)[number];
/** Option letters a benchmark item may have, as VLMEvalKit's columns `A`..`H`. */
export const OPTION_LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] as const;

/** Why a benchmark row was not imported. */
export const BENCH_PROBLEM_REASONS = [
  'malformed-row', // not parseable (wrong column count, bad JSON line, not an object)
  'missing-question',
  'missing-answer',
  'bad-answer', // a multiple-choice answer that names no given option
  'bad-options', // options not A, B, C... in order, or not strings
  'bad-image', // base64 that does not decode, or bytes that are not an image
  'missing-image', // an image_path / images entry that does not exist or escapes the folder
  'no-image', // no image at all
  'duplicate-index',
] as const;
export const BenchProblemReason = z.enum(BENCH_PROBLEM_REASONS);
export type BenchProblemReason = z.infer<typeof BenchProblemReason>;

export const BenchProblem = z.object({
  /** The row's `index` column (or JSON `index`/`id`), else its 0-based position, as text. */
  index: z.string(),
  /** 1-based data row (TSV: after the header; JSONL: line; JSON: array position + 1). */
  row: z.int().positive(),
  reason: BenchProblemReason,
  message: z.string(),
});
export type BenchProblem = z.infer<typeof BenchProblem>;

export const Benchmark = z.object({
  id: Id,
  name: z.string(),
  /** The file it was imported from (absolute). */
  file: z.string(),
  format: z.enum(BENCH_FORMATS),
  items: z.int().nonnegative(),
  problems: z.int().nonnegative(),
  categories: z.array(z.string()),
  importedAt: z.number(),
});
export type Benchmark = z.infer<typeof Benchmark>;

/** What an eval run is keyed by beyond the model id and the benchmark: the prompt and decoding settings. */
export const EvalOptions = z.strictObject({
  model: RespondOptions.shape.model,
  adapter: RespondOptions.shape.adapter,
  /** The benchmark's name in the project. */
  bench: z.string().min(1),
  mode: z.enum(EVAL_MODES).default('generate'),
  /** Generate mode: tokens generated at most per item (greedy). */
  maxNewTokens: z.int().positive().max(4096).default(32),
  ep: EpChoice.default('auto'),
  /** The weight format (issue 15; part of the model id, so of the run key). Absent: fp32 with no memory check. */
  weights: RespondOptions.shape.weights.removeDefault().optional(),
  weightBlock: RespondOptions.shape.weightBlock,
  layer: RespondOptions.shape.layer,
  aspect: RespondOptions.shape.aspect,
  template: RespondOptions.shape.template,
});
export type EvalOptions = z.output<typeof EvalOptions>;

/** A Wilson score interval at 95%: [lo, hi]. */
export const Interval = z.tuple([z.number(), z.number()]);

export const CategoryAccuracy = z.object({
  category: z.string(),
  n: z.int().nonnegative(),
  correct: z.int().nonnegative(),
  accuracy: z.number(),
  ci95: Interval,
});
export type CategoryAccuracy = z.infer<typeof CategoryAccuracy>;

export const EvalRun = z.object({
  id: Id,
  jobId: Id,
  modelId: z.string(),
  benchmarkId: Id,
  benchmark: z.string(),
  mode: z.enum(EVAL_MODES),
  /** The decoding and prompt settings of the run key, as stored. */
  decoding: z.record(z.string(), z.unknown()),
  /** Items of the benchmark; `answered` of them have a result so far. */
  items: z.int().nonnegative(),
  answered: z.int().nonnegative(),
  correct: z.int().nonnegative(),
  /** Over the answered items; 0 when none. */
  accuracy: z.number(),
  ci95: Interval,
  perCategory: z.array(CategoryAccuracy),
  createdAt: z.number(),
});
export type EvalRun = z.infer<typeof EvalRun>;

/** One item's stored result. Image ids are project images (served by the thumbnail route). */
export const EvalItemResult = z.object({
  itemId: Id,
  /** The benchmark row's `index`. */
  index: z.string(),
  category: z.string(),
  question: z.string(),
  imageIds: z.array(Id),
  answer: z.string(),
  /** The predicted option letter (or yes/no, or the short answer); null when nothing could be extracted. */
  prediction: z.string().nullable(),
  correct: z.boolean(),
  prompt_ids: z.array(z.int()),
  /** Generate mode. */
  response: z.string().nullable(),
  response_ids: z.array(z.int()).nullable(),
  /** Likelihood mode: letter -> continuation token ids / summed log-prob. */
  option_ids: z.record(z.string(), z.array(z.int())).nullable(),
  option_scores: z.record(z.string(), z.number()).nullable(),
  /** Per image, the mean attention at the attention layer (generate mode; null in likelihood mode). */
  per_image_mean: z.array(z.number().nullable()).nullable(),
});
export type EvalItemResult = z.infer<typeof EvalItemResult>;

/** Both right / only A right / only B right / both wrong. */
export const AGREEMENTS = ['both_right', 'a_only', 'b_only', 'both_wrong'] as const;
export type Agreement = (typeof AGREEMENTS)[number];

export const PairedComparison = z.object({
  a: Id,
  b: Id,
  /** Items both runs answered. */
  n: z.int().nonnegative(),
  both_right: z.int().nonnegative(),
  a_only: z.int().nonnegative(),
  b_only: z.int().nonnegative(),
  both_wrong: z.int().nonnegative(),
  accuracy_a: z.number(),
  accuracy_b: z.number(),
  /** Exact two-sided binomial McNemar test on the discordant items; 1 when there are none. */
  mcnemar_p: z.number(),
  /** accuracy(B) - accuracy(A) on the shared items. */
  delta: z.number(),
  /** Seeded paired bootstrap 95% percentile interval of delta. */
  delta_ci95: Interval,
  per_category: z.array(
    z.object({
      category: z.string(),
      n: z.int().nonnegative(),
      accuracy_a: z.number(),
      accuracy_b: z.number(),
      delta: z.number(),
    }),
  ),
});
export type PairedComparison = z.infer<typeof PairedComparison>;

/** The paper's Table 1: one row per (model, mode), one cell per benchmark (the latest run), deltas to the baseline row. */
export const EvalTable = z.object({
  benchmarks: z.array(z.object({ id: Id, name: z.string() })),
  rows: z.array(
    z.object({
      modelId: z.string(),
      mode: z.enum(EVAL_MODES),
      cells: z.array(
        z
          .object({
            benchmarkId: Id,
            runId: Id,
            n: z.int().nonnegative(),
            accuracy: z.number(),
            ci95: Interval,
            /** accuracy - the baseline row's on the same benchmark and mode; null for the baseline or when it has no run. */
            delta: z.number().nullable(),
          })
          .nullable(),
      ),
    }),
  ),
});
export type EvalTable = z.infer<typeof EvalTable>;

export const SideBySideItem = z.object({
  itemId: Id,
  index: z.string(),
  category: z.string(),
  question: z.string(),
  imageIds: z.array(Id),
  answer: z.string(),
  agreement: z.enum(AGREEMENTS),
  a: z.object({ prediction: z.string().nullable(), response: z.string().nullable(), correct: z.boolean() }),
  b: z.object({ prediction: z.string().nullable(), response: z.string().nullable(), correct: z.boolean() }),
});
export type SideBySideItem = z.infer<typeof SideBySideItem>;

/** Filters of the side-by-side page; absent fields do not filter. */
export const SideBySideFilter = z.strictObject({
  category: z.string().optional(),
  /** Only items where the runs disagree on correctness (a_only or b_only). */
  disagree: z.boolean().optional(),
  agreement: z.array(z.enum(AGREEMENTS)).min(1).optional(),
});
export type SideBySideFilter = z.infer<typeof SideBySideFilter>;

/** Per image of one item: A's and B's attention on the same prompt at the attention layer, and B minus A. */
export const AttentionDiff = z.object({
  itemId: Id,
  layer: z.int().nonnegative(),
  /** Maps are side x side, row-major; null side: a single row. */
  side: z.int().positive().nullable(),
  images: z.array(
    z.object({
      imageId: Id,
      mean_a: z.number(),
      mean_b: z.number(),
      mean_diff: z.number(),
      /** Each model's map (A: before, B: after), as Figure 6 draws them. */
      map_a: z.array(z.number()),
      map_b: z.array(z.number()),
      diff: z.array(z.number()),
    }),
  ),
});
export type AttentionDiff = z.infer<typeof AttentionDiff>;

const RunId = z.strictObject({ id: Id });

export const EVAL_COMMANDS = {
  /** Imports a VLMEvalKit TSV or a JSON/JSONL benchmark file; bad rows are listed, the rest imported. */
  'eval.bench.import': {
    request: z.strictObject({ file: z.string().min(1), name: z.string().min(1).max(200).optional() }),
    response: z.object({ benchmark: Benchmark, problems: z.array(BenchProblem) }),
  },
  'eval.bench.list': { request: z.strictObject({}), response: z.object({ benchmarks: z.array(Benchmark) }) },
  /** Starts (or resumes: the same run key joins its interrupted job) an eval job. */
  'eval.run': { request: EvalOptions, response: z.object({ jobId: Id }) },
  'eval.runs': { request: z.strictObject({}), response: z.object({ runs: z.array(EvalRun) }) },
  /** One run by id, or by the job that made it. */
  'eval.runs.get': {
    request: z.union([RunId, z.strictObject({ jobId: Id })]),
    response: EvalRun,
  },
  'eval.items': {
    request: z.strictObject({
      run: Id,
      ...pageRequest({ max: 100000, default: 100 }),
      category: z.string().optional(),
    }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(EvalItemResult) }),
  },
  'eval.compare': {
    request: z.strictObject({
      a: Id,
      b: Id,
      seed: z.int().nonnegative().default(0),
      resamples: z.int().min(100).max(100000).default(2000),
    }),
    response: PairedComparison,
  },
  /** Runs x benchmarks; `baseline` (a model id) gives the deltas, default the first row. */
  'eval.table': { request: z.strictObject({ baseline: z.string().optional() }), response: EvalTable },
  'eval.side': {
    request: z.strictObject({
      a: Id,
      b: Id,
      ...pageRequest({ max: 1000, default: 100 }),
      filter: SideBySideFilter.default({}),
    }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(SideBySideItem) }),
  },
  /** Runs both runs' models on one item's prompt (generate mode settings of run A) and returns B minus A per image. */
  'eval.attention.diff': { request: z.strictObject({ a: Id, b: Id, itemId: Id }), response: AttentionDiff },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;
