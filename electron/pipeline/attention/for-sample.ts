// The attention numbers one generation stores, from the engine's per-image
// maps and the augmented sample's geometry: the reference ratio of its
// format, the exact-region ratio and the per-image means. Used by the respond
// job when it turns a ResponseResult into GenerationMetrics.
import type { Format } from '../../../shared/pipeline/formats';
import type { CompositeProvenance } from '../../../shared/pipeline/types';
import type { Preprocessing } from './exact-region';
import { exactRatio } from './exact-region';
import { gridRatio, mean, pipRatio, sequenceRatio } from './ratio';

export interface SampleAttention {
  /** Per image shown to the model: sequence, one per image; grid and pip, the single composite. */
  maps: readonly ArrayLike<number>[];
  patchSide: number;
  preprocessing: Preprocessing;
  /** Per image, the engine's mean when it is not the map's (IXC2.5: the whole span's); default the maps' means. */
  perImageMean?: readonly number[];
}

export interface AttentionNumbers {
  attentionRatio: number;
  exactRatio: number;
  perImageMean: number[];
}

export function attentionForSample(
  sample: { format: Format; targetIndex: number; provenance: CompositeProvenance | null },
  att: SampleAttention,
  settings: { tileSize: number; pipCentreFraction: number },
): AttentionNumbers {
  const perImageMean = att.perImageMean ? [...att.perImageMean] : att.maps.map((m) => mean(m));
  if (sample.format === 'sequence') {
    // Each image is its own input: the exact region of the target is the whole target image.
    const ratio = sequenceRatio(perImageMean, sample.targetIndex);
    return { attentionRatio: ratio, exactRatio: ratio, perImageMean };
  }
  const p = sample.provenance;
  const map = att.maps[0];
  if (!p || !map || att.maps.length !== 1)
    throw new RangeError(
      `${sample.format} attention needs the composite's provenance and exactly one map, got ${att.maps.length}`,
    );
  const rect = sample.format === 'grid' ? p.tiles[sample.targetIndex - 1] : p.tiles[1];
  if (!rect) throw new RangeError(`the provenance has no rectangle for target ${sample.targetIndex}`);
  const reference =
    sample.format === 'grid'
      ? gridRatio(map, att.patchSide, p.canvas, sample.targetIndex, settings.tileSize)
      : pipRatio(map, att.patchSide, settings.pipCentreFraction);
  return {
    attentionRatio: reference,
    exactRatio: exactRatio(map, att.patchSide, p.canvas, rect, att.preprocessing),
    perImageMean,
  };
}
