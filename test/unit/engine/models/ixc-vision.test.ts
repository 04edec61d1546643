// IXC2.5's vision graphs on a tiny random IXC checkpoint (56 px crops, 4x4
// patches, 2x2 merged tokens per crop) against a PyTorch oracle written from the
// official semantics (test/reference/ixc_vision_ref.py): the same HD-transformed
// crops through CLIP, the 2x2 merge, the separator layout and vision_proj.
// One image at hd 24 with a 4x6 crop grid, and a prompt of two images (hd 6);
// token counts against decision 0710's layout functions; separators at their rows;
// the merge's channel order on known values; the encoder's batching and glue.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IxcCheckpoint } from '../../../../electron/engine/models/checkpoint-ixc';
import {
  buildIxcVisionGraph,
  concatIxcImages,
  ixcVisionSpec,
  IxcVisionEncoder,
  mergeTokens2x2,
  type IxcImageEmbedding,
} from '../../../../electron/engine/models/ixc-vision';
import { writeRandomIxc } from '../../../../electron/engine/models/random-ixc-checkpoint';
import { Graph } from '../../../../electron/engine/onnx';
import { EngineRuntime } from '../../../../electron/engine/runtime/runtime';
import {
  FeatureCache,
  hdSpanMeans,
  hdTokenCount,
  hdTransformImage,
  type HdPixels,
} from '../../../../electron/engine/vision';
import { maxAbsDiff, runGraph, useSwiftShader } from '../../../helpers/ort';
import { runReference, type RefTensor } from '../../../helpers/reference';
import { photoLike, tempDir, writeRgbPng } from '../vision/draw-images';

const SIDE = 2; // merged tokens per crop side in the fixture (56 / 14 / 2)
const dirs: string[] = [];
let runtime: EngineRuntime;
let ckpt: IxcCheckpoint;
let encoder: IxcVisionEncoder;
let images: { single: string; wide: string; tall: string };

/** Max |a - b| over max(1, max |b|): the tolerance scale of a float64 oracle. */
function scaledDiff(a: Float32Array, b: RefTensor): number {
  let m = 1;
  for (const v of b.data) m = Math.max(m, Math.abs(v));
  return maxAbsDiff(a, b.data) / m;
}

/** Writes the oracle's job: each image's global view then crops, raw float32. */
function jobFor(pixels: HdPixels[]): string {
  const dir = tempDir('ixc-vision-job-');
  dirs.push(dir);
  const job = {
    images: pixels.map((p, i) => {
      const file = path.join(dir, `image${i}.f32`);
      const all = new Float32Array(p.global.data.length + p.crops.data.length);
      all.set(p.global.data);
      all.set(p.crops.data, p.global.data.length);
      writeFileSync(file, Buffer.from(all.buffer));
      return { pixels: file, rows: p.geometry.rows, cols: p.geometry.cols };
    }),
  };
  const jobFile = path.join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  return jobFile;
}

/** The torch oracle's rows for `pixels` (one ViT batch over all images, as vit(img_list) runs). */
function reference(pixels: HdPixels[]): { tensors: Map<string, RefTensor>; lengths: number[] } {
  const ref = runReference('ixc_vision_ref.py', [ckpt.dir, jobFor(pixels)]);
  return { tensors: ref.tensors, lengths: ref.config.lengths as number[] };
}

beforeAll(async () => {
  const model = await writeRandomIxc({ seed: 7 });
  dirs.push(model.dir);
  ckpt = await IxcCheckpoint.open(model.dir);
  runtime = EngineRuntime.start({ log: () => undefined });
  encoder = new IxcVisionEncoder(ckpt, { ep: 'cpu', runtime, threads: 1 });
  const dir = tempDir('ixc-vision-img-');
  dirs.push(dir);
  images = {
    single: await writeRgbPng(path.join(dir, 'single.png'), photoLike(300, 200, 1), 300, 200),
    wide: await writeRgbPng(path.join(dir, 'wide.png'), photoLike(170, 60, 2), 170, 60),
    tall: await writeRgbPng(path.join(dir, 'tall.png'), photoLike(50, 90, 3), 50, 90),
  };
});

