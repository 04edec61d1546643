// Models suite (issue #5): a random LLaVA-shaped model of about 150M
// parameters (text 768 x 12 layers, vision 384 x 6 layers at 336 px) in fp32 on
// CPU. Prefill and decode tokens/s against PyTorch 1.13 eager with a KV cache
// (test/reference/llava_ref.py --bench, same weights, same run), the cost of
// attention capture, peak RSS against the weight bytes, and the vision
// feature cache hit against a miss.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate, generateBatch } from '../electron/engine/generate/generate';
import { LlavaRunner } from '../electron/engine/generate/runner';
import { createRng } from '../electron/engine/generate/sampling';
import { expectedShapes } from '../electron/engine/models/checkpoint-shapes';
import { parseLlavaConfig } from '../electron/engine/models/config';
import { openModel } from '../electron/engine/models/open';
import { FeatureCache } from '../electron/engine/vision/feature-cache';
import { peakRssMiB, type BenchTable } from './table';

const THREADS = 2;
const DECODE_STEPS = 24;
/** Repetitions per configuration (ours and PyTorch); the best one counts. */
const ROUNDS = 3;
/** Prompts per batch for the batched-decode row. */
const BATCH = 4;
const PYTHON = process.env.MIA_PYTHON ?? '/usr/bin/python3';
const REFERENCE = path.resolve(import.meta.dirname, '../test/reference/llava_ref.py');

const CONFIG = {
  model_type: 'llava',
  image_token_index: 32000,
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
  projector_hidden_act: 'gelu',
  text_config: {
    model_type: 'llama',
    hidden_size: 768,
    intermediate_size: 2048,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    vocab_size: 32064,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-5,
  },
  vision_config: {
    model_type: 'clip_vision_model',
    hidden_size: 384,
    intermediate_size: 1536,
    num_hidden_layers: 6,
    num_attention_heads: 6,
    image_size: 336,
    patch_size: 14,
    hidden_act: 'quick_gelu',
  },
};

/** Writes model.safetensors one tensor at a time, so this process never holds the whole model. */
export function writeRandomModel(dir: string): number {
  const shapes = [...expectedShapes(parseLlavaConfig(CONFIG))].sort(([a], [b]) => (a < b ? -1 : 1));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 4);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' '));
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, json);
  const rng = createRng(1);
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const norm = /norm|layrnorm/.test(name) && name.endsWith('.weight');
    const data = Float32Array.from({ length: n }, () => (norm ? 1 : (rng() - 0.5) * 0.06));
    writeSync(fd, new Uint8Array(data.buffer));
  }
  closeSync(fd);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
  return offset;
}

interface Timing {
  prefillS: number;
  decodeS: number;
}

/** Decode time of a batch of BATCH copies of the prompt (after a warm-up that builds the batch session). */
async function timeBatch(runner: LlavaRunner, ids: number[], features: Float32Array): Promise<Timing> {
  const prompts = Array.from({ length: BATCH }, () => ({ ids, features: [features] }));
  let prefillEnd = 0;
  const opts = {
    maxNewTokens: DECODE_STEPS + 1,
    shouldStop: () => {
      prefillEnd ||= performance.now();
      return false;
    },
  };
  await generateBatch(runner, prompts, { maxNewTokens: 2 });
  const t0 = performance.now();
  await generateBatch(runner, prompts, opts);
  const t1 = performance.now();
  return { prefillS: (prefillEnd - t0) / 1000, decodeS: (t1 - prefillEnd) / 1000 };
}

const best = (ts: Timing[]): Timing => ({
  prefillS: Math.min(...ts.map((t) => t.prefillS)),
  decodeS: Math.min(...ts.map((t) => t.decodeS)),
});

