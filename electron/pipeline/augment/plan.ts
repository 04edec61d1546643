// The augmentation plan: which single-image samples become which multi-image
// samples (format, image count, companions, target position). Pure and seeded,
// so a job can compute the whole plan up front and resume it from a cursor.
// Grounding and Visual Genome sources are kept out of grid and pic-in-pic, and
// companions come from the target's LLaVA-665k subset when known (decision 0105).
import { AppError } from '../../../shared/errors';
import type { Format } from '../../../shared/pipeline/formats';
import { FORMATS, IMAGE_COUNTS } from '../../../shared/pipeline/formats';
import type { AugmentMix } from '../../../shared/pipeline/settings';
import type { AugmentPlan } from '../../../shared/pipeline/types';
import type { Rng } from '../random';
import { createRng, sampleDistinct, shuffled, weightedIndex } from '../random';

export interface PlanSource {
  id: string;
  imageId: string;
  /** LLaVA-665k subset of the image (`sources.ts`), null or absent when unknown. */
  subset?: string | null;
  /** The conversation holds a bounding box (`isGrounding`). */
  grounding?: boolean;
}

export interface PlanRequest {
  samples: readonly PlanSource[];
  /** Companion images to draw from; defaults to the samples' own distinct images. */
  pool?: readonly string[];
  mix: AugmentMix;
  seed: number;
  /** How many augmented samples; default one per source that may take a requested format (sources cycle when larger). */
  count?: number;
  /** Only these formats (their weights from `mix`); default all. */
  formats?: readonly Format[];
  /** Size of the pic-in-pic centre-phrase list to draw from. */
  phraseCount: number;
}

/** Sources kept out of grid and pic-in-pic, by reason (a grounding Visual Genome sample counts as grounding). */
export interface KeptOut {
  grounding: number;
  visualGenome: number;
}

export interface PlanResult {
  plans: AugmentPlan[];
  keptOutOfComposites: KeptOut;
  /** Sources that could take none of the requested formats, so were not augmented at all. */
  skipped: number;
}

const COMPOSITES: readonly Format[] = ['grid', 'pip'];

/** Why a source may not become a grid or pic-in-pic, or null when it may. */
function compositeExclusion(source: PlanSource): keyof KeptOut | null {
  if (source.grounding === true) return 'grounding';
  return source.subset === 'vg' ? 'visualGenome' : null;
}

function countWeights(mix: AugmentMix, format: Format): { counts: number[]; weights: number[] } {
  if (format === 'pip') return { counts: [2], weights: [1] };
  const table: Record<string, number> = format === 'sequence' ? mix.sequenceCounts : mix.gridCounts;
  const counts = [...IMAGE_COUNTS[format]];
  return { counts, weights: counts.map((c) => table[String(c)] ?? 0) };
}

/** Format and count, drawn by the mix among those the format's pool can fill. */
function drawShape(
  rng: Rng,
  mix: AugmentMix,
  formats: readonly Format[],
  poolSize: (f: Format) => number,
): { format: Format; count: number } | null {
  const options = formats.map((f) => {
    const cw = countWeights(mix, f);
    const weights = cw.weights.map((w, i) => ((cw.counts[i] as number) <= poolSize(f) ? w : 0));
    return { format: f, counts: cw.counts, weights, total: weights.reduce((s, w) => s + w, 0) };
  });
  const fi = weightedIndex(
    rng,
    options.map((o) => (o.total > 0 ? mix.formats[o.format] : 0)),
  );
  const chosen = options[fi];
  if (!chosen) return null;
  return { format: chosen.format, count: chosen.counts[weightedIndex(rng, chosen.weights)] as number };
}

interface Pool {
  images: string[];
  set: Set<string>;
}

const makePool = (images: string[]): Pool => ({ images, set: new Set(images) });

/** Images a pool offers for a sample, the target included (it always counts, in the pool or not). */
function capacity(pool: Pool, imageId: string): number {
  return pool.set.has(imageId) ? pool.images.length : pool.images.length + 1;
}

/** Companion pools: every image, every image but Visual Genome's (for composites), and one per known subset. */
class Pools {
  private readonly all: Pool;
  private readonly noVg: Pool;
  private readonly bySubset = new Map<string, Pool>();

  constructor(samples: readonly PlanSource[], pool: readonly string[] | undefined) {
    const subsetOf = new Map<string, string>();
    for (const s of samples) if (s.subset) subsetOf.set(s.imageId, s.subset);
    const all = [...new Set(pool ?? samples.map((s) => s.imageId))];
    this.all = makePool(all);
    this.noVg = makePool(all.filter((im) => subsetOf.get(im) !== 'vg'));
    const groups = new Map<string, string[]>();
    for (const im of all) {
      const subset = subsetOf.get(im);
      if (!subset) continue;
      const group = groups.get(subset);
      if (group) group.push(im);
      else groups.set(subset, [im]);
    }
    for (const [subset, images] of groups) this.bySubset.set(subset, makePool(images));
  }

  /** Where the sample's image count is drawn against: all images, Visual Genome left out of composites. */
  general(format: Format): Pool {
    return COMPOSITES.includes(format) ? this.noVg : this.all;
  }

  /** Where companions come from: the target's subset when known and large enough, else the general pool. */
  companions(source: PlanSource, format: Format, count: number): Pool {
    const own = source.subset ? this.bySubset.get(source.subset) : undefined;
    return own && capacity(own, source.imageId) >= count ? own : this.general(format);
  }
}

export function planAugmentation(req: PlanRequest): PlanResult {
  const { samples, mix, seed } = req;
  const formats = req.formats ?? FORMATS;
  const pools = new Pools(samples, req.pool);
  const keptOutOfComposites: KeptOut = { grounding: 0, visualGenome: 0 };
  const allowed = new Map<string, Format[]>();
  let skipped = 0;
  for (const s of samples) {
    const why = compositeExclusion(s);
    if (why && formats.some((f) => COMPOSITES.includes(f))) keptOutOfComposites[why]++;
    const mine = why ? formats.filter((f) => !COMPOSITES.includes(f)) : [...formats];
    if (mine.length === 0) skipped++;
    else allowed.set(s.id, mine);
  }
  const eligible = samples.filter((s) => allowed.has(s.id));
  const count = req.count ?? eligible.length;
  const result: PlanResult = { plans: [], keptOutOfComposites, skipped };
  if (eligible.length === 0 || count === 0) return result;
  const rng = createRng(seed);
  const order = shuffled(rng, eligible);
  for (let j = 0; j < count; j++) {
    const source = order[j % order.length] as PlanSource;
    const mine = allowed.get(source.id) as Format[];
    const shape = drawShape(rng, mix, mine, (f) => capacity(pools.general(f), source.imageId));
    if (!shape) {
      const sizes = [...new Set(mine.map((f) => pools.general(f).images.length))].join(' or ');
      throw new AppError(
        'bad-input',
        `sample ${source.id}: no allowed format fits a pool of ${sizes} distinct image(s) with formats ${mine.join(', ')} and the current mix`,
        {
          subject: source.id,
        },
      );
    }
    const pool = pools.companions(source, shape.format, shape.count);
    const companions = sampleDistinct(
      rng,
      pool.images,
      shape.count - 1,
      new Set(pool.set.has(source.imageId) ? [source.imageId] : []),
    );
    const plan: AugmentPlan = {
      id: `${seed}-${j}`,
      sourceSampleId: source.id,
      format: shape.format,
      images: [],
      targetIndex: 0,
    };
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
    result.plans.push(plan);
  }
  return result;
}
