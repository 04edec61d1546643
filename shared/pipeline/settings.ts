// Every number of the MIA-DPO pipeline as a validated setting, with the
// reference method (MIA-DPO.md) as the defaults. Used by the pipeline, the
// CLI (--thresholds FILE) and the UI's settings forms.
import { z } from 'zod';
import { IMAGE_COUNTS } from './formats';

const weight = z.number().min(0);
const weights = (counts: readonly number[]) =>
  z.strictObject(Object.fromEntries(counts.map((c) => [String(c), weight])) as Record<string, typeof weight>);

/**
 * Format and image-count mix (relative weights, any scale). Format weights
 * follow the released LLaVA-v1.5 data (15.1k sequence, 9.3k grid, 4.5k
 * pic-in-pic); per-count weights are the official notebooks' sample counts.
 */
export const AugmentMixSchema = z.strictObject({
  formats: z.strictObject({ sequence: weight, grid: weight, pip: weight }),
  sequenceCounts: weights(IMAGE_COUNTS.sequence),
  gridCounts: weights(IMAGE_COUNTS.grid),
});

export const GeometrySchema = z.strictObject({
  tileSize: z.number().int().min(16), // 448: each grid tile fits a 448x448 slot
  margin: z.number().int().min(0), // 40: gap between tiles and label strip height
  labelOffsetX: z.number().int().min(0), // 20: label starts this far right of the tile's left edge
  labelFontPx: z.number().int().min(4), // about 36 px in the reference
  labelPrefix: z.string().min(1), // labels read `Image{n}`
  pipScale: z.number().gt(0).lt(1), // 0.7: inset size relative to the host
});

/**
 * How a noisy value returns to 8 bits: `clip` to 0-255 (the reference grid
 * code), or `wrap` modulo 256 after casting the noise to uint8 (the reference
 * pic-in-pic and sequence code: 250 + 109 -> 103). Decision 0105.
 */
export const NoiseOverflowSchema = z.enum(['clip', 'wrap']);
const std = z.number().min(0);
/** Gaussian noise std on 0-255 pixel values, applied only for generation. */
export const PerturbSchema = z.strictObject({
  /** Target of a grid, std 225; `cell`: the reference's (H // rows) x (W // cols) cell, label strip included; `image`: the fitted image only. */
  grid: z.strictObject({ enabled: z.boolean(), std, region: z.enum(['cell', 'image']), overflow: NoiseOverflowSchema }),
  pip: z.strictObject({ enabled: z.boolean(), std, overflow: NoiseOverflowSchema }), // whole composite, std 49
  sequence: z.strictObject({ enabled: z.boolean(), std, overflow: NoiseOverflowSchema }), // every image, std 25-64 in some reference runs
});

export const ComparisonSchema = z.enum(['<', '<=']);
const threshold = z.strictObject({ op: ComparisonSchema, value: z.number() });
const thresholds = (counts: readonly number[]) =>
  z.strictObject(Object.fromEntries(counts.map((c) => [String(c), threshold])) as Record<string, typeof threshold>);

export const ThresholdTableSchema = z.strictObject({
  sequence: thresholds(IMAGE_COUNTS.sequence),
  grid: thresholds(IMAGE_COUNTS.grid),
  pip: thresholds(IMAGE_COUNTS.pip),
});

const bound = z.number().nullable(); // null = this bound is off
export const PostSelectionSchema = z.strictObject({
  perplexity: z.strictObject({ kind: z.enum(['maxprob', 'true']), min: bound, max: bound }),
  lengthRatio: z.strictObject({ min: bound, max: bound }),
  editDistance: z.strictObject({ unit: z.enum(['chars', 'tokens']), min: bound, max: bound }),
});

export const SelectionSchema = z.strictObject({
  attentionMode: z.enum(['reference', 'exact-region']),
  thresholds: ThresholdTableSchema,
  groundTruthMaxChars: z.number().int().min(1), // ground truth must be shorter than this
  requireDifferent: z.boolean(), // response must differ from the ground truth
  requireNonEmpty: z.boolean(),
  post: PostSelectionSchema,
});

/** Attention-map geometry: the reference pic-in-pic centre is 16x16 of 24x24. */
export const AttentionSchema = z.strictObject({
  pipCentreFraction: z.number().gt(0).max(1),
});

export const PipelineSettingsSchema = z.strictObject({
  mix: AugmentMixSchema,
  geometry: GeometrySchema,
  perturb: PerturbSchema,
  attention: AttentionSchema,
  selection: SelectionSchema,
});

export type AugmentMix = z.infer<typeof AugmentMixSchema>;
export type Geometry = z.infer<typeof GeometrySchema>;
export type PerturbSettings = z.infer<typeof PerturbSchema>;
export type NoiseOverflow = z.infer<typeof NoiseOverflowSchema>;
export type Comparison = z.infer<typeof ComparisonSchema>;
export type ThresholdTable = z.infer<typeof ThresholdTableSchema>;
export type PostSelection = z.infer<typeof PostSelectionSchema>;
export type SelectionSettings = z.infer<typeof SelectionSchema>;
export type AttentionSettings = z.infer<typeof AttentionSchema>;
export type PipelineSettings = z.infer<typeof PipelineSettingsSchema>;
