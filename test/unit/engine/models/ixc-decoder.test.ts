// Parity of the IXC2.5 decoder graphs (ixc.ts) with the independent PyTorch
// reference test/reference/ixc_ref.py on tiny random checkpoints with the
// official tensor names: prefill logits over text and image rows, PLoRA only
// at image rows, cached decoding against a full pass and against torch's
// cache, dynamic NTK past max_position_embeddings, bf16 shards with biases,
// scoring, attention capture, the fine-tuning LoRA hooks and their gradients.
// One Python run per checkpoint serves every comparison on it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causalBias } from '../../../../electron/engine/generate/prompt';
import { IxcCheckpoint } from '../../../../electron/engine/models/checkpoint-ixc';
import { gradients } from '../../../../electron/engine/autodiff';
import { cacheNames, decoderGraphInputs } from '../../../../electron/engine/models/decoder';
import {
  IXC_LORA_TARGETS,
  buildIxcTextGraph,
  ixcLoraModules,
  ixcRopeBase,
  ixcRotaryTables,
  ixcSpec,
  ixcTextForward,
  ixcTokenLogprobs,
  type IxcSpec,
} from '../../../../electron/engine/models/ixc';
import {
  initLoraModule,
  loraBranch,
  loraFeeds,
  loraInputNames,
  mergedLora,
  type LoraWeights,
} from '../../../../electron/engine/models/lora';
import { externalParams } from '../../../../electron/engine/models/params';
import { rotaryTables } from '../../../../electron/engine/models/nn';
import { writeRandomIxc, type RandomIxcOptions } from '../../../../electron/engine/models/random-ixc-checkpoint';
import { Graph, serializeModel } from '../../../../electron/engine/onnx';
import * as op from '../../../../electron/engine/onnx/ops';
import { createLocalSession } from '../../../../electron/engine/runtime/local';
import { writeSafetensors } from '../../../../electron/engine/weights/writer';
import { maxAbsDiff, runGraph, toOrt, useSwiftShader, type HostTensor } from '../../../helpers/ort';
import { relErr, runReference, type RefTensor } from '../../../helpers/reference';

const H = 32;
const IMG = -1;

/** Text ids with image rows (-1) between them: [BOS, text, image 1 (rowsA), text, image 2 (rowsB), text...]. */
function prompt(text: number, rowsA: number, rowsB: number): number[] {
  const t = (n: number, k: number) => Array.from({ length: n }, (_, i) => 3 + ((i * 37 + k * 11) % 900));
  return [
    1,
    ...t(3, 1),
    ...new Array<number>(rowsA).fill(IMG),
    ...t(2, 2),
    ...new Array<number>(rowsB).fill(IMG),
    ...t(text, 3),
  ];
}

function imageRows(ids: readonly number[], seed: number): Float32Array {
  const n = ids.filter((x) => x === IMG).length;
  return Float32Array.from({ length: Math.max(1, n) * H }, (_, i) => Math.sin(i * 0.71 + seed) * 0.8);
}

interface Opened {
  dir: string;
  ck: IxcCheckpoint;
  spec: IxcSpec;
}
const opened: IxcCheckpoint[] = [];
afterAll(async () => {
  for (const c of opened) await c.close();
});

async function open(o: RandomIxcOptions): Promise<Opened> {
  const { dir } = await writeRandomIxc(o);
  const ck = await IxcCheckpoint.open(dir);
  opened.push(ck);
  return { dir, ck, spec: ixcSpec(ck.config, ck.ploraRank) };
}

