// The pipeline's API commands (issue #4), merged into the contract's command
// table (shared/api/commands.ts). A pair as the UI and `mia-dpo pairs --json`
// see it uses the field names.
import { z } from 'zod';
import { Id, pageRequest } from '../api/domain';
import { CHECKS } from './types';
import { FORMATS } from './formats';
import { AugmentOptions } from './augment';
import { RespondOptions } from './respond';
import { PipelineSettingsSchema } from './settings';

const Patch = z.record(z.string(), z.unknown());

export const EXPORT_FORMATS = ['mia', 'trl', 'llamafactory'] as const;

/**
 * An image a pair's prompt shows, by id (never a path): a project image
 * (sequence pairs; served by the thumbnail route) or the grid / pic-in-pic
 * composite of an augmented sample (served by the composite route).
 * `pairImageUrl` (./image-route) turns it into a URL the UI can load.
 */
export const PairImage = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('image'), id: Id }),
  z.object({ kind: z.literal('composite'), id: Id }),
]);
export type PairImage = z.infer<typeof PairImage>;

/**
 * An image as the model saw it when its generation was perturbed: `index` (0-based, `<image>` order) of the generation's
 * images with the respond job's seeded noise, re-rendered on request by the seen route. By generation id, never a path.
 */
export const SeenImage = z.object({ kind: z.literal('seen'), id: Id, index: z.int().nonnegative() });
export type SeenImage = z.infer<typeof SeenImage>;

export const REVIEW_STATES = ['pending', 'accepted', 'rejected'] as const;

export const PairView = z.object({
  id: Id,
  generation_id: Id,
  augmented_id: Id,
  format: z.enum(FORMATS),
  image_count: z.int(),
  /** 1-based. */
  target_index: z.int(),
  attention_ratio: z.number().nullable(),
  exact_ratio: z.number().nullable(),
  per_image_mean: z.array(z.number()).nullable(),
  ppl_maxprob: z.number().nullable(),
  ppl_true: z.number().nullable(),
  length_ratio: z.number().nullable(),
  edit_distance: z.number().nullable(),
  edit_distance_tokens: z.number().nullable(),
  /** As the last selection job stored it (the decisions table); null before any selection. */
  decision: z.enum(['keep', 'drop']).nullable(),
  reasons: z.array(z.string()),
  failed: z.array(z.enum(CHECKS)),
  review: z.enum(REVIEW_STATES),
  prompt: z.string(),
  /** In `<image>` order: the sequence's images, or the one composite. */
  images: z.array(PairImage),
  chosen: z.string(),
  rejected: z.string(),
  /** How the generation's images were fitted to the vision tower (decision 0105); null for a generation stored before it was recorded. */
  preprocess: z.enum(['crop', 'pad']).nullable(),
});
export type PairView = z.infer<typeof PairView>;

/** Columns a pair page can be sorted by; ties (NULLs included, which come last) are broken by ascending id. */
export const PAIR_SORT_KEYS = [
  'id',
  'attention_ratio',
  'exact_ratio',
  'ppl_maxprob',
  'ppl_true',
  'length_ratio',
  'edit_distance',
  'edit_distance_tokens',
] as const;
export type PairSortKey = (typeof PAIR_SORT_KEYS)[number];

/** Every given field must hold (AND); a list matches any of its values (OR). Absent fields do not filter. */
export const PairFilter = z.strictObject({
  format: z.array(z.enum(FORMATS)).min(1).optional(),
  imageCount: z.array(z.int().min(1).max(64)).min(1).optional(),
  decision: z
    .array(z.enum(['keep', 'drop', 'undecided']))
    .min(1)
    .optional(),
  review: z.array(z.enum(REVIEW_STATES)).min(1).optional(),
  /** Pairs whose stored decision failed this check. */
  failed: z.enum(CHECKS).optional(),
  /** Words in the prompt, chosen or rejected text (every word must match; the last one of 3+ letters as a prefix). */
  text: z.string().max(500).optional(),
});
export type PairFilter = z.infer<typeof PairFilter>;

export const PairSort = z.strictObject({
  by: z.enum(PAIR_SORT_KEYS).default('id'),
  dir: z.enum(['asc', 'desc']).default('asc'),
});
export type PairSort = z.output<typeof PairSort>;

/** One entry of a pair's review history: the action and the pair's texts after it. */
export const PairHistoryEntry = z.object({
  action: z.enum(['create', 'edit', 'accept', 'reject', 'undo', 'redo']),
  at: z.int(),
  chosen: z.string().nullable(),
  rejected: z.string().nullable(),
});
export type PairHistoryEntry = z.infer<typeof PairHistoryEntry>;

