// Generation and scoring against the PyTorch reference on tiny checkpoints:
// greedy tokens identical, attention rows of every decode step within 1e-5,
// token log-probs of generated and scored responses; on CPU and on WebGPU.
// The graphs run in the session worker; the KV cache stays there as handles.
import { afterAll, describe, expect, it } from 'vitest';
import { generate, generateBatch, type GenerateResult } from '../../../../electron/engine/generate/generate';
import { causalBias } from '../../../../electron/engine/generate/prompt';
import { LlavaRunner, handlesOf } from '../../../../electron/engine/generate/runner';
import { scoreResponses } from '../../../../electron/engine/generate/score';
import { openModel } from '../../../../electron/engine/models/open';
import type { ExplicitEp } from '../../../../electron/engine/runtime/local';
import { isHandle, wire } from '../../../../electron/engine/runtime/protocol';
import { maxAbsDiff, useSwiftShader } from '../../../helpers/ort';
import { runReference } from '../models/reference';
import { TINY_LLAVA as TINY, writeTinyLlava, type TinyLlavaOptions } from '../../../helpers/tiny-llava';

useSwiftShader();
const runners: LlavaRunner[] = [];
afterAll(async () => {
  for (const r of runners) {
    await r.release();
    await r.model.checkpoint.close();
  }
});

const pixels = (seed: number) =>
  Float32Array.from({ length: 3 * TINY.image * TINY.image }, (_, i) => Math.cos(i * 0.21 + seed));
const PROMPT = [1, 17, TINY.imageToken, 40, TINY.imageToken, 8, 3];
const STEPS = 6;

async function setup(o: TinyLlavaOptions, ep: ExplicitEp, captureLayers: number[]) {
  const { dir } = await writeTinyLlava({ textLayers: 3, ...o });
  const runner = new LlavaRunner(await openModel(dir), { ep, captureLayers });
  runners.push(runner);
  const imgs = [pixels(0), pixels(1)];
  const features = [];
  for (const px of imgs) features.push(await runner.imageFeatures(px));
  const all = new Float32Array(imgs.length * imgs[0]!.length);
  imgs.forEach((p, i) => all.set(p, i * p.length));
  return { dir, runner, features, pixels: { data: all, shape: [2, 3, TINY.image, TINY.image] } };
}

async function checkGeneration(o: TinyLlavaOptions, ep: ExplicitEp) {
  const layers = [0, 2];
  const { dir, runner, features, pixels } = await setup(o, ep, layers);
  const res = await generate(runner, PROMPT, features, { maxNewTokens: STEPS, includePrefillRow: true });
  const ref = runReference(dir, {
    input_ids: PROMPT,
    pixels,
    steps: STEPS,
    attention_layers: layers,
    include_prefill_row: true,
  });
  expect(
    maxAbsDiff(
      features.flatMap((f) => Array.from(f)),
      ref.image_features!,
    ),
  ).toBeLessThanOrEqual(1e-4);
  expect(res.tokens).toEqual(ref.tokens);
  expect(maxAbsDiff(res.tokenLogprobs, ref.token_logprobs)).toBeLessThanOrEqual(1e-4);
  expect(maxAbsDiff(res.tokenMaxProbs, ref.max_probs)).toBeLessThanOrEqual(1e-5);
  for (const a of res.attention) {
    const want = ref.attention[String(a.layer)]!;
    expect(a.rows).toHaveLength(STEPS);
    a.rows.forEach((row, i) => expect(maxAbsDiff(row, want[i]!)).toBeLessThanOrEqual(1e-5));
  }
  return res;
}

