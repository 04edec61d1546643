// The response generation job (issue #4, step 3): for each augmented sample in
// id order, the images (perturbed copies when asked) go to the model engine,
// and the response with its selection metrics, attention maps, settings and
// timing is committed together with the cursor, so a crash loses at most the
// sample in flight. The engine comes from `openEngine` (engine-interface.ts).
import { z } from 'zod';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import type { JobKind, JobRun } from '../../jobs/kind';
import { attentionForSample } from '../attention/for-sample';
import { generationImages } from '../perturb/generation-images';
import { computeMetrics } from '../select/metrics';
import type { ResponseEngine } from './engine-interface';

export const RespondParams = z.strictObject({
  /** Model folder (llava-hf layout). */
  model: z.string().min(1),
  /** Decoder layer to read attention at; default: the middle layer (the engine's choice). */
  layer: z.int().nonnegative().optional(),
  perturb: z.boolean().default(false),
  maxNewTokens: z.int().positive().default(512),
  temperature: z.number().min(0).default(0),
  seed: z.int().nonnegative().default(0),
  ep: z.string().optional(),
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type RespondParams = z.output<typeof RespondParams>;

export interface RespondCursor {
  /** Last augmented sample id answered. */
  afterId: number;
  done: number;
}

export function respondJobKind(openEngine: (params: RespondParams) => Promise<ResponseEngine>): JobKind<RespondParams, RespondCursor> {
  return {
    kind: 'respond',
    params: RespondParams,
    label: (p) => `respond with ${p.model}${p.perturb ? ' (perturbed)' : ''}`,
    async plan(params, ctx): Promise<JobRun<RespondCursor>> {
      const settings = resolveSettings(params.settings, 'respond settings');
      const engine = await openEngine(params);
      const layer = params.layer ?? -1;
      return {
        async runUnit(cursor) {
          const at = cursor ?? { afterId: 0, done: 0 };
          const [sample] = await ctx.store.call('augmentedSamples', { offset: 0, limit: 1, afterId: at.afterId });
          const remaining = await ctx.store.call('augmentedCountAfter', { afterId: at.afterId });
          if (!sample) return { cursor: at, done: at.done, total: at.done, write: null, finished: true };
          const images = await generationImages(sample, settings.perturb, { perturb: params.perturb, seed: params.seed });
          const started = Date.now();
          const result = await engine.generate({
            prompt: sample.prompt,
            images: images.map((im) => ({ data: im.data, width: im.width, height: im.height, channels: 3 as const })),
            layer,
            maxNewTokens: params.maxNewTokens,
            temperature: params.temperature,
            seed: params.seed,
          });
          const attention = attentionForSample(sample, { maps: result.attentionMaps, patchSide: result.patchSide, preprocessing: result.preprocessing }, { tileSize: settings.geometry.tileSize, pipCentreFraction: settings.attention.pipCentreFraction });
          const metrics = computeMetrics({
            id: String(sample.id),
            format: sample.format,
            imageCount: sample.imageIds.length,
            targetIndex: sample.targetIndex,
            groundTruth: sample.groundTruth,
            response: result.text,
            attentionRatio: attention.attentionRatio,
            exactRatio: attention.exactRatio,
            perImageMean: sample.format === 'sequence' ? result.perImageMean : null,
            maxProbs: result.maxProbs,
            logProbs: result.logProbs,
            responseTokens: result.tokens,
            groundTruthTokens: engine.tokenize(sample.groundTruth),
          });
          const maps = new Float32Array(result.attentionMaps.reduce((s, m) => s + m.length, 0));
          let offset = 0;
          for (const m of result.attentionMaps) {
            maps.set(m, offset);
            offset += m.length;
          }
          const write = {
            method: 'insertGeneration',
            args: {
              augmentedId: sample.id,
              jobId: ctx.jobId,
              model: engine.modelId,
              settings: { layer: params.layer ?? null, perturb: params.perturb, maxNewTokens: params.maxNewTokens, temperature: params.temperature, seed: params.seed, patchSide: result.patchSide, preprocessing: result.preprocessing },
              response: result.text,
              tokenCount: result.tokens.length,
              metrics,
              attentionMaps: new Uint8Array(maps.buffer),
              timing: { ...result.timing, totalMs: Date.now() - started },
            },
          };
          const done = at.done + 1;
          return { cursor: { afterId: sample.id, done }, done, total: at.done + remaining, write, finished: remaining <= 1 };
        },
        finish: async () => null,
        close: () => engine.close(),
      };
    },
    discard: () => null,
  };
}
