// Parity of the LLaVA graphs with the independent PyTorch reference on tiny
// random checkpoints: vision features and prefill logits (max abs diff <= 1e-4
// in fp32) across architectures, layouts and dtypes.
import { afterAll, describe, expect, it } from 'vitest';
import { serializeModel } from '../../../../electron/engine/onnx';
import { causalBias, expandPrompt } from '../../../../electron/engine/generate/prompt';
import { buildTextGraph, buildVisionGraph, cacheNames } from '../../../../electron/engine/models/llava';
import { rotaryTables } from '../../../../electron/engine/models/nn';
import { openModel, type OpenModel } from '../../../../electron/engine/models/open';
import { createLocalSession } from '../../../../electron/engine/runtime/local';
import { maxAbsDiff, runGraph, toOrt, useSwiftShader } from '../../../helpers/ort';
import { runReference } from './reference';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TINY_LLAVA as TINY, writeTinyLlava, type TinyLlavaOptions } from '../../../helpers/tiny-llava';

const opened: OpenModel[] = [];
afterAll(async () => {
  for (const m of opened) await m.checkpoint.close();
});

function pixels(seed: number): Float32Array {
  const n = 3 * TINY.image * TINY.image;
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 1.5);
}

/** Linear rope scaling and Mistral's window are not among the fixture's options: set them in the written config. */
function setTextField(dir: string, field: string, value: unknown): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8')) as { text_config: Record<string, unknown> };
  c.text_config[field] = value;
  writeFileSync(file, JSON.stringify(c));
}

async function check(
  o: TinyLlavaOptions & { ropeScaling?: number; slidingWindow?: number },
  promptIds: number[],
  images: number,
) {
  const { dir } = await writeTinyLlava(o);
  if (o.ropeScaling) setTextField(dir, 'rope_scaling', { type: 'linear', factor: o.ropeScaling });
  if (o.slidingWindow) setTextField(dir, 'sliding_window', o.slidingWindow);
  const m = await openModel(dir);
  opened.push(m);
  const imgs = Array.from({ length: images }, (_, i) => pixels(i));
  const vision = buildVisionGraph(m.spec, m.checkpoint, 1);
  const features: number[] = [];
  for (const px of imgs) {
    const out = await runGraph(vision, { pixel_values: { dims: [1, 3, TINY.image, TINY.image], data: px } }, 'cpu', {
      externalDataFolder: dir,
    });
    features.push(...out['image_features']!.values);
  }
  const all = new Float32Array(imgs.length * px0Len());
  imgs.forEach((p, i) => all.set(p, i * px0Len()));
  const ref = runReference(dir, {
    input_ids: promptIds,
    logits: 'all',
    ...(images ? { pixels: { data: all, shape: [images, 3, TINY.image, TINY.image] } } : {}),
  });
  if (images) expect(maxAbsDiff(features, ref.image_features!)).toBeLessThanOrEqual(1e-4);

  const p = expandPrompt(promptIds, TINY.imageToken, images, m.spec.tokensPerImage);
  expect(p.ids).toEqual(ref.input_ids);
  const t = p.ids.length;
  const text = buildTextGraph(m.spec, m.checkpoint, {
    batch: 1,
    mode: 'prefill',
    output: 'all',
    cache: false,
    capture: [],
  });
  const rope = rotaryTables(
    m.spec.text,
    p.ids.map((_, i) => i),
  );
  const rows = Math.max(1, features.length / TINY.hidden);
  const out = await runGraph(
    text,
    {
      input_ids: { dims: [1, t], data: p.ids, dtype: 'int32' },
      rope_cos: { dims: [1, t, 8], data: rope.cos },
      rope_sin: { dims: [1, t, 8], data: rope.sin },
      attention_bias: { dims: [1, t, t], data: causalBias(t, 0) },
      image_features: { dims: [rows, TINY.hidden], data: images ? features : new Array<number>(TINY.hidden).fill(0) },
      feature_index: { dims: [1, t], data: p.featureIndex, dtype: 'int32' },
    },
    'cpu',
    { externalDataFolder: dir },
  );
  expect(maxAbsDiff(out['logits']!.values, ref.logits)).toBeLessThanOrEqual(1e-4);
  return { bytes: serializeModel(text).byteLength, logits: out['logits']!.values };
}

const px0Len = () => 3 * TINY.image * TINY.image;
const PROMPT = [1, 5, 9, TINY.imageToken, 12, 7, TINY.imageToken, 33, 2];

