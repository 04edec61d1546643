// The respond job on a tiny random InternLM-XComposer-2.5 folder (SentencePiece
// tokenizer trained in the test): the job opens it through the session factory
// and stores, per augmented sample of each format, what ModelEngine answers
// directly: tokens, text and the global view's side x side maps (issue 16:
// "the pic-in-pic / grid maps taken from the global view"). The sequence
// format's ratio is read from each image's whole-span mean (separators
// included), not from the global map; grid and pic-in-pic ratios from the map.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject } from '../../../../electron/db';
import { gridRatio, pipRatio, sequenceRatio } from '../../../../electron/pipeline/attention/ratio';
import { generationImages } from '../../../../electron/pipeline/perturb/generation-images';
import { hashSeed } from '../../../../electron/pipeline/random';
import { ModelEngine } from '../../../../electron/pipeline/respond/model-engine';
import type { GenerationRecord, RespondSample } from '../../../../electron/pipeline/respond/queries';
import { DEFAULT_SETTINGS } from '../../../../shared/pipeline/defaults';
import { writeTinyIxc, type TinyIxc } from '../../../helpers/tiny-ixc';
import { respondFixture, respondRequest, waitJob, type RespondFixture } from './fixture';

const MAX_NEW = 3;
let fx: RespondFixture;
let tiny: TinyIxc;
let engine: ModelEngine;

beforeAll(async () => {
  fx = await respondFixture(1);
  tiny = await writeTinyIxc(5);
  engine = await ModelEngine.open({ modelDir: tiny.dir, ep: 'cpu' });
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await fx?.service.close();
  tiny?.cleanup();
});

async function stored(): Promise<{ records: GenerationRecord[]; samples: RespondSample[] }> {
  const store = await openProject(fx.projectDir);
  try {
    const records = await store.call('generationRecords', {});
    const samples: RespondSample[] = [];
    for (const r of records) samples.push((await store.call('respondSample', { id: r.augmentedId }))!);
    return { records, samples };
  } finally {
    await store.close();
  }
}

describe('respond job on an IXC2.5 folder', () => {
  it('stores attention ratios for each format from the global-view maps and the whole-span means', async () => {
    const { jobId } = await fx.service.handlers['pipeline.respond'](respondRequest(tiny.dir, MAX_NEW));
    const job = await waitJob(fx.service, jobId);
    expect(job.error ?? null).toBeNull();
    expect(job.state).toBe('done');
    const { records, samples } = await stored();
    expect(new Set(samples.map((s) => s.format))).toEqual(new Set(['sequence', 'grid', 'pip']));
    expect(records).toHaveLength(3);
    const settings = DEFAULT_SETTINGS;
    for (const [i, r] of records.entries()) {
      const s = samples[i]!;
      const seed = hashSeed(`0:${s.planId}`);
      const images = await generationImages(s, settings.perturb, { perturb: false, seed });
      const want = await engine.generate({
        prompt: s.prompt,
        images: images.map((im) => ({ ...im, channels: 3 as const })),
        layer: engine.layer,
        maxNewTokens: MAX_NEW,
        temperature: 0,
        seed,
      });
      expect(r.model).toBe(engine.modelId);
      expect(r.tokenIds).toEqual(want.tokens);
      expect(r.response).toBe(want.text);
      // The global view's merged-token grid: 2x2 at the fixture's 56 px crops.
      expect(r.attentionSide).toBe(2);
      expect(want.preprocessing.mode).toBe('hd');
      expect(r.attentionMaps).toHaveLength(s.format === 'sequence' ? s.imageCount : 1);
      r.attentionMaps.forEach((m, k) => expect(m).toEqual(want.attentionMaps[k]));
      const m = r.metrics;
      expect(Number.isFinite(m.attentionRatio)).toBe(true);
      expect(m.attentionRatio).toBeGreaterThan(0);
      expect(m.attentionRatio).toBeLessThanOrEqual(1);
      expect(Number.isFinite(m.exactRatio)).toBe(true);
      if (s.format === 'sequence') {
        // Whole-span means (engine's), not the global maps' means.
        expect(m.perImageMean).toEqual(want.perImageMean);
        expect(m.attentionRatio).toBeCloseTo(sequenceRatio(want.perImageMean, s.targetIndex), 9);
        const mapMean = (x: Float32Array) => x.reduce((a, v) => a + v, 0) / x.length;
        expect(Math.abs(mapMean(r.attentionMaps[0]!) - want.perImageMean[0]!)).toBeGreaterThan(1e-7);
      } else if (s.format === 'grid') {
        const canvas = s.provenance!.canvas;
        expect(m.attentionRatio).toBeCloseTo(
          gridRatio(r.attentionMaps[0]!, 2, canvas, s.targetIndex, settings.geometry.tileSize),
          9,
        );
      } else {
        expect(m.attentionRatio).toBeCloseTo(pipRatio(r.attentionMaps[0]!, 2, settings.attention.pipCentreFraction), 9);
      }
    }
  }, 120_000);
});
