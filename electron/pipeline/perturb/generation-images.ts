// The images handed to the model for one augmented sample: the sequence
// images or the rendered composite, decoded to raw RGB, with the format's
// seeded perturbation applied to these copies only (stored files untouched).
import { AppError } from '../../../shared/errors';
import type { Format } from '../../../shared/pipeline/formats';
import type { PerturbSettings } from '../../../shared/pipeline/settings';
import type { CompositeProvenance, Rect } from '../../../shared/pipeline/types';
import { loadRaw } from '../composite/load-image';
import { createRng } from '../random';
import type { RawPixels } from './noise';
import { gridNoiseCell, perturbForGeneration } from './noise';

/** Where grid noise goes: the reference's whole cell (default) or only the target's fitted image. */
function gridRegion(
  sample: { planId: string; targetIndex: number; provenance: CompositeProvenance | null },
  settings: PerturbSettings,
): Rect {
  const p = sample.provenance;
  const tile = p?.tiles[sample.targetIndex - 1];
  if (!p || !tile)
    throw new AppError(
      'bad-input',
      `augmented sample ${sample.planId}: grid without composite provenance for image ${sample.targetIndex}`,
      { subject: sample.planId },
    );
  return settings.grid.region === 'cell' ? gridNoiseCell(p.canvas, p.tiles.length, sample.targetIndex) : tile;
}

export async function generationImages(
  sample: {
    planId: string;
    format: Format;
    targetIndex: number;
    promptImages: string[];
    provenance: CompositeProvenance | null;
  },
  settings: PerturbSettings,
  options: { perturb: boolean; seed: number },
): Promise<RawPixels[]> {
  const images: RawPixels[] = [];
  for (const file of sample.promptImages) images.push({ ...(await loadRaw(file)), channels: 3 });
  if (!options.perturb) return images;
  // One stream per sample: a resumed job perturbs each sample exactly as an uninterrupted one.
  const rng = createRng(`${options.seed}:${sample.planId}`);
  const region = sample.format === 'grid' && settings.grid.enabled ? gridRegion(sample, settings) : undefined;
  return perturbForGeneration(sample.format, images, settings, rng, region);
}
