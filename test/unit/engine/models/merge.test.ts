// `mia-dpo merge`: the merged folder is a plain llava-hf folder (sharded
// safetensors in the base's dtype and layout, configs/tokenizer/processor
// copied), its adapted weights equal an independent numpy merge of the PEFT
// files bit for bit (fp32 and fp16), and it scores and generates as the base
// with the adapter does, in the engine and in the PyTorch reference reading
// the adapter by its PEFT key names.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../../electron/cli/command';
import { runCli } from '../../../../electron/cli/run';
import { generate } from '../../../../electron/engine/generate/generate';
import { loadRunner } from '../../../../electron/engine/generate/load';
import type { LlavaRunner } from '../../../../electron/engine/generate/runner';
import { createRng } from '../../../../electron/engine/generate/sampling';
import { scoreResponses } from '../../../../electron/engine/generate/score';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { initLora } from '../../../../electron/engine/models/lora';
import { mergeAdapter, mergeLora, roundToOddF32 } from '../../../../electron/engine/models/merge';
import { llavaSpec } from '../../../../electron/engine/models/llava';
import { parseLlavaConfig } from '../../../../electron/engine/models/config';
import { exportPeftAdapter, type AdapterSettings } from '../../../../electron/engine/models/peft-export';
import { toFloat32 } from '../../../../electron/engine/weights/decode';
import { floatToHalf, halfToFloat } from '../../../../electron/engine/weights/float16';
import { runReference as runTensorReference } from '../../../helpers/reference';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../helpers/tiny-llava';
import { runReference } from './reference';