/** Feeds of one sequence run on an empty cache (prefill) or after `past` cached positions. */
function feeds(
  s: IxcSpec,
  ids: readonly number[],
  rows: Float32Array,
  past = 0,
  base?: number,
): Record<string, HostTensor> {
  const t = ids.length;
  const positions = ids.map((_, i) => past + i);
  const rope =
    base === undefined
      ? ixcRotaryTables(s, positions, past + t)
      : rotaryTables({ headDim: s.headDim, ropeTheta: base, ropePositionScale: 1 }, positions);
  let k = 0;
  const index = ids.map((x) => (x === IMG ? k++ : -1));
  return {
    input_ids: { dims: [1, t], data: ids.map((x) => Math.max(x, 0)), dtype: 'int32' },
    rope_cos: { dims: [1, t, s.headDim], data: rope.cos },
    rope_sin: { dims: [1, t, s.headDim], data: rope.sin },
    attention_bias: { dims: [1, t, past + t], data: causalBias(t, past) },
    image_features: { dims: [rows.length / H, H], data: rows },
    feature_index: { dims: [1, t], data: index, dtype: 'int32' },
  };
}

async function prefillLogits(m: Opened, ids: number[], rows: Float32Array, extra: { base?: number } = {}) {
  const g = buildIxcTextGraph(m.spec, m.ck, { batch: 1, mode: 'prefill', output: 'all', cache: false, capture: [] });
  const out = await runGraph(g, feeds(m.spec, ids, rows, 0, extra.base), 'cpu', { externalDataFolder: m.dir });
  return out['logits']!.values;
}

/** Greedy decoding through the KV cache: the prefill is a step on an empty cache, then one token per step. */
async function decode(m: Opened, ids: number[], rows: Float32Array, steps: number, capture: number[] = []) {
  const s = m.spec;
  const g = buildIxcTextGraph(s, m.ck, { batch: 1, mode: 'decode', output: 'last', cache: true, capture });
  const session = await createLocalSession(serializeModel(g), { ep: 'cpu', strict: true, externalDataFolder: m.dir });
  let cache: Record<string, ort.Tensor> = {};
  for (let i = 0; i < s.numLayers; i++) {
    cache[cacheNames(i, 'past').keyT] = toOrt({ dims: [1, s.numKvHeads, s.headDim, 0], data: [] });
    cache[cacheNames(i, 'past').value] = toOrt({ dims: [1, s.numKvHeads, 0, s.headDim], data: [] });
  }
  const logits: number[] = [];
  const tokens: number[] = [];
  const attention = new Map<number, number[][]>(capture.map((l) => [l, []]));
  let fresh = ids;
  let past = 0;
  for (let step = 0; step < steps; step++) {
    const f = Object.fromEntries(Object.entries(feeds(s, fresh, rows, past)).map(([k, v]) => [k, toOrt(v)]));
    const out = await session.run({ ...cache, ...f });
    const row = Array.from(out['logits']!.data as Float32Array);
    logits.push(...row);
    const tok = row.indexOf(Math.max(...row));
    tokens.push(tok);
    for (const l of capture) attention.get(l)!.push(Array.from(out[`attention_${l}`]!.data as Float32Array));
    cache = {};
    for (let i = 0; i < s.numLayers; i++) {
      cache[cacheNames(i, 'past').keyT] = out[cacheNames(i, 'present').keyT]!;
      cache[cacheNames(i, 'past').value] = out[cacheNames(i, 'present').value]!;
    }
    past += fresh.length;
    fresh = [tok];
  }
  await session.release();
  return { logits, tokens, attention };
}

interface Run {
  name: string;
  input_ids: number[];
  rows: Float32Array;
  logits?: 'all';
  steps?: number;
  attention_layers?: number[];
  plora?: boolean;
  rope?: 'config' | 'none';
  lora?: string;
  lora_scale?: number;
  grad?: { targets: number[]; mask: number[] };
}

function reference(dir: string, runs: Run[]) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ixc-req-'));
  const req = runs.map(({ rows, ...r }, i) => {
    const file = path.join(tmp, `rows${i}.f32`);
    writeFileSync(file, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    return { ...r, image_rows: file };
  });
  writeFileSync(path.join(tmp, 'req.json'), JSON.stringify({ runs: req }));
  const out = runReference('ixc_ref.py', [dir, path.join(tmp, 'req.json')]);
  const tensor = (name: string): RefTensor => {
    const t = out.tensors.get(name);
    if (!t) throw new Error(`reference wrote no ${name}`);
    return t;
  };
  const result = (name: string) => out.config[name] as { tokens: number[]; attention: Record<string, number[][]> };
  return { tensor, result };
}