afterAll(async () => {
  await encoder?.release();
  await runtime?.dispose();
  await ckpt?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function expectSeparators(e: IxcImageEmbedding, seps: RefTensor): void {
  const h = e.hidden;
  const glb = seps.data.subarray(0, h);
  const sub = seps.data.subarray(h, 2 * h);
  // Global view: SIDE rows of (SIDE tokens + sub), then glb, then every crop-grid row + sub.
  const expected: number[] = [];
  for (let i = 0; i < SIDE; i++) expected.push(i * (SIDE + 1) + SIDE);
  const glbAt = SIDE * (SIDE + 1);
  expected.push(glbAt);
  const cols = SIDE * e.geometry.cols;
  for (let i = 0; i < SIDE * e.geometry.rows; i++) expected.push(glbAt + 1 + i * (cols + 1) + cols);
  expect([...e.layout.separators]).toEqual(expected);
  expect(e.layout.glbSeparator).toBe(glbAt);
  for (const s of expected) {
    const row = e.rows.subarray(s * h, (s + 1) * h);
    expect(maxAbsDiff(row, s === glbAt ? glb : sub)).toBeLessThan(1e-4);
  }
}

describe('IXC2.5 vision graph vs the PyTorch oracle', () => {
  it('one image at hd 24: a 4x6 crop grid, rows, token count and separators equal', async () => {
    const pixels = await hdTransformImage(images.single, 24, { cropSize: 56 });
    expect([pixels.geometry.rows, pixels.geometry.cols]).toEqual([4, 6]); // 300x200: scale 6, 336x224 -> 4 rows
    const ours = await encoder.embedPixels(pixels, 24);
    const ref = reference([pixels]);
    const count = hdTokenCount({ rows: 4, cols: 6 }, SIDE);
    expect(count).toBe((24 + 1) * 4 + 1 + 5 * 2);
    expect(ours.length).toBe(count);
    expect(ref.lengths).toEqual([count]);
    expect(ours.rows.length).toBe(count * 32);
    expect(scaledDiff(ours.rows, ref.tensors.get('image0')!)).toBeLessThan(1e-4);
    expectSeparators(ours, ref.tensors.get('separators')!);
  });

  it('a prompt of two images (hd 6): each image equal to the batched official forward, spans concatenated', async () => {
    const embeds = await encoder.embedImages([images.wide, images.tall]);
    expect(embeds.map((e) => e.hdNum)).toEqual([6, 6]);
    expect(embeds.map((e) => [e.geometry.rows, e.geometry.cols])).toEqual([
      [2, 3],
      [2, 2],
    ]);
    const pixels = [
      await hdTransformImage(images.wide, 6, { cropSize: 56 }),
      await hdTransformImage(images.tall, 6, { cropSize: 56 }),
    ];
    const ref = reference(pixels);
    expect(ref.lengths).toEqual(embeds.map((e) => hdTokenCount(e.layout.grid, SIDE)));
    embeds.forEach((e, i) => {
      expect(e.length).toBe(ref.lengths[i]);
      expect(scaledDiff(e.rows, ref.tensors.get(`image${i}`)!)).toBeLessThan(1e-4);
      expectSeparators(e, ref.tensors.get('separators')!);
    });

    const { rows, spans } = concatIxcImages(embeds);
    expect(rows.length).toBe((ref.lengths[0]! + ref.lengths[1]!) * 32);
    expect(rows.subarray(embeds[0]!.rows.length)).toEqual(embeds[1]!.rows);
    expect(spans.map((s) => [s.start, s.length])).toEqual([
      [0, ref.lengths[0]],
      [ref.lengths[0], ref.lengths[1]],
    ]);
    // Every row of a span is either content or a separator, exactly once.
    for (const s of spans) {
      const seen = new Set<number>(s.separators);
      for (const r of s.content) for (let k = 0; k < r.length; k++) seen.add(r.start + k);
      expect(seen.size).toBe(s.length);
      expect(Math.min(...seen)).toBe(s.start);
      expect(Math.max(...seen)).toBe(s.start + s.length - 1);
    }
    // Spans at the images' positions in a prompt (text before, between): absolute offsets move with them.
    const placed = concatIxcImages(embeds, [5, 5 + ref.lengths[0]! + 7]).spans;
    expect(placed[1]!.start).toBe(12 + ref.lengths[0]!);
    expect([...placed[1]!.separators]).toEqual([...spans[1]!.separators].map((x) => x + 12));
    expect(placed[0]!.content[0]).toEqual({ start: 5, length: SIDE });
    // Attention read-out over the second image's span: whole span vs content only.
    const weights = new Float32Array(rows.length / 32).fill(0);
    for (const sep of spans[1]!.separators) weights[sep] = 1;
    const means = hdSpanMeans(weights, spans[1]!.start, embeds[1]!.layout);
    expect(means.content).toBe(0);
    expect(means.whole).toBeCloseTo(spans[1]!.separators.length / spans[1]!.length, 6);
  });

  it('a sharded bf16 checkpoint: one image picks hd 24 and equals the oracle', async () => {
    const model = await writeRandomIxc({ seed: 9, dtype: 'BF16', shardBytes: 20_000 });
    dirs.push(model.dir);
    const bf16 = await IxcCheckpoint.open(model.dir);
    const enc = new IxcVisionEncoder(bf16, { ep: 'cpu', runtime, threads: 1 });
    try {
      const [e] = await enc.embedImages([images.tall]);
      expect(e!.hdNum).toBe(24);
      const pixels = await hdTransformImage(images.tall, 24, { cropSize: 56 });
      expect(e!.geometry).toEqual(pixels.geometry);
      const ref = runReference('ixc_vision_ref.py', [model.dir, jobFor([pixels])]);
      expect(scaledDiff(e!.rows, ref.tensors.get('image0')!)).toBeLessThan(1e-4);
    } finally {
      await enc.release();
      await bf16.close();
    }
  });

  it('a missing image is refused naming the file', async () => {
    const missing = path.join(tempDir('ixc-vision-missing-'), 'nope.png');
    await expect(encoder.embedImages([images.wide, missing])).rejects.toThrow(missing);
  });

  it('the feature cache: a hit needs no graph run and gives the same rows; hd_num is part of the key', async () => {
    const enc = new IxcVisionEncoder(ckpt, { ep: 'cpu', runtime, threads: 1 });
    const cache = { cache: new FeatureCache(tempDir('ixc-vision-cache-')), modelId: 'tiny-ixc' };
    dirs.push(cache.cache.dir);
    const [miss] = await enc.embedImages([images.wide], { hdNum: 6, cache });
    await enc.release(); // from here on, running the graph is refused
    const [hit] = await enc.embedImages([images.wide], { hdNum: 6, cache });
    expect(hit!.rows).toEqual(miss!.rows);
    expect(hit!.geometry).toEqual(miss!.geometry);
    expect(hit!.layout.separators).toEqual(miss!.layout.separators);
    await expect(enc.embedImages([images.wide], { hdNum: 24, cache })).rejects.toThrow(/closed/);
  });

  it('several crops per run (padded last run) give the same rows as one crop per run', async () => {
    const batched = new IxcVisionEncoder(ckpt, { ep: 'cpu', runtime, threads: 1, batch: 4 });
    try {
      const pixels = await hdTransformImage(images.wide, 6, { cropSize: 56 }); // 1 + 6 views: runs of 4 and 3 (+1 pad)
      const one = await encoder.embedPixels(pixels, 6);
      const four = await batched.embedPixels(pixels, 6);
      expect(four.length).toBe(one.length);
      expect(maxAbsDiff(four.rows, one.rows)).toBeLessThan(1e-5);
    } finally {
      await batched.release();
    }
    await expect(batched.embedPixels(await hdTransformImage(images.wide, 6, { cropSize: 56 }), 6)).rejects.toThrow(
      /closed/,
    );
  });
});

describe('IXC2.5 vision graph on WebGPU', () => {
  it('runs wholly on WebGPU (no CPU fallback) and equals the CPU run', async () => {
    useSwiftShader();
    const spec = ixcVisionSpec(ckpt.config);
    const pixels = await hdTransformImage(images.wide, 6, { cropSize: 56 });
    const feeds = { pixel_values: { dims: [2, 3, 56, 56], data: pixels.crops.data.subarray(0, 2 * 3 * 56 * 56) } };
    const graph = (): Graph => buildIxcVisionGraph(spec, ckpt, 2);
    const cpu = await runGraph(graph(), feeds, 'cpu', { externalDataFolder: ckpt.dir });
    const gpu = await runGraph(graph(), feeds, 'webgpu', { externalDataFolder: ckpt.dir });
    expect(gpu.crop_embeddings!.dims).toEqual([2, SIDE * SIDE, 32]);
    expect(maxAbsDiff(gpu.crop_embeddings!.values, cpu.crop_embeddings!.values)).toBeLessThan(1e-4);
    expect(maxAbsDiff(gpu.separator_embeddings!.values, cpu.separator_embeddings!.values)).toBeLessThan(1e-4);
  });
});

describe('2x2 token merge', () => {
  it('puts patches (2i,2j), (2i,2j+1), (2i+1,2j), (2i+1,2j+1) in consecutive channel blocks', async () => {
    const [n, g, c] = [2, 4, 3];
    const graph = new Graph('merge');
    const x = graph.input('x', 'float32', [n, g * g, c]);
    graph.output(mergeTokens2x2(x, g), 'y');
    const data = Float32Array.from({ length: n * g * g * c }, (_, k) => k);
    const out = await runGraph(graph, { x: { dims: [n, g * g, c], data } });
    expect(out.y!.dims).toEqual([n, (g / 2) ** 2, 4 * c]);
    const h = g / 2;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < h; j++)
          for (let blk = 0; blk < 4; blk++)
            for (let ch = 0; ch < c; ch++) {
              const patch = (2 * i + (blk >> 1)) * g + 2 * j + (blk & 1);
              const got = out.y!.values[((b * h * h + i * h + j) * 4 + blk) * c + ch];
              expect(got).toBe(data[(b * g * g + patch) * c + ch]);
            }
  });
});
