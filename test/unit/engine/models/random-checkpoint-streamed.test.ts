// The random-checkpoint writer's streamed mode (the 7B-shaped benchmark checkpoint): each tensor drawn as it is
// written, shards and index as HF writes them, reproducible per seed, the intended distributions, and a folder the
// engine opens with every expected tensor.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import {
  drawStreamedTensor,
  normalQuantile,
  randomLlavaShapes,
  writeRandomLlava,
  type RandomLlavaOptions,
} from '../../../../electron/engine/models/random-checkpoint';
import { toFloat32 } from '../../../../electron/engine/weights/decode';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const fresh = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'random-streamed-'));
  dirs.push(d);
  return d;
};

const meanStd = (v: Float32Array): { mean: number; std: number } => {
  let s = 0;
  let s2 = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
  }
  const mean = s / v.length;
  return { mean, std: Math.sqrt(s2 / v.length - mean * mean) };
};

describe('streamed random checkpoints', () => {
  it('normalQuantile matches tabulated standard normal quantiles', () => {
    // Values from the standard normal table (scipy.stats.norm.ppf).
    const known: [number, number][] = [
      [0.5, 0],
      [0.975, 1.959963984540054],
      [0.841344746068543, 1],
      [0.001, -3.090232306167813],
      [1e-5, -4.264890793922825],
      [0.99999, 4.264890793922825],
    ];
    for (const [p, z] of known) expect(normalQuantile(p)).toBeCloseTo(z, 7);
  });

  it('draws N(0, 0.3^2) weights and N(1, 0.1^2) norms, the same bytes for the same seed and name', () => {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const w = toFloat32(
        dtype,
        drawStreamedTensor('language_model.model.layers.0.mlp.up_proj.weight', [257, 1001], dtype, 3),
      );
      const { mean, std } = meanStd(w);
      expect(Math.abs(mean)).toBeLessThan(0.003);
      expect(std).toBeGreaterThan(0.297);
      expect(std).toBeLessThan(0.303);
      const n = meanStd(
        toFloat32(dtype, drawStreamedTensor('vision_tower.vision_model.pre_layrnorm.weight', [100001], dtype, 3)),
      );
      expect(Math.abs(n.mean - 1)).toBeLessThan(0.003);
      expect(Math.abs(n.std - 0.1)).toBeLessThan(0.003);
    }
    const a = drawStreamedTensor('x.weight', [64, 33], 'F16', 1);
    expect(drawStreamedTensor('x.weight', [64, 33], 'F16', 1)).toEqual(a);
    expect(drawStreamedTensor('x.weight', [64, 33], 'F16', 2)).not.toEqual(a);
    expect(drawStreamedTensor('y.weight', [64, 33], 'F16', 1)).not.toEqual(a);
  });

  it('writes HF-style shards and index that the engine opens, reproducibly', async () => {
    const o: RandomLlavaOptions = {
      dtype: 'F16',
      streamed: true,
      shardBytes: 200_000,
      maxPositions: 4096,
      vocab: 4096,
    };
    const one = await writeRandomLlava(o, fresh());
    const two = await writeRandomLlava(o, fresh());
    expect(one.tensors.size).toBe(0);
    const shards = readdirSync(one.dir).filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(1);
    expect(shards).toContain(`model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    const index = JSON.parse(readFileSync(path.join(one.dir, 'model.safetensors.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    const shapes = randomLlavaShapes(o);
    expect(Object.keys(index.weight_map).sort()).toEqual([...shapes.keys()].sort());
    expect((one.config['text_config'] as Record<string, unknown>)['max_position_embeddings']).toBe(4096);
    for (const f of shards) expect(readFileSync(path.join(two.dir, f))).toEqual(readFileSync(path.join(one.dir, f)));
    // The engine's own shape table checks every tensor on open.
    const c = await Checkpoint.open(one.dir);
    try {
      for (const [name, shape] of shapes) expect(c.get(name).shape).toEqual(shape);
      const emb = toFloat32('F16', await c.read('language_model.model.embed_tokens.weight'));
      expect(Math.abs(meanStd(emb).std - 0.3)).toBeLessThan(0.01);
    } finally {
      await c.close();
    }
  });
});