describe('LLaVA graphs match the PyTorch reference', () => {
  it('llama + CLIP, MHA, fp32, older layout, two images', async () => {
    await check({}, PROMPT, 2);
  });
  it('llama + CLIP, GQA, bf16, newer layout, sharded, rope scaling', async () => {
    await check(
      { attention: 'gqa', dtype: 'BF16', layout: 'nested', ropeScaling: 2, textLayers: 3, shardBytes: 200_000 },
      PROMPT,
      2,
    );
  });
  it('qwen2 + SigLIP, GQA with q/k/v bias, tied embeddings, full strategy, last layer', async () => {
    await check(
      { text: 'qwen2', vision: 'siglip_vision_model', attention: 'gqa', tie: true, strategy: 'full', featureLayer: -1 },
      PROMPT,
      2,
    );
  });
  it('mistral + CLIP, fp16, features concatenated from two layers, prompt without images', async () => {
    await check({ text: 'mistral', dtype: 'F16', featureLayer: [-2, -1] }, [1, 5, 9, 12], 0);
  });
  it('mistral with a sliding window shorter than the prompt (keys 5 or more positions back masked)', async () => {
    const full = await check({ text: 'mistral', attention: 'gqa' }, PROMPT, 2);
    const windowed = await check({ text: 'mistral', attention: 'gqa', slidingWindow: 5 }, PROMPT, 2);
    expect(maxAbsDiff(full.logits, windowed.logits)).toBeGreaterThan(1e-2);
  });
  it('mistral window through the KV cache: greedy decode steps match the reference', async () => {
    const { dir } = await writeTinyLlava({ text: 'mistral', attention: 'gqa' });
    setTextField(dir, 'sliding_window', 4);
    const m = await openModel(dir);
    opened.push(m);
    const ids = [1, 5, 9, 12, 7, 33, 2, 40];
    const steps = 6;
    const ref = runReference(dir, { input_ids: ids, steps });
    const t = m.spec.text;
    const session = await createLocalSession(
      serializeModel(
        buildTextGraph(m.spec, m.checkpoint, { batch: 1, mode: 'decode', output: 'last', cache: true, capture: [] }),
      ),
      { ep: 'cpu', strict: true, externalDataFolder: dir },
    );
    let cache: Record<string, ReturnType<typeof toOrt>> = {};
    for (let i = 0; i < t.numLayers; i++) {
      cache[cacheNames(i, 'past').keyT] = toOrt({ dims: [1, t.numKvHeads, t.headDim, 0], data: [] });
      cache[cacheNames(i, 'past').value] = toOrt({ dims: [1, t.numKvHeads, 0, t.headDim], data: [] });
    }
    const tokens: number[] = [];
    const logprobs: number[] = [];
    let fresh = ids;
    let past = 0;
    for (let s = 0; s < steps; s++) {
      const n = fresh.length;
      const rope = rotaryTables(
        t,
        fresh.map((_, i) => past + i),
      );
      const out = await session.run({
        ...cache,
        input_ids: toOrt({ dims: [1, n], data: fresh, dtype: 'int32' }),
        rope_cos: toOrt({ dims: [1, n, t.headDim], data: rope.cos }),
        rope_sin: toOrt({ dims: [1, n, t.headDim], data: rope.sin }),
        attention_bias: toOrt({ dims: [1, n, past + n], data: causalBias(n, past) }),
        image_features: toOrt({ dims: [1, t.hiddenSize], data: new Float32Array(t.hiddenSize) }),
        feature_index: toOrt({ dims: [1, n], data: new Array<number>(n).fill(-1), dtype: 'int32' }),
      });
      const logits = Array.from(out['logits']!.data as Float32Array);
      const max = Math.max(...logits);
      const lse = max + Math.log(logits.reduce((a, v) => a + Math.exp(v - max), 0));
      const tok = logits.indexOf(max);
      tokens.push(tok);
      logprobs.push(max - lse);
      cache = {};
      for (let i = 0; i < t.numLayers; i++) {
        cache[cacheNames(i, 'past').keyT] = out[cacheNames(i, 'present').keyT]!;
        cache[cacheNames(i, 'past').value] = out[cacheNames(i, 'present').value]!;
      }
      past += n;
      fresh = [tok];
    }
    await session.release();
    expect(tokens).toEqual(ref.tokens);
    expect(maxAbsDiff(logprobs, ref.token_logprobs)).toBeLessThanOrEqual(1e-4);
  });
  it('keeps weights in the safetensors file: the graph holds no weight bytes', async () => {
    const { bytes } = await check({ seed: 3 }, [1, 2, TINY.imageToken, 4], 1);
    expect(bytes).toBeLessThan(64 * 1024);
  });
  it('every graph (vision, generation step, scoring, windowed step) runs wholly on WebGPU: no CPU fallback', async () => {
    useSwiftShader();
    const { dir } = await writeTinyLlava({ text: 'qwen2', attention: 'gqa' });
    const m = await openModel(dir);
    opened.push(m);
    const graphs = [
      buildVisionGraph(m.spec, m.checkpoint, 1),
      buildTextGraph(m.spec, m.checkpoint, { batch: 1, mode: 'decode', output: 'last', cache: true, capture: [1] }),
      buildTextGraph(m.spec, m.checkpoint, { batch: 2, mode: 'prefill', output: 'targets', cache: false, capture: [] }),
    ];
    for (const g of graphs) {
      const s = await createLocalSession(serializeModel(g), { ep: 'webgpu', strict: true, externalDataFolder: dir });
      await s.release();
    }
    // Mistral's sliding window adds its mask from CumSum (no Shape/Range, which WebGPU would leave to CPU).
    const windowed = await writeTinyLlava({ text: 'mistral', attention: 'gqa' });
    setTextField(windowed.dir, 'sliding_window', 4);
    const w = await openModel(windowed.dir);
    opened.push(w);
    const step = buildTextGraph(w.spec, w.checkpoint, {
      batch: 2,
      mode: 'decode',
      output: 'last',
      cache: true,
      capture: [1],
    });
    await (
      await createLocalSession(serializeModel(step), { ep: 'webgpu', strict: true, externalDataFolder: windowed.dir })
    ).release();
  });
});
