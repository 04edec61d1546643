// The respond job with the real engine on a tiny random llava-hf model: the
// engine's glue against the models engine's own session, what a generation
// stores (checked against direct engine calls), pending-by-model, pause and
// resume without duplicates, perturbation only for generation, bad layers.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlavaSession } from '../../../../electron/engine/generate/session';
import { generationImages } from '../../../../electron/pipeline/perturb/generation-images';
import { hashSeed } from '../../../../electron/pipeline/random';
import { ModelEngine } from '../../../../electron/pipeline/respond/model-engine';
import type { GenerationRecord, RespondSample } from '../../../../electron/pipeline/respond/queries';
import { openProject } from '../../../../electron/db';
import { FINAL_JOB_STATES, type Job } from '../../../../shared/api';
import { DEFAULT_SETTINGS } from '../../../../shared/pipeline/defaults';
import { respondFixture, respondRequest, waitJob, writeAdapter, type RespondFixture } from './fixture';

// Before the session worker starts: it takes the environment it starts with.
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

const MAX_NEW = 5;
let fx: RespondFixture;
let engine: ModelEngine;

async function stored(projectDir: string): Promise<{ records: GenerationRecord[]; samples: RespondSample[] }> {
  const store = await openProject(projectDir);
  try {
    const records = await store.call('generationRecords', {});
    const samples: RespondSample[] = [];
    for (const r of records) samples.push((await store.call('respondSample', { id: r.augmentedId }))!);
    return { records, samples };
  } finally {
    await store.close();
  }
}