/** The attention the generation recorded, per prompt image: for the heatmap. `maps[i]` is `side` x `side`, row-major. */
export const PairAttention = z.object({
  side: z.int().positive().nullable(),
  per_image_mean: z.array(z.number()).nullable(),
  maps: z.array(z.array(z.number())),
  /**
   * Per image, the part of its square map the image fills from the top-left, as fractions of the side (IXC2.5's
   * global view: the image with white padding below or to the right, squeezed to a square); absent: the whole map.
   */
  coverage: z.array(z.object({ x: z.number(), y: z.number() })).optional(),
});
export type PairAttention = z.infer<typeof PairAttention>;

/** One undoable review action (a key press or a bulk review of a filter), as undo and redo report it. */
export const ReviewOp = z.object({
  id: Id,
  action: z.enum(['edit', 'accept', 'reject']),
  /** e.g. 'accept pair 12', 'reject 340 pairs'. */
  label: z.string(),
  /** How many pairs it changed. */
  pairs: z.int().nonnegative(),
  /** The first (up to 20) of those pairs, by id. */
  pairIds: z.array(Id),
  at: z.int(),
});
export type ReviewOp = z.infer<typeof ReviewOp>;

/** A generation whose decision a threshold change would flip, for the "apply" preview. */
export const SelectionChange = z.object({
  generationId: Id,
  /** Null: the generation was never kept, so it has no pair yet. */
  pairId: Id.nullable(),
  format: z.enum(FORMATS),
  imageCount: z.int(),
  before: z.enum(['keep', 'drop']).nullable(),
  after: z.enum(['keep', 'drop']),
  /** The new decision's reasons (the failed checks when dropped). */
  reasons: z.array(z.string()),
});
export type SelectionChange = z.infer<typeof SelectionChange>;

/**
 * Per format and image count, what the attention threshold decides on: the
 * attention values (in the selected mode) of the generations that pass every
 * other check, sorted ascending. The kept count at threshold t is how many of
 * them are < t (or <= t), so a dragged threshold updates it exactly in the UI.
 */
export const AttentionCurve = z.object({
  format: z.enum(FORMATS),
  imageCount: z.int(),
  threshold: z.object({ op: z.enum(['<', '<=']), value: z.number() }).nullable(),
  total: z.int(),
  passOthers: z.array(z.number()),
});
export type AttentionCurve = z.infer<typeof AttentionCurve>;

const HistogramSchema = z.object({
  edges: z.array(z.number()),
  counts: z.array(z.int()),
  below: z.int(),
  above: z.int(),
  missing: z.int(),
});
const Yield = z.object({ total: z.int(), kept: z.int(), yield: z.number() });

export const PipelineStats = z.object({
  augmented: z.array(z.object({ format: z.enum(FORMATS), imageCount: z.int(), count: z.int() })),
  generations: z.int(),
  kept: z.int(),
  byFormat: z.object({ sequence: Yield, grid: Yield, pip: Yield }),
  failedBy: z.record(z.string(), z.int()),
  attention: z.array(
    z.object({
      format: z.enum(FORMATS),
      imageCount: z.int(),
      threshold: z.object({ op: z.enum(['<', '<=']), value: z.number() }).nullable(),
      histogram: HistogramSchema,
    }),
  ),
  post: z.object({ perplexity: HistogramSchema, lengthRatio: HistogramSchema, editDistance: HistogramSchema }),
  modeDisagreement: z.object({ compared: z.int(), disagree: z.int(), rate: z.number() }),
});
export type PipelineStats = z.infer<typeof PipelineStats>;

/** How far the pipeline has come, counted in SQL: what each stage card of the Pipeline page shows. */
export const PipelineOverview = z.object({
  /** Imported samples (with or without problems). */
  samples: z.int().nonnegative(),
  augmented: z.object({
    total: z.int().nonnegative(),
    byFormat: z.object({ sequence: z.int().nonnegative(), grid: z.int().nonnegative(), pip: z.int().nonnegative() }),
  }),
  /** Augmented samples the model has answered (generations stored by respond jobs). */
  generations: z.int().nonnegative(),
  /** Generations by the last selection's decision; `undecided` before any selection saw them. */
  decisions: z.object({
    keep: z.int().nonnegative(),
    drop: z.int().nonnegative(),
    undecided: z.int().nonnegative(),
  }),
  pairs: z.object({
    total: z.int().nonnegative(),
    pending: z.int().nonnegative(),
    accepted: z.int().nonnegative(),
    rejected: z.int().nonnegative(),
  }),
  /** What `pipeline.export` writes now: kept pairs a person has not rejected. */
  exportable: z.int().nonnegative(),
});
export type PipelineOverview = z.infer<typeof PipelineOverview>;

/** An augmented sample as the Dataset page browses it: its prompt, the images it shows (by id) and where it came from. */
export const AugmentedView = z.object({
  id: Id,
  sourceSampleId: Id,
  format: z.enum(FORMATS),
  imageCount: z.int().positive(),
  /** 1-based position of the source image. */
  targetIndex: z.int().positive(),
  prompt: z.string(),
  groundTruth: z.string(),
  /** In `<image>` order: the sequence's images, or the one composite (grid, pic-in-pic). */
  images: z.array(PairImage),
  /** The project images the sample was built from, in plan order (pip: host, inset). */
  imageIds: z.array(Id),
});
export type AugmentedView = z.infer<typeof AugmentedView>;

