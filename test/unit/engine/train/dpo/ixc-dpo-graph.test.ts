// The DPO train step on IXC2.5's decoder (graph.ts ixcDpoDecoder): one pair
// (chosen, rejected) after a prompt with image rows, LoRA on every official
// fine-tuning target (wqkv, wo, w1, w2, w3) beside the frozen PLoRA. Torch
// (test/reference/ixc_ref.py, float64 autograd) gives each row's summed
// response log-prob and its LoRA A/B gradients; the sigmoid DPO loss's
// gradient is then -beta * sigmoid(-beta * l) * (grad chosen - grad rejected)
// with l = (pi_c - pi_r) - (ref_c - ref_r): the graph's accumulated gradients
// (zero accumulators) and loss must equal that. The LoRA then exports as a PEFT
// adapter under the official module names (base_model.model.model.layers.N...).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causalBias } from '../../../../../electron/engine/generate/prompt';
import { IxcCheckpoint } from '../../../../../electron/engine/models/checkpoint-ixc';
import {
  IXC_LORA_TARGETS,
  IXC_PEFT_TARGET_MODULES,
  ixcLoraModules,
  ixcRotaryTables,
  ixcSpec,
  type IxcSpec,
} from '../../../../../electron/engine/models/ixc';
import {
  initLoraModule,
  loraFeeds,
  loraInputNames,
  type LoraWeights,
} from '../../../../../electron/engine/models/lora';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, writePeftAdapter } from '../../../../../electron/engine/models/peft';
import { writeRandomIxc } from '../../../../../electron/engine/models/random-ixc-checkpoint';
import { buildDpoStepGraph, ixcDpoDecoder } from '../../../../../electron/engine/train/dpo/graph';
import { SafetensorsFile } from '../../../../../electron/engine/weights/reader';
import { writeSafetensors } from '../../../../../electron/engine/weights/writer';
import { runGraph, type HostTensor } from '../../../../helpers/ort';
import { relErr, runReference } from '../../../../helpers/reference';

const IMG = -1;
const BETA = 0.1;
let dir: string;
let ck: IxcCheckpoint;
let spec: IxcSpec;
let lora: LoraWeights;
let loraFile: string;

beforeAll(async () => {
  ({ dir } = await writeRandomIxc({ seed: 21 }));
  ck = await IxcCheckpoint.open(dir);
  spec = ixcSpec(ck.config, ck.ploraRank);
  let seed = 5;
  const rng = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const modules = new Map(
    ixcLoraModules(spec, IXC_LORA_TARGETS).map((x) => {
      const w = initLoraModule(x, 4, rng);
      w.b = Float32Array.from(w.b, () => (rng() - 0.5) * 0.4);
      return [x.module, w] as const;
    }),
  );
  lora = { rank: 4, scale: 0.5, modules };
  loraFile = path.join(dir, 'lora-dpo.safetensors');
  const tensors: Parameters<typeof writeSafetensors>[1] = {};
  for (const [module, w] of modules) {
    tensors[`${module}.lora_A.weight`] = { dtype: 'F32', shape: [4, w.inFeatures], data: new Uint8Array(w.a.buffer) };
    tensors[`${module}.lora_B.weight`] = { dtype: 'F32', shape: [w.outFeatures, 4], data: new Uint8Array(w.b.buffer) };
  }
  await writeSafetensors(loraFile, tensors, { format: 'pt' });
});