/** Rows [from, to) of a [T, V] logits array. */
const rowsOf = (a: ArrayLike<number>, v: number, from: number, to: number) => Array.from(a).slice(from * v, to * v);

describe('IXC2.5 decoder against the PyTorch reference (fp32, GQA 4/2, rank-8 PLoRA, NTK x2 at 64)', () => {
  let m: Opened;
  let zeroB: Opened;
  let ref: ReturnType<typeof reference>;
  let lora: LoraWeights;
  const ids = prompt(4, 6, 5); // 21 positions, images at 4..9 and 12..16
  const rows = imageRows(ids, 1);
  const long = prompt(40, 14, 10); // 70 positions > max_position_embeddings 64
  const longRows = imageRows(long, 2);
  const V = 1024;
  const STEPS = 6;
  // A loss on every next text token after the first image (the last image row's prediction included), as DPO sums response log-probs.
  const GRAD = {
    targets: ids
      .slice(1)
      .concat([2])
      .map((x) => Math.max(x, 0)),
    mask: ids.map((_, t) => (t >= 10 && t < ids.length - 1 && ids[t + 1] !== IMG ? 1 : 0)),
  };

  beforeAll(async () => {
    m = await open({});
    zeroB = await open({ zeroPloraB: true });
    // A fine-tuning LoRA on every target, B nonzero so it changes the output.
    let seed = 7;
    const rng = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const modules = new Map(
      ixcLoraModules(m.spec, IXC_LORA_TARGETS).map((x) => {
        const w = initLoraModule(x, 4, rng);
        w.b = Float32Array.from(w.b, () => (rng() - 0.5) * 0.4);
        return [x.module, w] as const;
      }),
    );
    lora = { rank: 4, scale: 0.5, modules };
    const loraFile = path.join(m.dir, 'lora-test.safetensors');
    const tensors: Parameters<typeof writeSafetensors>[1] = {};
    for (const [module, w] of modules) {
      tensors[`${module}.lora_A.weight`] = { dtype: 'F32', shape: [4, w.inFeatures], data: new Uint8Array(w.a.buffer) };
      tensors[`${module}.lora_B.weight`] = {
        dtype: 'F32',
        shape: [w.outFeatures, 4],
        data: new Uint8Array(w.b.buffer),
      };
    }
    await writeSafetensors(loraFile, tensors, { format: 'pt' });
    ref = reference(m.dir, [
      { name: 'prefill', input_ids: ids, rows, logits: 'all' },
      { name: 'noplora', input_ids: ids, rows, logits: 'all', plora: false },
      { name: 'decode', input_ids: ids, rows, steps: STEPS, attention_layers: [1] },
      { name: 'long', input_ids: long, rows: longRows, logits: 'all', steps: 5 },
      { name: 'lora', input_ids: ids, rows, logits: 'all', lora: loraFile, lora_scale: 0.5 },
      { name: 'grad', input_ids: ids, rows, lora: loraFile, lora_scale: 0.5, grad: GRAD },
    ]);
  });

  it('prefill logits over text and image rows equal torch within 1e-4', async () => {
    const logits = await prefillLogits(m, ids, rows);
    expect(maxAbsDiff(logits, ref.tensor('prefill.logits').data)).toBeLessThanOrEqual(1e-4);
  });

  it('PLoRA acts only at image rows: rows before the first image are unchanged, image rows change', async () => {
    const logits = await prefillLogits(m, ids, rows);
    const off = ref.tensor('noplora.logits').data;
    expect(maxAbsDiff(rowsOf(logits, V, 0, 4), rowsOf(off, V, 0, 4))).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(rowsOf(logits, V, 4, 10), rowsOf(off, V, 4, 10))).toBeGreaterThan(1e-2);
  });

  it('zero Plora_B gives exactly the model without PLoRA', async () => {
    const logits = await prefillLogits(zeroB, ids, rows);
    expect(maxAbsDiff(logits, ref.tensor('noplora.logits').data)).toBeLessThanOrEqual(1e-4);
  });

  it('cached greedy decoding equals torch and a full pass over the same sequence; attention capture too', async () => {
    const d = await decode(m, ids, rows, STEPS, [1]);
    const r = ref.result('decode');
    expect(d.tokens).toEqual(r.tokens);
    expect(maxAbsDiff(d.logits, ref.tensor('decode.step_logits').data)).toBeLessThanOrEqual(1e-4);
    const att = d.attention.get(1)!;
    att.forEach((row, i) => expect(maxAbsDiff(row, r.attention['1']![i]!)).toBeLessThanOrEqual(1e-5));
    // A full pass over prompt + generated tokens (text: no PLoRA) gives the same next-token rows.
    const full = [...ids, ...d.tokens.slice(0, -1)];
    const all = await prefillLogits(m, full, rows);
    expect(maxAbsDiff(rowsOf(all, V, ids.length - 1, full.length), d.logits)).toBeLessThanOrEqual(1e-4);
  });

  it('dynamic NTK past max_position_embeddings: prefill and cached steps equal torch; the unscaled base does not', async () => {
    expect(ixcRopeBase(m.spec, 64)).toBe(m.spec.ropeTheta);
    expect(ixcRopeBase(m.spec, 70)).toBeGreaterThan(m.spec.ropeTheta);
    const logits = await prefillLogits(m, long, longRows);
    expect(maxAbsDiff(logits, ref.tensor('long.logits').data)).toBeLessThanOrEqual(1e-4);
    const unscaled = await prefillLogits(m, long, longRows, { base: m.spec.ropeTheta });
    expect(maxAbsDiff(unscaled, ref.tensor('long.logits').data)).toBeGreaterThan(1e-3);
    // Every step grows the base for its own token; cached keys keep theirs (the official cache semantics).
    const d = await decode(m, long, longRows, 5);
    expect(d.tokens).toEqual(ref.result('long').tokens);
    expect(maxAbsDiff(d.logits, ref.tensor('long.step_logits').data)).toBeLessThanOrEqual(1e-4);
  });

  it('scoring: token log-probs equal log-softmax of torch logits at the targets', async () => {
    const g = buildIxcTextGraph(m.spec, m.ck, {
      batch: 1,
      mode: 'prefill',
      output: 'targets',
      cache: false,
      capture: [],
    });
    const targets = ids
      .slice(1)
      .concat([2])
      .map((x) => Math.max(x, 0));
    const out = await runGraph(
      g,
      { ...feeds(m.spec, ids, rows), targets: { dims: [1, ids.length], data: targets, dtype: 'int32' } },
      'cpu',
      { externalDataFolder: m.dir },
    );
    const r = ref.tensor('prefill.logits').data;
    const want = targets.map((tok, t) => {
      const row = Array.from(r.subarray(t * V, (t + 1) * V));
      const max = Math.max(...row);
      return row[tok]! - max - Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    });
    expect(maxAbsDiff(out['token_logprobs']!.values, want)).toBeLessThanOrEqual(1e-4);
  });

  it('a fine-tuning LoRA on wqkv, wo, w1, w2, w3 (unmerged, then merged) adds to every row on top of PLoRA, as torch', async () => {
    const g = buildIxcTextGraph(m.spec, m.ck, {
      batch: 1,
      mode: 'prefill',
      output: 'all',
      cache: false,
      capture: [],
      hooks: (gr) => loraBranch(gr, lora),
    });
    const f = Object.fromEntries(
      Object.entries(loraFeeds(lora)).map(([k, t]) => [k, { dims: t.dims, data: t.data as Float32Array }]),
    );
    const out = await runGraph(g, { ...feeds(m.spec, ids, rows), ...f }, 'cpu', { externalDataFolder: m.dir });
    const want = ref.tensor('lora.logits').data;
    expect(maxAbsDiff(out['logits']!.values, want)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(out['logits']!.values, ref.tensor('prefill.logits').data)).toBeGreaterThan(1e-2);
    // Merged into the weights (W + s B A) instead: the same logits.
    const merged = buildIxcTextGraph(m.spec, m.ck, {
      batch: 1,
      mode: 'prefill',
      output: 'all',
      cache: false,
      capture: [],
      params: mergedLora(lora, (gr) => externalParams(gr, m.ck)),
    });
    const viaMerge = await runGraph(merged, feeds(m.spec, ids, rows), 'cpu', { externalDataFolder: m.dir });
    expect(maxAbsDiff(viaMerge['logits']!.values, want)).toBeLessThanOrEqual(1e-4);
  });

  it('every op has a gradient rule: LoRA A and B gradients of a log-prob loss equal torch autograd (float64)', async () => {
    const g = new Graph('ixc_lora_grad');
    const p = externalParams(g, m.ck);
    const inputs = decoderGraphInputs(g, m.spec, 1, 'prefill');
    const branch = loraBranch(g, lora);
    const out = ixcTextForward(p, m.spec, inputs, { hooks: branch });
    const logp = ixcTokenLogprobs(p, m.spec, out.hidden, g.input('targets', 'int32', [1, 'seq'])); // [1, T]
    const loss = op.reduceSum(op.mul(logp, g.input('loss_mask', 'float32', [1, 'seq'])), [0, 1], false);
    expect(branch.params).toHaveLength(2 * 5 * 2);
    g.output(logp, 'token_logprobs');
    gradients(loss, branch.params).forEach((gv, i) => g.output(gv, `grad.${branch.params[i]!.name}`));
    const t = ids.length;
    const f = Object.fromEntries(
      Object.entries(loraFeeds(lora)).map(([k, x]) => [k, { dims: x.dims, data: x.data as Float32Array }]),
    );
    const res = await runGraph(
      g,
      {
        ...feeds(m.spec, ids, rows),
        ...f,
        targets: { dims: [1, t], data: GRAD.targets, dtype: 'int32' },
        loss_mask: { dims: [1, t], data: GRAD.mask },
      },
      'cpu',
      { externalDataFolder: m.dir },
    );
    expect(maxAbsDiff(res['token_logprobs']!.values, ref.tensor('grad.logprobs').data)).toBeLessThanOrEqual(2e-5);
    for (const module of lora.modules.keys()) {
      const n = loraInputNames(module);
      for (const [name, ab] of [
        [n.a, 'A'],
        [n.b, 'B'],
      ] as const) {
        const want = ref.tensor(`grad.grad.${module}.${ab}`).data;
        expect(Math.max(...Array.from(want, Math.abs)), name).toBeGreaterThan(1e-4);
        expect(relErr(res[`grad.${name}`]!.values, want), name).toBeLessThanOrEqual(1e-4);
      }
    }
  });
});

