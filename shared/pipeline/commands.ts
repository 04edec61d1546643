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

// `mia-dpo pairs` lists every pair in one request, hence the larger page.
const Page = pageRequest({ max: 100_000, default: 1000 });
const Patch = z.record(z.string(), z.unknown());

export const EXPORT_FORMATS = ['mia', 'trl', 'llamafactory'] as const;

export const PairView = z.object({
  id: Id,
  generation_id: Id,
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
  decision: z.enum(['keep', 'drop']).nullable(),
  reasons: z.array(z.string()),
  failed: z.array(z.enum(CHECKS)),
  review: z.enum(['pending', 'accepted', 'rejected']),
  prompt: z.string(),
  images: z.array(z.string()),
  chosen: z.string(),
  rejected: z.string(),
  /** How the generation's images were fitted to the vision tower (decision 0105); null for a generation stored before it was recorded. */
  preprocess: z.enum(['crop', 'pad']).nullable(),
});
export type PairView = z.infer<typeof PairView>;

const HistogramSchema = z.object({ edges: z.array(z.number()), counts: z.array(z.int()), below: z.int(), above: z.int(), missing: z.int() });
const Yield = z.object({ total: z.int(), kept: z.int(), yield: z.number() });

export const PipelineStats = z.object({
  augmented: z.array(z.object({ format: z.enum(FORMATS), imageCount: z.int(), count: z.int() })),
  generations: z.int(),
  kept: z.int(),
  byFormat: z.object({ sequence: Yield, grid: Yield, pip: Yield }),
  failedBy: z.record(z.string(), z.int()),
  attention: z.array(z.object({ format: z.enum(FORMATS), imageCount: z.int(), threshold: z.object({ op: z.enum(['<', '<=']), value: z.number() }).nullable(), histogram: HistogramSchema })),
  post: z.object({ perplexity: HistogramSchema, lengthRatio: HistogramSchema, editDistance: HistogramSchema }),
  modeDisagreement: z.object({ compared: z.int(), disagree: z.int(), rate: z.number() }),
});
export type PipelineStats = z.infer<typeof PipelineStats>;

export const PIPELINE_COMMANDS = {
  'pipeline.settings': { request: z.strictObject({}), response: z.object({ settings: PipelineSettingsSchema }) },
  /** Merges a partial PipelineSettings into the project's settings (validated) and returns the result. */
  'pipeline.settings.set': { request: z.strictObject({ patch: Patch }), response: z.object({ settings: PipelineSettingsSchema }) },
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
  'pipeline.pairs': {
    request: z.strictObject({ ...Page, keptOnly: z.boolean().default(false) }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(PairView) }),
  },
  'pipeline.pairs.review': {
    request: z.strictObject({ id: Id, action: z.enum(['edit', 'accept', 'reject']), chosen: z.string().optional(), rejected: z.string().optional() }),
    response: z.object({ changed: z.boolean() }),
  },
  'pipeline.stats': { request: z.strictObject({ bins: z.int().min(1).max(200).default(20) }), response: PipelineStats },
  /** Kept pairs not rejected by a person, written to `out` (a folder) in the given format. */
  'pipeline.export': {
    request: z.strictObject({ format: z.enum(EXPORT_FORMATS), out: z.string().min(1) }),
    response: z.object({ pairs: z.int().nonnegative(), files: z.array(z.string()) }),
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;