async function timeOurs(runner: LlavaRunner, ids: number[], features: Float32Array): Promise<Timing> {
  let prefillEnd = 0;
  const t0 = performance.now();
  await generate(runner, ids, [features], {
    maxNewTokens: DECODE_STEPS + 1,
    shouldStop: () => {
      prefillEnd ||= performance.now();
      return false;
    },
  });
  const t1 = performance.now();
  return { prefillS: (prefillEnd - t0) / 1000, decodeS: (t1 - prefillEnd) / 1000 };
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(tmpdir(), 'llava-bench-'));
  try {
    const weightBytes = writeRandomModel(dir);
    const rssBeforeRun = peakRssMiB();
    const model = await openModel(dir);
    const s = model.spec;
    const pixels = Float32Array.from({ length: 3 * 336 * 336 }, (_, i) => Math.sin(i * 0.001));
    const ids = [
      1,
      ...Array.from({ length: 12 }, (_, i) => 100 + i),
      s.imageTokenId,
      ...Array.from({ length: 17 }, (_, i) => 300 + i),
    ];
    // First, file-backed weights: the RSS its sessions add while alive (measured before any other session exists).
    const rssBefore = process.memoryUsage().rss;
    const lean = new LlavaRunner(model, { ep: 'cpu', threads: THREADS, captureLayers: [6], disablePrepacking: true });
    const leanFeatures = await lean.imageFeatures(pixels);
    await timeOurs(lean, ids, leanFeatures);
    const leanTiming = await timeOurs(lean, ids, leanFeatures);
    const leanRss = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    await lean.release();
    const capture = new LlavaRunner(model, {
      ep: 'cpu',
      threads: THREADS,
      captureLayers: [Math.floor(s.text.numLayers / 2)],
    });

    // Vision: first call builds the session; time the second (a miss in steady state) and a cache hit.
    await capture.imageFeatures(pixels);
    let t = performance.now();
    const features = await capture.imageFeatures(pixels);
    const visionMissMs = performance.now() - t;
    const cache = new FeatureCache(path.join(dir, 'cache'));
    const key = { imageSha256: 'bench', modelId: 'bench', preprocessingId: 'bench' };
    await cache.put(key, { data: features, dims: [s.tokensPerImage, s.text.hiddenSize] });
    t = performance.now();
    await cache.get(key);
    const cacheHitMs = performance.now() - t;

    await timeOurs(capture, ids, features); // warm-up: session creation
    const peak = peakRssMiB(); // one runner: its vision session and its text session
    const plain = new LlavaRunner(model, { ep: 'cpu', threads: THREADS, captureLayers: [] });
    await timeOurs(plain, ids, features);
    // The machine is shared: alternate the two configurations and keep each one's best round.
    const rounds: { ours: Timing[]; plain: Timing[] } = { ours: [], plain: [] };
    for (let i = 0; i < ROUNDS; i++) {
      rounds.ours.push(await timeOurs(capture, ids, features));
      rounds.plain.push(await timeOurs(plain, ids, features));
    }
    const ours = best(rounds.ours);
    const noCapture = best(rounds.plain);
    const batched = await timeBatch(capture, ids, features);
    await capture.release();
    await plain.release();
    await model.checkpoint.close();

    const raw = path.join(dir, 'pixels.f32');
    writeFileSync(raw, new Uint8Array(pixels.buffer));
    const req = path.join(dir, 'bench.json');
    writeFileSync(
      req,
      JSON.stringify({
        input_ids: ids,
        pixel_values_raw: raw,
        pixel_shape: [1, 3, 336, 336],
        steps: DECODE_STEPS,
        threads: THREADS,
        repeats: ROUNDS,
        attention_layer: Math.floor(s.text.numLayers / 2),
      }),
    );
    const outFile = path.join(dir, 'torch.json');
    execFileSync(PYTHON, [REFERENCE, '--bench', dir, req, outFile], { stdio: ['ignore', 'ignore', 'inherit'] });
    const torch = JSON.parse(readFileSync(outFile, 'utf8')) as {
      vision_s: number;
      prefill_s: number;
      decode_s: number;
      prompt_tokens: number;
    };

    const promptTokens = torch.prompt_tokens;
    const params = weightBytes / 4;
    return {
      columns: ['case', 'ours', 'PyTorch 1.13 eager', 'ours / PyTorch'],
      rows: [
        [
          'prefill tok/s (' + promptTokens + ' tokens, 1 image)',
          promptTokens / ours.prefillS,
          promptTokens / torch.prefill_s,
          torch.prefill_s / ours.prefillS,
        ],
        [
          'decode tok/s (' + DECODE_STEPS + ' steps, attention captured)',
          DECODE_STEPS / ours.decodeS,
          DECODE_STEPS / torch.decode_s,
          torch.decode_s / ours.decodeS,
        ],
        [
          'vision tower + projector ms / image (cache miss)',
          visionMissMs,
          torch.vision_s * 1000,
          (torch.vision_s * 1000) / visionMissMs,
        ],
        ['feature cache hit ms / image', cacheHitMs, '-', '-'],
        [
          `decode tok/s, batch of ${BATCH} prompts (all rows, attention captured)`,
          (BATCH * DECODE_STEPS) / batched.decodeS,
          '-',
          '-',
        ],
        ['decode tok/s without attention capture', DECODE_STEPS / noCapture.decodeS, '-', '-'],
        [
          'attention capture cost (% of decode time)',
          (100 * (ours.decodeS - noCapture.decodeS)) / noCapture.decodeS,
          '-',
          '-',
        ],
        [
          'peak RSS MiB / weight MiB (default: prepacked weights)',
          `${peak.toFixed(0)} / ${(weightBytes / 2 ** 20).toFixed(0)} = ${(peak / (weightBytes / 2 ** 20)).toFixed(2)}x`,
          '-',
          '-',
        ],
        [
          'disable_prepacking: RSS added by the sessions / weight MiB',
          `${leanRss.toFixed(0)} / ${(weightBytes / 2 ** 20).toFixed(0)} = ${(leanRss / (weightBytes / 2 ** 20)).toFixed(2)}x`,
          '-',
          '-',
        ],
        [
          'disable_prepacking: prefill tok/s, decode tok/s',
          `${(promptTokens / leanTiming.prefillS).toFixed(1)}, ${(DECODE_STEPS / leanTiming.decodeS).toFixed(2)}`,
          '-',
          '-',
        ],
      ],
      notes: [
        `random LLaVA-shaped model: ${(params / 1e6).toFixed(0)}M parameters fp32 (text llama 768 x 12 layers, vision CLIP 384 x 6 layers at 336 px, 576 tokens per image)`,
        `CPU EP, ${THREADS} intra-op threads; PyTorch with torch.set_num_threads(${THREADS}), fp32, no_grad, KV cache, greedy`,
        `peak RSS is this process's high-water mark with one runner (its vision session and the one text session that runs prefill and decode steps); it was ${rssBeforeRun.toFixed(0)} MiB before the model was opened (writing the random weights)`,
        "with prepacking (the default) the weights are resident twice: the mapped safetensors pages and onnxruntime's packed copy; the disable_prepacking runner ran first, alone, and was released before the others",
        `batched decode on CPU: every step copies the whole KV cache of all ${BATCH} rows into and out of the Node binding (the cache stays on the GPU only with WebGPU), which eats the gain of reading the weights once per step`,
        `best of ${ROUNDS} rounds for prefill and decode, ours (capture and no capture alternating) and PyTorch alike; vision: second run of the session (the first builds it); cache hit: FeatureCache.get of one image's features`,
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