const tmp = path.join(os.tmpdir(), `merge-${process.pid}`);
const SETTINGS: AdapterSettings = {
  r: 4,
  alpha: 8,
  dropout: 0,
  rslora: false,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
const PROMPT = [1, 17, TINY.imageToken, 40, 8, 3];
const RESPONSES = [
  [29, 7, 311, 2],
  [5, 900, 2],
];
const pixels = Float32Array.from({ length: 3 * TINY.image * TINY.image }, (_, i) => Math.sin(i * 0.13));

interface Fixture {
  base: string;
  adapter: string;
  merged: string;
}

/** A base of `dtype` and layout, a trained-looking adapter for it, and their merge in shards of ~1 MB. */
async function fixture(name: string, dtype: 'F32' | 'F16', layout: 'legacy' | 'nested'): Promise<Fixture> {
  const model = await writeTinyLlava({ attention: 'gqa', dtype, layout, seed: 4 }, path.join(tmp, `${name}-base`));
  const rng = createRng(11);
  const spec = llavaSpec(parseLlavaConfig(model.config));
  const lora = initLora(spec.text, { rank: 4, alpha: 8, rslora: false, targets: SETTINGS.targets }, rng);
  for (const m of lora.modules.values()) m.b = Float32Array.from(m.b, () => rng() - 0.5);
  const adapter = path.join(tmp, `${name}-adapter`);
  await exportPeftAdapter(adapter, { baseDir: model.dir, lora, settings: SETTINGS });
  const merged = path.join(tmp, `${name}-merged`);
  await mergeAdapter({ modelDir: model.dir, adapterDir: adapter, outDir: merged, shardBytes: 1_000_000 });
  return { base: model.dir, adapter, merged };
}

let f32: Fixture;
let f16: Fixture;
const runners: LlavaRunner[] = [];
beforeAll(async () => {
  mkdirSync(tmp, { recursive: true });
  f32 = await fixture('f32', 'F32', 'nested');
  f16 = await fixture('f16', 'F16', 'legacy');
});
afterAll(async () => {
  for (const r of runners) {
    await r.release();
    await r.model.checkpoint.close();
  }
  rmSync(tmp, { recursive: true, force: true });
});

async function score(dir: string, adapter?: string) {
  const runner = await loadRunner(dir, { ep: 'cpu', ...(adapter ? { adapter: { dir: adapter } } : {}) });
  runners.push(runner);
  const features = [await runner.imageFeatures(pixels)];
  const scored = await scoreResponses(runner, PROMPT, features, RESPONSES);
  const generated = await generate(runner, PROMPT, features, { maxNewTokens: 4 });
  return { logprobs: scored.tokenLogprobs.flat(), tokens: generated.tokens };
}

const maxDiff = (a: number[], b: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe('mergeAdapter', () => {
  it('writes a plain llava-hf folder: shards + index in the base layout and dtype, every other file copied', async () => {
    const files = readdirSync(f32.merged).sort();
    const shards = files.filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(2);
    expect(shards.every((f, i) => f === `model-0000${i + 1}-of-0000${shards.length}.safetensors`)).toBe(true);
    const carried = readdirSync(f32.base).filter((f) => !f.endsWith('.safetensors'));
    expect(carried).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'preprocessor_config.json']));
    expect(files).toEqual([...shards, ...carried, 'model.safetensors.index.json'].sort());
    for (const f of carried)
      expect(readFileSync(path.join(f32.merged, f)).equals(readFileSync(path.join(f32.base, f))), f).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const [base, merged] = await Promise.all([Checkpoint.open(f32.base), Checkpoint.open(f32.merged)]);
    expect(merged.layout).toBe('nested');
    expect(merged.dtype).toBe('F32');
    expect(merged.weights.names().sort()).toEqual(base.weights.names().sort());
    for (const name of [
      'vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight',
      'language_model.lm_head.weight',
    ])
      expect(Buffer.from(await merged.read(name)).equals(await base.read(name)), name).toBe(true);
    const q = 'language_model.model.layers.0.self_attn.q_proj.weight';
    expect(Buffer.from(await merged.read(q)).equals(await base.read(q))).toBe(false);
    await Promise.all([base.close(), merged.close()]);
  });

  it.each([
    ['fp32', () => f32],
    ['fp16', () => f16],
  ] as const)('%s: adapted weights equal numpy W + s·B·A (PEFT names) rounded once to the dtype', async (_n, fx) => {
    const ref = runTensorReference('merge_ref.py', [fx().base, fx().adapter]);
    expect(ref.tensors.size).toBe(2 * 7);
    const merged = await Checkpoint.open(fx().merged);
    for (const [name, t] of ref.tensors) {
      const got = toFloat32(merged.get(name).dtype, await merged.read(name));
      const at = got.findIndex((v, i) => v !== t.data[i]);
      expect(at, `${name}[${at}]: ${got[at]} vs ${t.data[at]}`).toBe(-1);
    }
    await merged.close();
  });

  it('fp32: the merged model scores and generates as the base with the adapter, and as PyTorch reading PEFT names', async () => {
    const merged = await score(f32.merged);
    const unmerged = await score(f32.base, f32.adapter);
    const bare = await score(f32.base);
    expect(maxDiff(merged.logprobs, unmerged.logprobs)).toBeLessThanOrEqual(1e-5);
    expect(merged.tokens).toEqual(unmerged.tokens);
    expect(maxDiff(merged.logprobs, bare.logprobs)).toBeGreaterThan(1e-2);
    const ref = runReference(f32.base, {
      input_ids: PROMPT,
      pixels: { data: pixels, shape: [1, 3, TINY.image, TINY.image] },
      score: RESPONSES.map((r) => ({ prompt_ids: PROMPT, response_ids: r })),
      adapter: f32.adapter,
    });
    expect(maxDiff(unmerged.logprobs, ref.scores.flat())).toBeLessThanOrEqual(1e-4);
    expect(maxDiff(merged.logprobs, ref.scores.flat())).toBeLessThanOrEqual(1e-4);
  });

  it('fp16: the merged model scores as the fp16 base with the adapter, within fp16 weight rounding', async () => {
    const merged = await score(f16.merged);
    const unmerged = await score(f16.base, f16.adapter);
    // Each merged weight is rounded to fp16 (relative 2^-11) where the unmerged run adds s·B·A in fp32: 3.2e-3 seen.
    expect(maxDiff(merged.logprobs, unmerged.logprobs)).toBeLessThanOrEqual(1e-2);
  });

  it('rounds to fp16 once: round-to-odd float32 then nearest-even equals nearest-even from float64', () => {
    // 1 + 2^-11 + 2^-40 lies just above an fp16 tie: float32 rounds it onto the tie, which then goes to even (down).
    const x = 1 + 2 ** -11 + 2 ** -40;
    expect(halfToFloat(floatToHalf(Math.fround(x)))).toBe(1);
    expect(halfToFloat(floatToHalf(roundToOddF32(x)))).toBe(1 + 2 ** -10);
    expect(roundToOddF32(-x)).toBe(-roundToOddF32(x));
    expect(roundToOddF32(0.5)).toBe(0.5);
    expect(
      Array.from(mergeLora(new Float32Array([1, 2]), new Float32Array([1, 2]), new Float32Array([3]), 1, 0.5)),
    ).toEqual([2.5, 5]);
  });

  it('refuses an existing folder and an adapter of another model, leaving nothing behind', async () => {
    const out = path.join(tmp, 'taken');
    mkdirSync(out);
    writeFileSync(path.join(out, 'x'), '');
    await expect(mergeAdapter({ modelDir: f32.base, adapterDir: f32.adapter, outDir: out })).rejects.toThrow(
      /taken: already exists and is not empty/,
    );
    const other = await writeTinyLlava(
      { attention: 'gqa', size: { hidden: 48, headDim: 12 } },
      path.join(tmp, 'other'),
    );
    const out2 = path.join(tmp, 'never');
    await expect(mergeAdapter({ modelDir: other.dir, adapterDir: f32.adapter, outDir: out2 })).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringMatching(/adapter_model\.safetensors: .* has shape \[\d+, \d+\], expected/),
    });
    expect(existsSync(out2)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

function memoryIo(): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const sink = (write: (s: string) => void) =>
    new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
  return {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    tty: false,
    out: () => out,
    err: () => err,
  };
}

describe('mia-dpo merge', () => {
  it('prints the files written (--json) and refuses a bad --max-shard-size as usage', async () => {
    const out = path.join(tmp, 'cli');
    const io = memoryIo();
    const args = ['merge', '--model', f16.base, '--adapter', f16.adapter, '--out', out];
    expect(await runCli([...args, '--max-shard-size', '0.5MB', '--json'], io)).toBe(0);
    const res = JSON.parse(io.out()) as { ok: boolean; files: string[]; merged: string[]; outDir: string };
    expect(res.ok).toBe(true);
    expect(res.outDir).toBe(out);
    expect(res.merged).toHaveLength(14);
    expect(res.files).toEqual(readdirSync(out).sort());
    expect(res.files.filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(1);
    const bad = memoryIo();
    expect(await runCli([...args.slice(0, -1), path.join(tmp, 'cli2'), '--max-shard-size', '2XB'], bad)).toBe(2);
    expect(bad.err()).toMatch(/--max-shard-size: a size such as 2GB/);
  });
});