describe('generation matches the reference', () => {
  it('greedy tokens, log-probs and attention rows on CPU (llama, GQA)', async () => {
    const res = await checkGeneration({ attention: 'gqa', seed: 5 }, 'cpu');
    expect(res.imageSpans).toEqual([
      { start: 2, end: 18 },
      { start: 19, end: 35 },
    ]);
    expect(res.attention[0]!.images[0]!.side).toBe(4);
  });

  it('vision features, greedy tokens and attention rows on WebGPU with the cache kept on the GPU (qwen2)', async () => {
    const res = await checkGeneration({ text: 'qwen2', attention: 'gqa', seed: 6 }, 'webgpu');
    const runner = runners[runners.length - 1]!;
    const t = res.inputIds.length;
    const out = await runner.prefill({
      input_ids: wire('int32', Int32Array.from(res.inputIds), [1, t]),
      ...runner.rope([res.inputIds.map((_, i) => i)]),
      attention_bias: wire('float32', causalBias(t, 0), [1, t, t]),
      image_features: wire('float32', new Float32Array(64 * TINY.hidden), [64, TINY.hidden]),
      feature_index: wire('int32', new Int32Array(t).fill(-1), [1, t]),
    });
    expect(out['present_key_0']).toMatchObject({ location: 'gpu-buffer' });
    expect(isHandle(out['logits']!)).toBe(false);
    expect((await runner.runtime.stats()).handles).toBe(2 * 3);
    await runner.free(handlesOf(out));
    expect((await runner.runtime.stats()).handles).toBe(0);
  });

  it('frees the cache kept in the host when a generation ends and when it fails', async () => {
    const { runner, features } = await setup({ attention: 'gqa', seed: 8 }, 'cpu', [1]);
    await generate(runner, PROMPT, features, { maxNewTokens: STEPS });
    expect((await runner.runtime.stats()).handles).toBe(0);
    const failing = generate(runner, PROMPT, features, {
      maxNewTokens: STEPS,
      shouldStop: (tokens) => {
        if (tokens.length === 3) throw new Error('planted failure at step 3');
        return false;
      },
    });
    await expect(failing).rejects.toThrow(/planted failure/);
    expect((await runner.runtime.stats()).handles).toBe(0);
  });

  it('a left-padded batch of prompts generates what each prompt generates alone', async () => {
    const { runner, features } = await setup({ attention: 'gqa', seed: 12 }, 'cpu', [1]);
    const prompts = [
      { ids: PROMPT, features },
      { ids: [1, 9, TINY.imageToken, 4], features: [features[1]!] },
      { ids: [1, 30, 31, 32, 33], features: [] },
    ];
    const alone: GenerateResult[] = [];
    for (const p of prompts) alone.push(await generate(runner, p.ids, p.features, { maxNewTokens: STEPS }));
    const together = await generateBatch(runner, prompts, { maxNewTokens: STEPS, eosTokenIds: [alone[1]!.tokens[2]!] });
    expect(together[0]!.tokens).toEqual(alone[0]!.tokens.slice(0, together[0]!.tokens.length));
    expect(together[1]!.stopReason).toBe('eos');
    together.forEach((r, i) => {
      expect(r.tokens).toEqual(alone[i]!.tokens.slice(0, r.tokens.length));
      expect(maxAbsDiff(r.tokenLogprobs, alone[i]!.tokenLogprobs.slice(0, r.tokens.length))).toBeLessThanOrEqual(1e-4);
      r.attention[0]!.rows.forEach((row, k) =>
        expect(maxAbsDiff(row, alone[i]!.attention[0]!.rows[k]!)).toBeLessThanOrEqual(1e-5),
      );
    });
  });

  it('scores a batch of responses after a shared prompt', async () => {
    const { dir, runner, features, pixels } = await setup(
      { text: 'qwen2', vision: 'siglip_vision_model', seed: 7 },
      'cpu',
      [1],
    );
    const responses = [
      [5, 6, 7, 8, 9],
      [11, 3],
    ];
    const res = await scoreResponses(runner, PROMPT, features, responses);
    const ref = runReference(dir, {
      input_ids: PROMPT,
      pixels,
      score: responses.map((r) => ({ prompt_ids: PROMPT, response_ids: r })),
    });
    res.tokenLogprobs.forEach((lp, i) => expect(maxAbsDiff(lp, ref.scores[i]!)).toBeLessThanOrEqual(1e-4));
    expect(res.sumLogprobs[1]).toBeCloseTo(
      ref.scores[1]!.reduce((a, b) => a + b, 0),
      4,
    );
  });
});