afterAll(async () => {
  await ck?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('DPO step on the IXC2.5 decoder', () => {
  it('LoRA gradients and loss equal the DPO chain rule on torch autograd, PLoRA at image rows', async () => {
    const h = spec.hiddenSize;
    const R = 6;
    const image = Float32Array.from({ length: R * h }, (_, i) => Math.sin(i * 0.37) * 0.7);
    const prompt = [1, 17, 250, 33, ...new Array<number>(R).fill(IMG), 44, 91, 512];
    const answers = [
      [301, 77, 640, 2],
      [88, 402, 19, 2],
    ];
    const rows = answers.map((a) => [...prompt, ...a]);
    const T = rows[0]!.length;
    const A = answers[0]!.length;
    const first = prompt.length; // position of the first answer token
    // Per row: the positions whose next token is an answer token, and those tokens.
    const answerIndex = Array.from({ length: A }, (_, j) => first - 1 + j);
    const ref = [-3.25, -4.5];

    const { graph, io } = buildDpoStepGraph(ixcDpoDecoder(spec), ck, {
      pairs: 1,
      seq: T,
      answer: A,
      lora,
      dropout: 0,
      dpo: { beta: BETA, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 },
      optimizer: {},
    });
    const positions = Array.from({ length: T }, (_, i) => i);
    const rope = ixcRotaryTables(spec, positions, T);
    const hd = spec.headDim;
    const twice = (a: Float32Array) => {
      const out = new Float32Array(2 * a.length);
      out.set(a);
      out.set(a, a.length);
      return out;
    };
    let k = 0;
    const featureIndex = rows.flatMap((r) => r.map((x) => (x === IMG ? k++ : -1)));
    const feeds: Record<string, HostTensor> = {
      input_ids: { dims: [2, T], data: rows.flat().map((x) => Math.max(x, 0)), dtype: 'int32' },
      rope_cos: { dims: [2, T, hd], data: twice(rope.cos) },
      rope_sin: { dims: [2, T, hd], data: twice(rope.sin) },
      attention_bias: { dims: [2, T, T], data: twice(causalBias(T, 0)) },
      image_features: { dims: [2 * R, h], data: twice(image) },
      feature_index: { dims: [2, T], data: featureIndex, dtype: 'int32' },
      answer_index: { dims: [2, A], data: [...answerIndex, ...answerIndex], dtype: 'int32' },
      targets: { dims: [2, A], data: answers.flat(), dtype: 'int32' },
      response_mask: { dims: [2, A], data: new Array<number>(2 * A).fill(1) },
      ref_logps: { dims: [2], data: ref },
      grad_scale: { dims: [], data: [1] },
      step: { dims: [], data: [1] },
      lr: { dims: [], data: [0] },
    };
    for (const [name, t] of Object.entries(loraFeeds(lora)))
      feeds[name] = { dims: t.dims, data: t.data as Float32Array };
    for (const p of io.params) {
      const size = (feeds[p.name]!.data as Float32Array).length;
      const dims = feeds[p.name]!.dims;
      for (const n of [p.m, p.v, p.acc]) feeds[n] = { dims, data: new Float32Array(size) };
    }
    const out = await runGraph(graph, feeds, 'cpu', { externalDataFolder: dir });

    // Torch: each row alone, loss = sum of its answer tokens' log-probs, autograd on every LoRA A and B.
    const tmp = mkdtempSync(path.join(tmpdir(), 'ixc-dpo-'));
    const rowsFile = path.join(tmp, 'rows.f32');
    writeFileSync(rowsFile, new Uint8Array(image.buffer));
    const runs = rows.map((ids, i) => ({
      name: `r${i}`,
      input_ids: ids,
      image_rows: rowsFile,
      lora: loraFile,
      lora_scale: 0.5,
      grad: {
        targets: ids
          .slice(1)
          .concat([2])
          .map((x) => Math.max(x, 0)),
        mask: ids.map((_, t) => (t >= first - 1 && t < T - 1 ? 1 : 0)),
      },
    }));
    writeFileSync(path.join(tmp, 'req.json'), JSON.stringify({ runs }));
    const torch = runReference('ixc_ref.py', [dir, path.join(tmp, 'req.json')]);
    rmSync(tmp, { recursive: true, force: true });
    const t = (name: string) => {
      const x = torch.tensors.get(name);
      if (!x) throw new Error(`reference wrote no ${name}`);
      return x.data;
    };
    const sums = runs.map((r) => Array.from(t(`${r.name}.logprobs`)).reduce((s, v, i) => s + v * r.grad.mask[i]!, 0));
    const l = sums[0]! - sums[1]! - (ref[0]! - ref[1]!);
    const coeff = -BETA / (1 + Math.exp(BETA * l)); // d/dl of -logsigmoid(beta l)
    expect(out['loss']!.values[0]).toBeCloseTo(Math.log1p(Math.exp(-BETA * l)), 5);
    expect(out['logp_chosen']!.values[0]).toBeCloseTo(sums[0]!, 3);
    expect(out['logp_rejected']!.values[0]).toBeCloseTo(sums[1]!, 3);

    const byName = new Map(io.params.map((p) => [p.name, p]));
    let checked = 0;
    for (const module of lora.modules.keys()) {
      const n = loraInputNames(module);
      for (const [name, ab] of [
        [n.a, 'A'],
        [n.b, 'B'],
      ] as const) {
        const gc = t(`r0.grad.${module}.${ab}`);
        const gr = t(`r1.grad.${module}.${ab}`);
        const want = Array.from(gc, (v, i) => coeff * (v - gr[i]!));
        const got = out[byName.get(name)!.accOut]!.values;
        expect(Math.max(...want.map(Math.abs)), name).toBeGreaterThan(1e-7);
        expect(relErr(got, want), name).toBeLessThanOrEqual(1e-4);
        checked++;
      }
    }
    expect(checked).toBe(2 * 5 * spec.numLayers);
  });

  it('exports the LoRA as a PEFT adapter under the official module names and target list', async () => {
    const out = path.join(dir, 'adapter');
    await writePeftAdapter(out, {
      config: {
        r: 4,
        loraAlpha: 2,
        useRslora: false,
        loraDropout: 0,
        targetModules: IXC_LORA_TARGETS.map((t) => IXC_PEFT_TARGET_MODULES[t]),
      },
      layout: 'ixc',
      modules: lora.modules,
    });
    const config = JSON.parse(readFileSync(path.join(out, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    expect(config['target_modules']).toEqual([
      'attention.wqkv',
      'attention.wo',
      'feed_forward.w1',
      'feed_forward.w2',
      'feed_forward.w3',
    ]);
    const file = await SafetensorsFile.open(path.join(out, ADAPTER_WEIGHTS));
    try {
      const byName = new Map(file.tensors.map((t) => [t.name, t]));
      expect(byName.size).toBe(2 * 5 * spec.numLayers);
      // Packed q/k/v: B is [(heads + 2 kv heads) * head_dim, r].
      const qkv = (spec.numHeads + 2 * spec.numKvHeads) * spec.headDim;
      expect(byName.get('base_model.model.model.layers.0.attention.wqkv.lora_A.weight')?.shape).toEqual([
        4,
        spec.hiddenSize,
      ]);
      expect(byName.get('base_model.model.model.layers.0.attention.wqkv.lora_B.weight')?.shape).toEqual([qkv, 4]);
      expect(
        byName.get(`base_model.model.model.layers.${spec.numLayers - 1}.feed_forward.w2.lora_B.weight`)?.shape,
      ).toEqual([spec.hiddenSize, 4]);
      const a = await file.read('base_model.model.model.layers.1.attention.wo.lora_A.weight');
      const want = lora.modules.get('model.layers.1.attention.wo')!.a;
      expect(new Float32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength))).toEqual(want);
    } finally {
      await file.close();
    }
  });
});