describe('IXC2.5 decoder: other checkpoints', () => {
  it('a bf16 checkpoint in shards, with wqkv / wo biases, loads and matches torch', async () => {
    const m = await open({ dtype: 'BF16', shardBytes: 40_000, bias: true, seed: 5 });
    expect(m.ck.weights.fileNames().length).toBeGreaterThan(1);
    const ids = prompt(3, 4, 3);
    const rows = imageRows(ids, 3);
    const ref = reference(m.dir, [{ name: 'bf16', input_ids: ids, rows, logits: 'all' }]);
    expect(maxAbsDiff(await prefillLogits(m, ids, rows), ref.tensor('bf16.logits').data)).toBeLessThanOrEqual(1e-4);
  });

  it('the generation step and scoring graphs run wholly on WebGPU (no CPU fallback)', async () => {
    useSwiftShader();
    const m = await open({});
    for (const o of [
      { batch: 1, mode: 'decode', output: 'last', cache: true, capture: [1] },
      { batch: 2, mode: 'prefill', output: 'targets', cache: false, capture: [] },
    ] as const) {
      const s = await createLocalSession(serializeModel(buildIxcTextGraph(m.spec, m.ck, o)), {
        ep: 'webgpu',
        strict: true,
        externalDataFolder: m.dir,
      });
      await s.release();
    }
  });
});
