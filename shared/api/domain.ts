// Domain types of the API contract: projects, samples, images, problems, jobs.
// Each is a zod schema (runtime validation at every transport boundary) with
// its inferred TypeScript type, so the UI, the server and the CLI agree.
import { z } from 'zod';
import { WireError } from '../errors';

/** An error as it crosses a transport (defined with AppError, which it serialises). */
export { WireError };

/** Database row ids travel as non-negative integers. */
export const Id = z.int().nonnegative();
export type Id = z.infer<typeof Id>;

/**
 * The paging fields of a list request. The limits are per list because the
 * lists differ in row size and reader: the UI's sample and problem grids take
 * small pages, while `mia-dpo pairs` reads up to 100k pairs in one request.
 */
export function pageRequest(limit: { max: number; default: number }) {
  return { offset: z.int().nonnegative().default(0), limit: z.int().min(1).max(limit.max).default(limit.default) };
}

/** Milliseconds since the Unix epoch. */
export const Timestamp = z.number().nonnegative();

export const ProjectInfo = z.object({
  dir: z.string(),
  name: z.string(),
  createdAt: Timestamp,
  /** `user_version` of project.sqlite. */
  schemaVersion: z.int(),
  /** True when the database failed its integrity check and was opened read-only. */
  readOnly: z.boolean(),
  sampleCount: z.int().nonnegative(),
  imageCount: z.int().nonnegative(),
  problemCount: z.int().nonnegative(),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

export const RecentProject = z.object({ dir: z.string(), name: z.string(), openedAt: Timestamp });
export type RecentProject = z.infer<typeof RecentProject>;
/** A recent project as listed: `missing` when its folder no longer holds a project (moved or deleted); the start page offers to remove it. */
export const RecentListed = RecentProject.extend({ missing: z.boolean() });
export type RecentListed = z.infer<typeof RecentListed>;

/** An image referenced in place: the file stays where the user keeps it. */
export const Image = z.object({
  id: Id,
  /** Absolute path of the file. */
  path: z.string(),
  sha256: z.string(),
  width: z.int().positive(),
  height: z.int().positive(),
  bytes: z.int().nonnegative(),
});
export type Image = z.infer<typeof Image>;

export const Turn = z.object({ from: z.enum(['human', 'gpt']), value: z.string() });
export type Turn = z.infer<typeof Turn>;

export const SOURCE_KINDS = ['llava', 'folder'] as const;
export const SourceKind = z.enum(SOURCE_KINDS);
export type SourceKind = z.infer<typeof SourceKind>;

/** One imported dataset file or folder. */
export const Source = z.object({
  id: Id,
  kind: SourceKind,
  /** The LLaVA JSON/JSONL file, or the image folder. */
  path: z.string(),
  imagesRoot: z.string(),
  importJobId: Id,
  importedAt: Timestamp,
  sampleCount: z.int().nonnegative(),
  problemCount: z.int().nonnegative(),
});
export type Source = z.infer<typeof Source>;

export const PROBLEM_REASONS = [
  'missing-image', // the file named by `image` does not exist
  'unreadable-image', // exists but cannot be decoded (corrupt, not an image)
  'malformed-entry', // not valid JSON or not the LLaVA shape
  'duplicate-id', // an earlier entry of the same import has this id
  'path-escape', // `image` resolves outside the image root
  'symlink', // `image` (or a folder on its way) is a symbolic link
] as const;
export const ProblemReason = z.enum(PROBLEM_REASONS);
export type ProblemReason = z.infer<typeof ProblemReason>;

/**
 * A bad entry found by an import. Entries whose images fail are still imported
 * as samples (flagged `hasProblems`); malformed and duplicate entries are not,
 * so `sampleId` is null for them.
 */
export const Problem = z.object({
  id: Id,
  jobId: Id,
  sourceId: Id.nullable(),
  sampleId: Id.nullable(),
  /** 0-based position of the entry in the file (array index or JSONL line - 1). */
  index: z.int().nonnegative(),
  /** 1-based line in the file where known (JSONL, or the line an array entry starts on). */
  line: z.int().positive().nullable(),
  /** The entry's `id` field when it had one. */
  entryId: z.string().nullable(),
  reason: ProblemReason,
  message: z.string(),
  /** The image path involved, as written in the entry. */
  path: z.string().nullable(),
});
export type Problem = z.infer<typeof Problem>;

/** One row of the dataset grid. */
export const SampleSummary = z.object({
  id: Id,
  sourceId: Id,
  /** The `id` field of the dataset entry (file name for folder imports). */
  externalId: z.string(),
  /** First image, for the thumbnail; null for text-only samples or missing images. */
  imageId: Id.nullable(),
  imageCount: z.int().nonnegative(),
  /** First human turn without the `<image>` placeholder, shortened for the grid. */
  question: z.string(),
  hasProblems: z.boolean(),
});
export type SampleSummary = z.infer<typeof SampleSummary>;

export const SampleDetail = SampleSummary.extend({
  images: z.array(Image),
  conversation: z.array(Turn),
  problems: z.array(Problem),
});
export type SampleDetail = z.infer<typeof SampleDetail>;

export const JOB_STATES = ['queued', 'running', 'paused', 'done', 'failed', 'cancelled'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;
/** States a job never leaves. */
export const FINAL_JOB_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

export const JobProgress = z.object({
  done: z.int().nonnegative(),
  /** Null while the total is not known yet (e.g. a file still being counted). */
  total: z.int().nonnegative().nullable(),
  ratePerSec: z.number().nonnegative(),
  /** Null when unknown (no total or no rate yet). */
  etaSec: z.number().nonnegative().nullable(),
});
export type JobProgress = z.infer<typeof JobProgress>;

/**
 * What each job kind leaves once done (the return of its final write), one
 * schema per kind. A kind whose results live in their own tables (augmented
 * samples, responses) has an empty summary. A new kind adds its entry here.
 */
export const JOB_RESULTS = {
  /**
   * entries = imported + flagged + rejected. The four are absent from imports
   * that finished before they were recorded; `samples` (= imported + flagged)
   * and `problemEntries` (= flagged + rejected) are there for every import.
   */
  import: z.object({
    sourceId: Id,
    /** Entries read from the file (or images in the folder). */
    entries: z.int().nonnegative().optional(),
    /** Usable samples: imported without a problem. */
    imported: z.int().nonnegative().optional(),
    /** Imported with a problem (a missing or unreadable image...): kept as samples, marked for review. */
    flagged: z.int().nonnegative().optional(),
    /** Entries with a problem that keeps them from being a sample (malformed, duplicate id): not imported, listed as problems. */
    rejected: z.int().nonnegative().optional(),
    samples: z.int().nonnegative(),
    /** Problems found (an entry may have several). */
    problems: z.int().nonnegative(),
    /** Entries with at least one problem, including those that did not become samples. */
    problemEntries: z.int().nonnegative(),
    images: z.int().nonnegative(),
  }),
  /** Absent fields: an augment job that ended before these counts were recorded (its summary was empty). */
  augment: z
    .object({
      samples: z.int().nonnegative(),
      /** Samples left out of grid and pic-in-pic (still used for sequences): bounding-box conversations, Visual Genome images. */
      keptOutOfComposites: z.object({ grounding: z.int().nonnegative(), visualGenome: z.int().nonnegative() }),
      /** Sources that could take none of the requested formats, so were not augmented at all. */
      skipped: z.int().nonnegative(),
    })
    .partial(),
  respond: z.object({}),
  select: z.object({ kept: z.int().nonnegative(), newPairs: z.int().nonnegative() }),
  /** The eval run the job filled (shared/pipeline/eval.ts: `eval.runs.get`), with its headline figures. */
  eval: z.object({
    runId: Id,
    answered: z.int().nonnegative(),
    correct: z.int().nonnegative(),
    accuracy: z.number(),
  }),
  /** The run trained, its steps, the folder holding the final adapter, and the last step's loss. */
  train: z.object({ runId: Id, steps: z.int().nonnegative(), out: z.string(), loss: z.number().nullable() }),
  /** Reference log-probs live in their own table. */
  'train-reference': z.object({}),
  /** A training run's adapter merged into its base: the folder written (a plain llava-hf model) and its files. */
  'model-merge': z.object({
    runId: Id,
    /** The checkpoint merged; null: the run's final adapter. */
    step: z.int().nonnegative().nullable(),
    out: z.string(),
    tensors: z.int().nonnegative(),
    /** Modules whose weights the adapter changed. */
    merged: z.int().nonnegative(),
    files: z.array(z.string()),
  }),
  /** The paper's figures written into the project (shared/pipeline/figures.ts): the folder, the files, Figure 6's item and runs. */
  figures: z.object({
    dir: z.string(),
    files: z.array(z.string()),
    item: Id.nullable(),
    runs: z.tuple([Id, Id]).nullable(),
  }),
} as const;
export type JobKindName = keyof typeof JOB_RESULTS;
export type JobResult<K extends JobKindName> = z.infer<(typeof JOB_RESULTS)[K]>;
export type ImportResult = JobResult<'import'>;
export type SelectResult = JobResult<'select'>;

/** The fields every job has, whatever its kind. */
const JobFields = z.object({
  id: Id,
  /** Short human description, e.g. "Import llava_665k.json". */
  label: z.string(),
  state: JobState,
  progress: JobProgress,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** Set when state is 'failed'. */
  error: WireError.nullable(),
});

/**
 * A job as the generic runner keeps it: any kind (tests register their own),
 * the result not checked against the kind. The API narrows it to `Job` with `parseJob`.
 */
export type JobRecord = z.infer<typeof JobFields> & { kind: string; result: Record<string, unknown> | null };

// z.nullable(), not .nullable(): the method on the indexed schema loses the result's type once it has optional fields.
const jobOf = <K extends JobKindName>(kind: K) =>
  JobFields.extend({ kind: z.literal(kind), result: z.nullable(JOB_RESULTS[kind]) });

/** A job with its result typed by its kind: `job.kind === 'import'` narrows `job.result` to the import summary (null until done). */
export const Job = z.discriminatedUnion('kind', [
  jobOf('import'),
  jobOf('augment'),
  jobOf('respond'),
  jobOf('select'),
  jobOf('eval'),
  jobOf('train'),
  jobOf('train-reference'),
  jobOf('model-merge'),
  jobOf('figures'),
]);
export type Job = z.infer<typeof Job>;

/** Thumbnail edge lengths (longest side, px) the image route serves. */
export const THUMBNAIL_SIZES = [128, 256, 512, 1024] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];
