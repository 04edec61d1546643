// The images handed to the model for one augmented sample: the sequence
// images or the rendered composite, decoded to raw RGB, with the format's
// seeded perturbation applied to these copies only (stored files untouched).
import type { Format } from '../../../shared/pipeline/formats';
import type { PerturbSettings } from '../../../shared/pipeline/settings';
import type { CompositeProvenance } from '../../../shared/pipeline/types';
import { loadRaw } from '../composite/load-image';
import { createRng } from '../random';
import type { RawPixels } from './noise';
import { perturbForGeneration } from './noise';

export async function generationImages(
  sample: { planId: string; format: Format; targetIndex: number; promptImages: string[]; provenance: CompositeProvenance | null },
  settings: PerturbSettings,
  options: { perturb: boolean; seed: number },
): Promise<RawPixels[]> {
  const images: RawPixels[] = [];
  for (const file of sample.promptImages) images.push({ ...(await loadRaw(file)), channels: 3 });
  if (!options.perturb) return images;
  // One stream per sample: a resumed job perturbs each sample exactly as an uninterrupted one.
  const rng = createRng(`${options.seed}:${sample.planId}`);
  const target = sample.format === 'grid' ? sample.provenance?.tiles[sample.targetIndex - 1] : undefined;
  return perturbForGeneration(sample.format, images, settings, rng, target);
}