export const PIPELINE_COMMANDS = {
  'pipeline.overview': { request: z.strictObject({}), response: PipelineOverview },
  /** A page of augmented samples in id order, optionally of one format. */
  'pipeline.augmented': {
    request: z.strictObject({
      ...pageRequest({ max: 500, default: 100 }),
      format: z.enum(FORMATS).optional(),
    }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(AugmentedView) }),
  },
  'pipeline.settings': { request: z.strictObject({}), response: z.object({ settings: PipelineSettingsSchema }) },
  /** Merges a partial PipelineSettings into the project's settings (validated) and returns the result. */
  'pipeline.settings.set': {
    request: z.strictObject({ patch: Patch }),
    response: z.object({ settings: PipelineSettingsSchema }),
  },
  'pipeline.augment': {
    request: AugmentOptions,
    response: z.object({ jobId: Id }),
  },
  /** Answers every augmented sample the model has not answered yet (the respond job), with the project's settings. */
  'pipeline.respond': {
    request: RespondOptions,
    response: z.object({ jobId: Id }),
  },
  /** Re-selection with the project's settings (after `patch`, when given). */
  'pipeline.select': { request: z.strictObject({ patch: Patch.optional() }), response: z.object({ jobId: Id }) },
  /** A page of pairs: filtered, sorted and paged in SQL; `total` counts every match. */
  'pipeline.pairs': {
    request: z.strictObject({
      ...pageRequest({ max: 500, default: 100 }),
      filter: PairFilter.default({}),
      sort: PairSort.default({ by: 'id', dir: 'asc' }),
    }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(PairView) }),
  },
  /** One pair with its review history, recorded attention and, when its generation was perturbed, the images the model saw. Unknown id: not-found. */
  'pipeline.pairs.get': {
    request: z.strictObject({ id: Id }),
    response: z.object({
      pair: PairView,
      history: z.array(PairHistoryEntry),
      attention: PairAttention,
      seen: z.array(SeenImage),
    }),
  },
  'pipeline.pairs.review': {
    request: z.strictObject({
      id: Id,
      action: z.enum(['edit', 'accept', 'reject']),
      chosen: z.string().optional(),
      rejected: z.string().optional(),
    }),
    response: z.object({ changed: z.boolean() }),
  },
  /** Accepts or rejects every pair matching `filter` whose review differs, as one undoable action; `dryRun` only counts them. */
  'pipeline.pairs.reviewMany': {
    request: z.strictObject({
      filter: PairFilter,
      action: z.enum(['accept', 'reject']),
      dryRun: z.boolean().default(false),
    }),
    response: z.object({ count: z.int().nonnegative(), op: ReviewOp.nullable() }),
  },
  /** Undoes the newest review action (one pair or a bulk one) kept in the project; op null when there is nothing to undo. */
  'pipeline.pairs.undo': { request: z.strictObject({}), response: z.object({ op: ReviewOp.nullable() }) },
  /** Re-applies the oldest undone review action; op null when nothing was undone. */
  'pipeline.pairs.redo': { request: z.strictObject({}), response: z.object({ op: ReviewOp.nullable() }) },
  /** What undo and redo would do next. */
  'pipeline.pairs.undoState': {
    request: z.strictObject({}),
    response: z.object({ undo: ReviewOp.nullable(), redo: ReviewOp.nullable() }),
  },
  /** What a selection with the project's settings after `patch` would decide, against the stored decisions; writes nothing. */
  'pipeline.select.preview': {
    request: z.strictObject({ patch: Patch.default({}), examples: z.int().min(0).max(100).default(8) }),
    response: z.object({
      total: z.int(),
      kept: z.int(),
      /** Generations that would become kept / dropped (undecided ones count as changing). */
      toKeep: z.int(),
      toDrop: z.int(),
      examples: z.array(SelectionChange),
    }),
  },
  /** The attention values per format and image count that the threshold decides on (see AttentionCurve). */
  'pipeline.select.curves': {
    request: z.strictObject({}),
    response: z.object({ total: z.int(), curves: z.array(AttentionCurve) }),
  },
  'pipeline.stats': { request: z.strictObject({ bins: z.int().min(1).max(200).default(20) }), response: PipelineStats },
  /** Kept pairs not rejected by a person, written to `out` (a folder) in the given format. */
  'pipeline.export': {
    request: z.strictObject({ format: z.enum(EXPORT_FORMATS), out: z.string().min(1) }),
    response: z.object({ pairs: z.int().nonnegative(), files: z.array(z.string()) }),
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;
