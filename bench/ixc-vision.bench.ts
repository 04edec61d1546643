// IXC2.5's vision side after the HD transform: ms per image for the engine's
// vision graph (CLIP ViT-L/14 at 560 px, 2x2 merge, vision_proj 4096 -> 4096) plus
// the host layout, against the PyTorch reference (test/reference/ixc_vision_ref.py
// in float32, timed inside Python) on the same crops, same thread count, same run.
// The random tower has the release's shapes but IXC_VISION_BENCH_LAYERS encoder
// layers (default 1 of 24: the whole tower takes over a minute per crop on 2 cores);
// the time per further layer is the same for every layer. Also: the host layout's
// share at the release's width and crops per graph run (1 vs all of an image).

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IXC_DEFAULT_VISION } from '../electron/engine/models/arch';
import { parseIxcConfig } from '../electron/engine/models/config-ixc';
import { IxcVisionEncoder, ixcLayoutRows, type IxcVisionSource } from '../electron/engine/models/ixc-vision';
import { gaussian } from '../electron/engine/models/random-checkpoint';
import { EngineRuntime } from '../electron/engine/runtime/runtime';
import { hdTransformImage, type HdPixels } from '../electron/engine/vision';
import { openWeights } from '../electron/engine/weights/weight-set';
import { writeSafetensors, type TensorsToWrite } from '../electron/engine/weights/writer';
import { runReference } from '../test/helpers/reference';
import { photoLike, tempDir, writeRgbPng } from '../test/unit/engine/vision/draw-images';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const LAYERS = Number(process.env.IXC_VISION_BENCH_LAYERS ?? 1);
const THREADS = 2;
const REPEAT = 2;
const CASES = [
  { w: 336, h: 336, hd: 24 },
  { w: 800, h: 600, hd: 6 },
];

