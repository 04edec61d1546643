// The augmentation plan: which single-image samples become which multi-image
// samples (format, image count, companions, target position). Pure and seeded,
// so a job can compute the whole plan up front and resume it from a cursor.
import { AppError } from '../../../shared/errors';
import type { Format } from '../../../shared/pipeline/formats';
import { FORMATS, IMAGE_COUNTS } from '../../../shared/pipeline/formats';
import type { AugmentMix } from '../../../shared/pipeline/settings';
import type { AugmentPlan } from '../../../shared/pipeline/types';
import type { Rng } from '../random';
import { createRng, sampleDistinct, shuffled, weightedIndex } from '../random';

export interface PlanRequest {
  samples: readonly { id: string; imageId: string }[];
  /** Companion images to draw from; defaults to the samples' own distinct images. */
  pool?: readonly string[];
  mix: AugmentMix;
  seed: number;
  /** How many augmented samples; default one per source sample (sources cycle when larger). */
  count?: number;
  /** Only these formats (their weights from `mix`); default all. */
  formats?: readonly Format[];
  /** Size of the pic-in-pic centre-phrase list to draw from. */
  phraseCount: number;
}

function countWeights(mix: AugmentMix, format: Format): { counts: number[]; weights: number[] } {
  if (format === 'pip') return { counts: [2], weights: [1] };
  const table: Record<string, number> = format === 'sequence' ? mix.sequenceCounts : mix.gridCounts;
  const counts = [...IMAGE_COUNTS[format]];
  return { counts, weights: counts.map((c) => table[String(c)] ?? 0) };
}

/** Format and count, drawn by the mix among those the pool can fill. */
function drawShape(rng: Rng, mix: AugmentMix, formats: readonly Format[], poolSize: number): { format: Format; count: number } | null {
  const options = formats.map((f) => {
    const cw = countWeights(mix, f);
    const weights = cw.weights.map((w, i) => ((cw.counts[i] as number) <= poolSize ? w : 0));
    return { format: f, counts: cw.counts, weights, total: weights.reduce((s, w) => s + w, 0) };
  });
  const fi = weightedIndex(rng, options.map((o) => (o.total > 0 ? mix.formats[o.format] : 0)));
  const chosen = options[fi];
  if (!chosen) return null;
  return { format: chosen.format, count: chosen.counts[weightedIndex(rng, chosen.weights)] as number };
}

export function planAugmentation(req: PlanRequest): AugmentPlan[] {
  const { samples, mix, seed } = req;
  const formats = req.formats ?? FORMATS;
  const pool = [...new Set(req.pool ?? samples.map((s) => s.imageId))];
  const poolSet = new Set(pool);
  const count = req.count ?? samples.length;
  if (samples.length === 0 || count === 0) return [];
  const rng = createRng(seed);
  const order = shuffled(rng, samples);
  const plans: AugmentPlan[] = [];
  for (let j = 0; j < count; j++) {
    const source = order[j % order.length] as (typeof order)[number];
    // The target always counts as one of the images, in the pool or not.
    const poolSize = poolSet.has(source.imageId) ? pool.length : pool.length + 1;
    const shape = drawShape(rng, mix, formats, poolSize);
    if (!shape) {
      throw new AppError('bad-input', `sample ${source.id}: no allowed format fits a pool of ${pool.length} distinct image(s) with formats ${formats.join(', ')} and the current mix`, { subject: source.id });
    }
    const companions = sampleDistinct(rng, pool, shape.count - 1, new Set(poolSet.has(source.imageId) ? [source.imageId] : []));
    const plan: AugmentPlan = { id: `${seed}-${j}`, sourceSampleId: source.id, format: shape.format, images: [], targetIndex: 0 };
    if (shape.format === 'pip') {
      plan.images = [companions[0] as string, source.imageId];
      plan.targetIndex = 2;
      plan.phraseIndex = rng.int(req.phraseCount);
    } else {
      const position = rng.int(shape.count);
      companions.splice(position, 0, source.imageId);
      plan.images = companions;
      plan.targetIndex = position + 1;
    }
    plans.push(plan);
  }
  return plans;
}
