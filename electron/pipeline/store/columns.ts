// zod schemas of the JSON the pipeline keeps in its columns (augmented
// samples, generations, decisions), read back through parseJsonColumn so a
// row that does not match fails naming its table, row and column.
import { z } from 'zod';
import { Turn } from '../../../shared/api';
import { FORMATS } from '../../../shared/pipeline/formats';
import { NoiseOverflowSchema } from '../../../shared/pipeline/settings';
import { CHECKS, type CompositeProvenance, type GenerationMetrics } from '../../../shared/pipeline/types';

const Rect = z.object({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });

export const ProvenanceColumn = z.object({
  kind: z.enum(['grid', 'pip']),
  sourceSampleId: z.string(),
  images: z.array(z.string()),
  targetIndex: z.number(),
  canvas: z.object({ width: z.number(), height: z.number() }),
  tiles: z.array(Rect),
  sha256: z.string(),
}) satisfies z.ZodType<CompositeProvenance>;

export const ConversationColumn = z.array(Turn);
export const ImageIdsColumn = z.array(z.int());
export const ChecksColumn = z.array(z.enum(CHECKS));
export const ReasonsColumn = z.array(z.string());
export const ObjectColumn = z.record(z.string(), z.unknown());
/** How long a generation's steps took, in ms; null for rows stored without timing. */
export const TimingColumn = z.record(z.string(), z.number()).nullable();

/**
 * JSON writes a non-finite number (a length ratio over an empty ground truth, an
 * infinite perplexity) as null, so a stored metric may read back null.
 */
const Metric = z.number().nullable();

const MetricsShape = z.object({
  id: z.string(),
  format: z.enum(FORMATS),
  imageCount: z.number(),
  targetIndex: z.number(),
  attentionRatio: Metric,
  exactRatio: Metric,
  perImageMean: z.array(Metric).nullable(),
  pplMaxProb: Metric,
  pplTrue: Metric,
  groundTruthChars: z.number(),
  responseChars: z.number(),
  responseBlank: z.boolean(),
  groundTruthBlank: z.boolean(),
  identical: z.boolean(),
  lengthRatio: Metric,
  editDistanceChars: z.number(),
  editDistanceTokens: Metric,
});

/**
 * A generation's metrics column. Metrics that were not finite when stored come back
 * null, as they always have: the GenerationMetrics type's `number` for them means
 * "finite or null once stored" (selection and the pair views treat null as unavailable).
 */
export const MetricsColumn = MetricsShape.transform((m) => m as GenerationMetrics);

/**
 * What a generation's settings say about the images the model saw: the sample's seed and the noise applied (null: clean images).
 * Generations stored before overflow and region were recorded were clipped and noised the fitted image only.
 */
const SeenNoise = z.object({
  format: z.enum(FORMATS),
  std: z.number().min(0),
  overflow: NoiseOverflowSchema.default('clip'),
  region: z.enum(['cell', 'image']).default('image'),
});
/** Settings without a seed (generations not made by the respond job) have no images to re-render. */
export const SeenSettingsColumn = z
  .object({ seed: z.int().optional(), perturbation: SeenNoise.nullable().optional() })
  .transform((s) =>
    s.seed === undefined || s.perturbation == null || s.perturbation.std === 0
      ? null
      : { seed: s.seed, perturbation: s.perturbation },
  );
export type SeenSettings = NonNullable<z.output<typeof SeenSettingsColumn>>;
