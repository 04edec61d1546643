// Turns one engine answer to an augmented sample into the generation the store
// keeps: attention ratios (reference and exact-region) from the per-image
// maps and the sample's geometry, selection metrics, tokens, maps and the
// settings and timing that produced it.
import type { PipelineSettings } from '../../../shared/pipeline/settings';
import { attentionForSample } from '../attention/for-sample';
import { computeMetrics } from '../select/metrics';
import type { ResponseResult } from './engine-interface';
import type { RespondSample, StoredResponse } from './queries';

/** What produced a generation, stored with it. */
export interface ResponseSettings {
  model: string;
  layer: number;
  maxNewTokens: number;
  temperature: number;
  /** The sample's own seed (sampling and noise), derived from the job's seed and the sample's plan id. */
  seed: number;
  jobSeed: number;
  /**
   * The noise applied to this sample's images, or null when unperturbed: with `seed`, what re-renders the images the model
   * saw (the pairs' `seen` images). `region` is the grid setting, recorded for every format.
   */
  perturbation: { format: string; std: number; overflow: 'clip' | 'wrap'; region: 'cell' | 'image' } | null;
  ep: string;
  /** The image preprocessing (shown as `preprocess` in the pairs view); with the model and the template, what makes generations comparable. */
  aspect: 'crop' | 'pad';
  /** The prompt format: the model's chat template or the reference's llava_v0 conversation. */
  template: 'model' | 'llava_v0';
  /**
   * Per image, the part of its map its pixels fill from the top-left (IXC2.5's global view: the HD canvas squeezed to
   * a square), so the pairs view lays the image under its map as the model saw it; absent: all of the map (LLaVA).
   */
  mapCoverage?: { x: number; y: number }[];
}

function concat(maps: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(maps.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of maps) {
    out.set(m, at);
    at += m.length;
  }
  return out;
}

export function responseRecord(a: {
  sample: RespondSample;
  result: ResponseResult;
  settings: ResponseSettings;
  pipeline: PipelineSettings;
  jobId: number | null;
  groundTruthTokens: number[] | null;
  /** imagesMs: decoding and perturbing, usually overlapped with the previous sample's generation; totalMs: the unit's critical path. */
  timing: { imagesMs: number; totalMs: number };
}): StoredResponse {
  const { sample, result } = a;
  const attention = attentionForSample(
    sample,
    {
      maps: result.attentionMaps,
      patchSide: result.patchSide,
      preprocessing: result.preprocessing,
      perImageMean: result.perImageMean,
    },
    { tileSize: a.pipeline.geometry.tileSize, pipCentreFraction: a.pipeline.attention.pipCentreFraction },
  );
  const metrics = computeMetrics({
    id: String(sample.id),
    format: sample.format,
    imageCount: sample.imageCount,
    targetIndex: sample.targetIndex,
    groundTruth: sample.groundTruth,
    response: result.text,
    attentionRatio: attention.attentionRatio,
    exactRatio: attention.exactRatio,
    perImageMean: attention.perImageMean,
    maxProbs: result.maxProbs,
    logProbs: result.logProbs,
    responseTokens: a.groundTruthTokens ? result.tokens : null,
    groundTruthTokens: a.groundTruthTokens,
  });
  return {
    augmentedId: sample.id,
    jobId: a.jobId,
    model: a.settings.model,
    settings: result.mapCoverage ? { ...a.settings, mapCoverage: result.mapCoverage } : a.settings,
    response: result.text,
    tokenIds: Int32Array.from(result.tokens),
    metrics,
    attentionMaps: concat(result.attentionMaps),
    attentionSide: result.patchSide,
    timing: { ...result.timing, ...a.timing },
  };
}