/** The vision tensors of an IXC2.5 with the release's shapes (LAYERS encoder layers), small seeded values. */
function visionTensors(hidden: number): TensorsToWrite {
  const v = IXC_DEFAULT_VISION;
  const c = v.hidden_size;
  const shapes = new Map<string, number[]>();
  const p = 'vit.vision_tower.vision_model.';
  shapes.set(`${p}embeddings.class_embedding`, [c]);
  shapes.set(`${p}embeddings.patch_embedding.weight`, [c, 3, v.patch_size, v.patch_size]);
  shapes.set(`${p}embeddings.position_embedding.weight`, [(v.image_size / v.patch_size) ** 2 + 1, c]);
  for (const n of ['pre_layrnorm', 'post_layernorm'])
    for (const k of ['weight', 'bias']) shapes.set(`${p}${n}.${k}`, [c]);
  for (let i = 0; i < LAYERS; i++) {
    const l = `${p}encoder.layers.${i}.`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      shapes.set(`${l}self_attn.${n}.weight`, [c, c]);
      shapes.set(`${l}self_attn.${n}.bias`, [c]);
    }
    for (const n of ['layer_norm1', 'layer_norm2'])
      for (const k of ['weight', 'bias']) shapes.set(`${l}${n}.${k}`, [c]);
    shapes.set(`${l}mlp.fc1.weight`, [v.intermediate_size, c]);
    shapes.set(`${l}mlp.fc1.bias`, [v.intermediate_size]);
    shapes.set(`${l}mlp.fc2.weight`, [c, v.intermediate_size]);
    shapes.set(`${l}mlp.fc2.bias`, [c]);
  }
  shapes.set('vision_proj.0.weight', [hidden, 4 * c]);
  shapes.set('vision_proj.0.bias', [hidden]);
  shapes.set('vision_proj.2.weight', [hidden, hidden]);
  shapes.set('vision_proj.2.bias', [hidden]);
  shapes.set('plora_glb_GN', [1, 1, 4 * c]);
  shapes.set('plora_sub_GN', [1, 1, 1, 4 * c]);
  const rnd = gaussian(3);
  const out: TensorsToWrite = {};
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const norm = /norm|layrnorm/.test(name) && name.endsWith('.weight');
    const data = Float32Array.from({ length: n }, () => (norm ? 1 + 0.1 * rnd() : 0.02 * rnd()));
    out[name] = { dtype: 'F32', shape, data: new Uint8Array(data.buffer) };
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(): Promise<BenchTable> {
  const dir = tempDir('ixc-vision-bench-');
  const raw = {
    architectures: ['InternLMXComposer2ForCausalLM'],
    model_type: 'internlmxcomposer2',
    hidden_size: 4096,
    vision_config: { ...IXC_DEFAULT_VISION, num_hidden_layers: LAYERS },
  };
  const config = parseIxcConfig(raw);
  await writeSafetensors(join(dir, 'model.safetensors'), visionTensors(config.hidden_size));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
  const weights = await openWeights(dir);
  const source: IxcVisionSource = {
    dir,
    config,
    ref: (n) => (weights.has(n) ? weights.get(n) : undefined),
  };
  const runtime = EngineRuntime.start({ log: () => undefined });
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  try {
    const pixels: HdPixels[] = [];
    const jobImages = [];
    for (const [i, c] of CASES.entries()) {
      const png = await writeRgbPng(join(dir, `img${i}.png`), photoLike(c.w, c.h, i + 1), c.w, c.h);
      const px = await hdTransformImage(png, c.hd);
      pixels.push(px);
      const all = new Float32Array(px.global.data.length + px.crops.data.length);
      all.set(px.global.data);
      all.set(px.crops.data, px.global.data.length);
      writeFileSync(join(dir, `img${i}.f32`), Buffer.from(all.buffer));
      jobImages.push({ pixels: join(dir, `img${i}.f32`), rows: px.geometry.rows, cols: px.geometry.cols });
    }
    writeFileSync(
      join(dir, 'job.json'),
      JSON.stringify({ images: jobImages, bench: { repeat: REPEAT, threads: THREADS } }),
    );
    const ref = runReference('ixc_vision_ref.py', [dir, join(dir, 'job.json')]);
    const torchSeconds = ref.config['seconds'] as number[];

    const one = new IxcVisionEncoder(source, { ep: 'cpu', runtime, threads: THREADS });
    const t0 = performance.now();
    await one.embedPixels(pixels[0]!, CASES[0]!.hd); // session creation + first run (warm-up)
    notes.push(`session creation + first run of the 1-crop graph: ${(performance.now() - t0).toFixed(0)} ms`);
    for (const [i, c] of CASES.entries()) {
      const px = pixels[i]!;
      const crops = 1 + px.geometry.rows * px.geometry.cols;
      const times: number[] = [];
      for (let r = 0; r < REPEAT; r++) {
        const t = performance.now();
        await one.embedPixels(px, c.hd);
        times.push(performance.now() - t);
      }
      const ours = median(times);
      const base = (torchSeconds[i] as number) * 1000;
      rows.push([
        `${c.w}x${c.h} hd ${c.hd}`,
        `${px.geometry.rows}x${px.geometry.cols}`,
        crops,
        base,
        ours,
        ours / crops,
        base / ours,
      ]);
    }
    // Crops per run: every crop of the 2x2 image in one run (a graph per crop count) vs one per run.
    const px = pixels[1]!;
    const crops = 1 + px.geometry.rows * px.geometry.cols;
    const all = new IxcVisionEncoder(source, { ep: 'cpu', runtime, threads: THREADS, batch: crops });
    const t1 = performance.now();
    await all.embedPixels(px, CASES[1]!.hd);
    const first = performance.now() - t1;
    const times: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const t = performance.now();
      await all.embedPixels(px, CASES[1]!.hd);
      times.push(performance.now() - t);
    }
    notes.push(
      `all ${crops} crops of the 800x600 image in one run (batch ${crops}): ${median(times).toFixed(0)} ms (first run with session creation ${first.toFixed(0)} ms)`,
    );
    await all.release();
    await one.release();
    // The host layout at the release's width: a 4x6 grid (hd 24) = 10,101 rows of 4096.
    const side = 20;
    const hidden = config.hidden_size;
    const tokens = new Float32Array(25 * side * side * hidden).fill(1);
    const seps = new Float32Array(2 * hidden);
    const lt: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      ixcLayoutRows(tokens, seps, { rows: 4, cols: 6 }, side, hidden);
      lt.push(performance.now() - t);
    }
    notes.push(`host layout of a 4x6 grid (10,101 rows x ${hidden}): ${median(lt).toFixed(0)} ms`);
  } finally {
    await runtime.dispose();
    await weights.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    columns: ['image', 'grid', 'crops', 'torch ms', 'ours ms', 'ours ms / crop', 'speed-up'],
    rows,
    notes: [
      `CLIP ViT-L/14 at 560 px with ${LAYERS} of 24 encoder layers (IXC_VISION_BENCH_LAYERS), vision_proj 4096 -> 4096, random fp32 weights; ${THREADS} threads each (onnxruntime intra-op, torch.set_num_threads)`,
      `median of ${REPEAT} runs after a warm-up; ours: crops one per graph run + host layout; torch: one batch per image (img2emb), float32, no autograd, timed inside Python`,
      ...notes,
      `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