async function waitState(jobId: number, state: Job['state']): Promise<Job> {
  for (;;) {
    const job = await fx.service.handlers['jobs.get']({ id: jobId });
    if (job.state === state) return job;
    if (FINAL_JOB_STATES.includes(job.state))
      throw new Error(`job ${jobId} ended ${job.state} before reaching ${state}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function direct(sample: RespondSample, perturb: boolean) {
  const seed = hashSeed(`0:${sample.planId}`);
  const images = await generationImages(sample, DEFAULT_SETTINGS.perturb, { perturb, seed });
  return engine.generate({
    prompt: sample.prompt,
    images: images.map((im) => ({ ...im, channels: 3 as const })),
    layer: engine.layer,
    maxNewTokens: MAX_NEW,
    temperature: 0,
    seed,
  });
}

beforeAll(async () => {
  fx = await respondFixture(2);
  engine = await ModelEngine.open({ modelDir: fx.modelDir, ep: 'cpu' });
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await fx?.service.close();
});

describe('ModelEngine', () => {
  it('answers raw RGB exactly as the models engine answers the same image file', async () => {
    const samples: RespondSample[] = [];
    const store = await openProject(fx.projectDir);
    try {
      for (const id of await store.call('pendingResponses', {
        model: engine.modelId,
        aspect: 'pad',
        template: 'model',
      }))
        samples.push((await store.call('respondSample', { id }))!);
    } finally {
      await store.close();
    }
    const seq = samples.find((s) => s.format === 'sequence')!;
    const session = await LlavaSession.open({ modelDir: fx.modelDir, ep: 'cpu' });
    try {
      const expected = await session.respond({ images: seq.promptImages, prompt: seq.prompt, maxNewTokens: MAX_NEW });
      const got = await direct(seq, false);
      const eos = expected.stop_reason === 'eos' ? 1 : 0;
      expect(got.tokens).toEqual(expected.tokens.slice(0, expected.tokens.length - eos));
      expect(got.text).toBe(expected.text);
      expect(Array.from(got.maxProbs)).toEqual(expected.token_max_probs.map(Math.fround));
      expect(got.patchSide).toBe(4);
      expect(got.attentionMaps).toHaveLength(seq.imageCount);
      got.attentionMaps.forEach((m, i) => {
        expect(Array.from(m)).toEqual(expected.attention.maps[i]!.flat().map(Math.fround));
        expect(got.perImageMean[i]).toBeCloseTo(expected.attention.per_image_mean[i]!, 6);
      });
      expect(got.timing.prefillMs).toBeGreaterThan(0);
    } finally {
      await session.close();
    }
  });

  it('gives the same answer on WebGPU (SwiftShader here) as on the CPU', async () => {
    const image = {
      data: new Uint8Array(40 * 30 * 3).map((_, i) => (i * 37) % 256),
      width: 40,
      height: 30,
      channels: 3 as const,
    };
    const request = {
      prompt: 'Image1:<image>\nImage2:<image>\nIn Image2, what is it?',
      images: [image, image],
      layer: engine.layer,
      maxNewTokens: MAX_NEW,
      temperature: 0,
      seed: 0,
    };
    const gpu = await ModelEngine.open({ modelDir: fx.modelDir, ep: 'webgpu' });
    try {
      expect(gpu.ep).toEqual({ ep: 'webgpu', fallback: undefined });
      const [want, got] = [await engine.generate(request), await gpu.generate(request)];
      expect(got.tokens).toEqual(want.tokens);
      got.attentionMaps.forEach((m, i) => m.forEach((v, k) => expect(v).toBeCloseTo(want.attentionMaps[i]![k]!, 5)));
    } finally {
      await gpu.close();
    }
  });

  it('refuses a layer it was not opened for, naming both', async () => {
    await expect(
      engine.generate({
        prompt: '<image>\nWhat?',
        images: [{ data: new Uint8Array(12), width: 2, height: 2, channels: 3 }],
        layer: 0,
        maxNewTokens: 2,
        temperature: 0,
        seed: 0,
      }),
    ).rejects.toThrow(/attention layer 0 was asked for.*layer 1/);
  });
});

describe('respond job', () => {
  it('stores one generation per augmented sample, as the engine answers it, and only once per model', async () => {
    const { jobId } = await fx.service.handlers['pipeline.respond'](respondRequest(fx.modelDir));
    // Paused before its first sample (pause applies at the next unit boundary), then resumed to the end.
    await fx.service.handlers['jobs.pause']({ id: jobId });
    const first = await waitState(jobId, 'paused');
    expect(first.progress.done).toBeLessThan(6);
    expect((await stored(fx.projectDir)).records).toHaveLength(first.progress.done);
    await fx.service.handlers['jobs.resume']({ id: jobId });
    const job = await waitJob(fx.service, jobId);
    expect(job.state).toBe('done');
    expect(job.progress).toMatchObject({ done: 6, total: 6 });

    const { records, samples } = await stored(fx.projectDir);
    expect(records.map((r) => r.augmentedId).sort()).toEqual(samples.map((s) => s.id).sort());
    expect(new Set(records.map((r) => r.augmentedId)).size).toBe(6);
    expect(new Set(samples.map((s) => s.format))).toEqual(new Set(['sequence', 'grid', 'pip']));
    for (const [i, r] of records.entries()) {
      const s = samples[i]!;
      const want = await direct(s, false);
      expect(r.response).toBe(want.text);
      expect(r.tokenIds).toEqual(want.tokens);
      expect(r.attentionSide).toBe(4);
      expect(r.attentionMaps).toHaveLength(s.format === 'sequence' ? s.imageCount : 1);
      r.attentionMaps.forEach((m, k) => expect(m).toEqual(want.attentionMaps[k]));
      expect(r.settings).toMatchObject({
        model: engine.modelId,
        layer: 1,
        maxNewTokens: MAX_NEW,
        temperature: 0,
        perturbation: null,
        ep: 'cpu',
      });
      expect(r.timing!['totalMs']).toBeGreaterThanOrEqual(r.timing!['prefillMs']! + r.timing!['decodeMs']!);
      expect(r.metrics.pplMaxProb).toBeCloseTo(
        Math.exp(-want.maxProbs.reduce((a, p) => a + Math.log(p), 0) / want.maxProbs.length),
        5,
      );
      expect(r.metrics.pplTrue).toBeCloseTo(
        Math.exp(-want.logProbs.reduce((a, p) => a + p, 0) / want.logProbs.length),
        5,
      );
      if (s.format === 'sequence') {
        const means = r.attentionMaps.map((m) => m.reduce((a, v) => a + v, 0) / m.length);
        expect(r.metrics.attentionRatio).toBeCloseTo(means[s.targetIndex - 1]! / means.reduce((a, v) => a + v, 0), 6);
      }
    }

    const again = await fx.service.handlers['pipeline.respond'](respondRequest(fx.modelDir));
    expect((await waitJob(fx.service, again.jobId)).progress).toMatchObject({ done: 0, total: 0 });
    expect((await stored(fx.projectDir)).records).toHaveLength(6);
  }, 60_000);

  it('cancels between samples; perturbs only the images handed to the model, per format, and says so in the settings', async () => {
    const copy = await respondFixture(1, 5);
    try {
      // Cancelled at its first unit boundary: nothing stored, and the next run answers everything.
      const cancelled = await copy.service.handlers['pipeline.respond'](respondRequest(copy.modelDir));
      await copy.service.handlers['jobs.cancel']({ id: cancelled.jobId });
      expect((await waitJob(copy.service, cancelled.jobId)).state).toBe('cancelled');
      expect((await stored(copy.projectDir)).records).toHaveLength(0);
      const { jobId } = await copy.service.handlers['pipeline.respond']({
        ...respondRequest(copy.modelDir),
        perturb: true,
      });
      expect((await waitJob(copy.service, jobId)).state).toBe('done');
      const { records, samples } = await stored(copy.projectDir);
      for (const [i, r] of records.entries()) {
        const s = samples[i]!;
        const noisy = s.format !== 'sequence';
        const noise = DEFAULT_SETTINGS.perturb[s.format];
        expect(r.settings['perturbation']).toEqual(
          noisy
            ? {
                format: s.format,
                std: noise.std,
                overflow: noise.overflow,
                region: DEFAULT_SETTINGS.perturb.grid.region,
              }
            : null,
        );
        expect(r.settings).toMatchObject({ aspect: 'pad', template: 'model' });
        // The fixture's model folders differ, their weights do not (same seed): the direct answer must match.
        const want = (await direct(s, true)).attentionMaps;
        r.attentionMaps.forEach((m, k) => expect(m).toEqual(want[k]));
        if (noisy) expect(r.attentionMaps[0]).not.toEqual((await direct(s, false)).attentionMaps[0]);
      }
    } finally {
      await copy.service.close();
    }
  }, 60_000);

  it('fails with a message naming the layer when the model has no such layer', async () => {
    const { jobId } = await fx.service.handlers['pipeline.respond']({ ...respondRequest(fx.modelDir), layer: 7 });
    const job = await waitJob(fx.service, jobId);
    expect(job.state).toBe('failed');
    expect(job.error?.message).toMatch(/attention layer 7 does not exist: the model has layers 0-1/);
  });

  it('skips, with a warning naming the sample, a sample whose prompt does not fit the context, and goes on', async () => {
    // Another folder is another model: every sample is pending for it.
    const other = path.join(fx.dir, 'tiny-llava-copy');
    cpSync(fx.modelDir, other, { recursive: true });
    const warnings: string[] = [];
    const off = fx.service.onEvent((e) => {
      if (e.type === 'log' && e.level === 'warn') warnings.push(e.message);
    });
    try {
      const { jobId } = await fx.service.handlers['pipeline.respond'](respondRequest(other, 500));
      const job = await waitJob(fx.service, jobId);
      expect(job).toMatchObject({ state: 'done', progress: { done: 6, total: 6 } });
    } finally {
      off();
    }
    expect(warnings).toHaveLength(6);
    for (const w of warnings)
      expect(w).toMatch(/^augmented sample \d+ skipped: the prompt is \d+ tokens .* 500 new tokens .* context of 512/);
    expect((await stored(fx.projectDir)).records).toHaveLength(6);
  }, 60_000);

  it('with an adapter, records another model id and finds every sample pending for it', async () => {
    const own = await respondFixture(1, 7);
    try {
      const adapter = await writeAdapter(own.modelDir, path.join(own.dir, 'adapter'), 3);
      const [base, trained] = [
        await ModelEngine.open({ modelDir: own.modelDir, ep: 'cpu' }),
        await ModelEngine.open({ modelDir: own.modelDir, adapter, ep: 'cpu' }),
      ];
      const [baseId, adapterId] = [base.modelId, trained.modelId];
      await Promise.all([base.close(), trained.close()]);
      expect(adapterId).not.toBe(baseId);
      const pending = async (
        model: string,
        aspect: 'crop' | 'pad' = 'pad',
        template: 'model' | 'llava_v0' = 'model',
      ) => {
        const store = await openProject(own.projectDir);
        try {
          return await store.call('pendingResponses', { model, aspect, template });
        } finally {
          await store.close();
        }
      };
      const first = await own.service.handlers['pipeline.respond'](respondRequest(own.modelDir));
      expect(await waitJob(own.service, first.jobId)).toMatchObject({ state: 'done', progress: { done: 3 } });
      // The base model has answered every sample; for the adapted model all three are still pending.
      expect(await pending(baseId)).toEqual([]);
      expect(await pending(adapterId)).toHaveLength(3);
      // Another preprocessing or prompt template answers differently: its generations are still to make (decision 0105).
      expect(await pending(baseId, 'crop')).toHaveLength(3);
      expect(await pending(baseId, 'pad', 'llava_v0')).toHaveLength(3);
      const { jobId } = await own.service.handlers['pipeline.respond']({ ...respondRequest(own.modelDir), adapter });
      expect(await waitJob(own.service, jobId)).toMatchObject({ state: 'done', progress: { done: 3, total: 3 } });
      const { records } = await stored(own.projectDir);
      const by = (model: string) => records.filter((r) => r.settings['model'] === model);
      expect(by(baseId)).toHaveLength(3);
      expect(by(adapterId)).toHaveLength(3);
    } finally {
      await own.service.close();
    }
  }, 60_000);
});
