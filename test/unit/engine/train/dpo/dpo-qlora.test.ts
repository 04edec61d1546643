// Memory-bounded DPO (issue 15 item 2, decision 0660): a DPO step on an int8 /
// int4 frozen base (QLoRA: the quantized cache inference reads, dequantized per
// layer in the forward and again in the backward) against the PyTorch oracle
// (test/reference/dpo_ref.py) run on a checkpoint holding the dequantized
// weights; gradient checkpointing (each decoder layer recomputed in the
// backward) equal to the plain graph, and the graph's structure: the backward
// reads no value of a layer's forward but its input.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../../../electron/engine/generate/sampling';
import { buildVisionGraph } from '../../../../../electron/engine/models/llava';
import { LORA_TARGETS, initLora, type LoraWeights } from '../../../../../electron/engine/models/lora';
import { openModel } from '../../../../../electron/engine/models/open';
import { writePeftAdapter } from '../../../../../electron/engine/models/peft';
import { isQuantized } from '../../../../../electron/engine/models/quantized';
import { buildDpoStepGraph, llavaDpoDecoder } from '../../../../../electron/engine/train/dpo/graph';
import {
  DpoTrainer,
  type DpoConfig,
  type DpoExample,
  type DpoStepMetrics,
  type DpoTrainerOptions,
} from '../../../../../electron/engine/train/dpo/trainer';
import { dequantizeMatrix, quantizeMatrix } from '../../../../../electron/engine/weights/quantize';
import { writeSafetensors } from '../../../../../electron/engine/weights/writer';
import { runGraph } from '../../../../helpers/ort';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../../helpers/tiny-llava';
import { runDpoReference, type DpoRefOutput, type RefMetrics, type RefPair } from './dpo-ref';

const IMG = TINY.imageToken;
const EOS = 2;
const RANK = 2;
const PAIRS = [
  { prompt: [1, 5, IMG, 9, IMG, 12], chosen: [7, 33, 21, EOS], rejected: [40, 8, EOS], images: [0, 1] },
  { prompt: [1, IMG, 40, 8], chosen: [3, 17, EOS], rejected: [3, 50, 44, 12, EOS], images: [2] },
];
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 };
const LR = 2e-2;
const CLIP = 0.5;
const SIGMOID: DpoConfig = { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 };
const FORMATS = ['int8', 'int4'] as const;
type Format = (typeof FORMATS)[number];

const pixels = Float32Array.from({ length: 3 * 3 * TINY.image * TINY.image }, (_, i) => Math.sin(i * 0.29) * 1.3);

let modelDir = '';
let adapterDir = '';
let cacheDir = '';
let init: LoraWeights;
let features: Float32Array[] = [];
const base = new Map<Format, { chosen: number[]; rejected: number[] }>();
const oracle = new Map<Format, DpoRefOutput>();

/** A copy of the model whose quantizable linears hold dequant(quant(W)): what the int8/int4 graphs compute with. */
async function dequantizedCopy(tensors: Map<string, { shape: number[]; values: Float32Array }>, bits: 8 | 4) {
  const dir = mkdtempSync(path.join(tmpdir(), `dpo-deq${bits}-`));
  cpSync(modelDir, dir, { recursive: true });
  const out: Parameters<typeof writeSafetensors>[1] = {};
  for (const [name, t] of tensors) {
    const values = isQuantized(name, t.shape, { bits, block: 32 })
      ? dequantizeMatrix(quantizeMatrix(t.values, t.shape[0]!, t.shape[1]!, bits, 32))
      : t.values;
    out[name] = {
      dtype: 'F32',
      shape: t.shape,
      data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), out, { format: 'pt' });
  return dir;
}

const refPair = (i: number, f?: Format): RefPair => ({
  prompt_ids: PAIRS[i]!.prompt,
  chosen_ids: PAIRS[i]!.chosen,
  rejected_ids: PAIRS[i]!.rejected,
  images: PAIRS[i]!.images,
  ...(f ? { ref_chosen: base.get(f)!.chosen[i]!, ref_rejected: base.get(f)!.rejected[i]! } : {}),
});

const example = (i: number, refs = { chosen: [0, 0], rejected: [0, 0] }): DpoExample => ({
  promptIds: PAIRS[i]!.prompt,
  features: PAIRS[i]!.images.map((k) => features[k]!),
  chosenIds: PAIRS[i]!.chosen,
  rejectedIds: PAIRS[i]!.rejected,
  refChosen: refs.chosen[i]!,
  refRejected: refs.rejected[i]!,
});

function options(extra: Partial<DpoTrainerOptions> = {}): DpoTrainerOptions {
  return {
    modelDir,
    ep: 'cpu',
    lora: { rank: RANK, alpha: 4, rslora: false, targets: LORA_TARGETS, dropout: 0 },
    init,
    dpo: SIGMOID,
    adamw: ADAM,
    clipNorm: CLIP,
    seed: 1,
    ...extra,
  };
}
const quantized = (format: Format, extra: Partial<DpoTrainerOptions> = {}): DpoTrainerOptions =>
  options({ weights: { format, block: 32, cacheDir }, ...extra });

const trainers: DpoTrainer[] = [];
afterAll(async () => {
  for (const t of trainers) await t.close();
});
async function trainer(o: DpoTrainerOptions): Promise<DpoTrainer> {
  const t = await DpoTrainer.create(o);
  trainers.push(t);
  return t;
}

beforeAll(async () => {
  // inter 64: every linear's input is a multiple of the block, so all seven are quantized.
  // fp16 as stored, as real checkpoints: the quantized graphs then gather the embedding and slice the LM head in fp16.
  const model = await writeTinyLlava({ attention: 'gqa', textLayers: 2, seed: 7, size: { inter: 64 }, dtype: 'F16' });
  modelDir = model.dir;
  cacheDir = mkdtempSync(path.join(tmpdir(), 'dpo-qcache-'));
  const m = await openModel(modelDir);
  try {
    const rng = createRng(11);
    init = initLora(m.spec.text, { rank: RANK, alpha: 4, rslora: false, targets: LORA_TARGETS }, rng);
    // PEFT starts B at 0, which zeroes every A gradient of step 1: draw B too so both are checked.
    for (const mod of init.modules.values()) mod.b = Float32Array.from(mod.b, () => (rng() - 0.5) * 0.5);
    adapterDir = mkdtempSync(path.join(tmpdir(), 'dpo-qinit-'));
    await writePeftAdapter(adapterDir, {
      config: { r: RANK, loraAlpha: 4, useRslora: false, targetModules: [...LORA_TARGETS], loraDropout: 0 },
      layout: 'legacy',
      modules: init.modules,
    });
    const vision = await runGraph(
      buildVisionGraph(m.spec, m.checkpoint, 3),
      { pixel_values: { dims: [3, 3, TINY.image, TINY.image], data: pixels } },
      'cpu',
      { externalDataFolder: modelDir },
    );
    const all = vision['image_features']!.values;
    const per = all.length / 3;
    features = [0, 1, 2].map((i) => Float32Array.from(all.slice(i * per, (i + 1) * per)));
  } finally {
    await m.checkpoint.close();
  }
  for (const f of FORMATS) {
    const t = await trainer(quantized(f, { referenceBatch: 2 }));
    base.set(f, await t.referenceLogprobs([example(0), example(1)]));
    oracle.set(
      f,
      runDpoReference(await dequantizedCopy(model.tensors, f === 'int8' ? 8 : 4), {
        pixels: { data: pixels, shape: [3, 3, TINY.image, TINY.image] },
        reference: [refPair(0), refPair(1)],
        runs: [
          {
            adapter: adapterDir,
            beta: SIGMOID.beta,
            loss: SIGMOID.loss,
            label_smoothing: 0,
            sft_weight: 0,
            betas: [ADAM.beta1, ADAM.beta2],
            eps: ADAM.eps,
            weight_decay: ADAM.weightDecay,
            clip_norm: CLIP,
            steps: [{ lr: LR, micro: [[refPair(0, f), refPair(1, f)]] }],
          },
        ],
      }),
    );
  }
}, 180_000);

/** Same bars as dpo-trainer.test.ts (the fp32 parity test): metrics 2e-5 relative, grad norm 1e-4, weights 2e-4. */
function expectOracle(got: DpoStepMetrics, lora: LoraWeights, want: DpoRefOutput['runs'][number], label: string): void {
  const w: RefMetrics = want.steps[0]!;
  const pairs: [number, number, string][] = [
    [got.loss, w.loss, 'loss'],
    [got.rewardsChosen, w.rewards_chosen, 'rewards_chosen'],
    [got.rewardsRejected, w.rewards_rejected, 'rewards_rejected'],
    [got.logpChosen, w.logp_chosen, 'logp_chosen'],
    [got.logpRejected, w.logp_rejected, 'logp_rejected'],
  ];
  for (const [g, x, name] of pairs)
    expect(Math.abs(g - x), `${label} ${name}: ${g} vs ${x}`).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(x)));
  expect(Math.abs(got.gradNorm - w.grad_norm!), `${label} grad_norm`).toBeLessThanOrEqual(1e-4 * w.grad_norm!);
  let worst = 0;
  for (const [module, x] of Object.entries(want.final)) {
    const m = lora.modules.get(module)!;
    x.A.forEach((v, i) => (worst = Math.max(worst, Math.abs(m.a[i]! - v))));
    x.B.forEach((v, i) => (worst = Math.max(worst, Math.abs(m.b[i]! - v))));
  }
  expect(worst, `${label}: max |ours - torch| over LoRA weights`).toBeLessThanOrEqual(2e-4);
}

describe('QLoRA: DPO on an int8 / int4 base vs PyTorch on the dequantized weights', () => {
  it.each(FORMATS)('%s: reference log-probs equal the oracle', (f) => {
    oracle.get(f)!.reference.forEach(([c, r], i) => {
      expect(Math.abs(base.get(f)!.chosen[i]! - c)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(c)));
      expect(Math.abs(base.get(f)!.rejected[i]! - r)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(r)));
    });
  });

  it.each(FORMATS.flatMap((f) => [[f, false] as const, [f, true] as const]))(
    '%s (checkpointing %s): one step (loss, metrics, grad norm, LoRA weights) equals the oracle',
    async (f, checkpointing) => {
      const t = await trainer(quantized(f, { checkpointing }));
      const got = await t.step([example(0, base.get(f)), example(1, base.get(f))], {
        lr: LR,
        apply: true,
        stepIndex: 0,
      });
      expectOracle(got, (await t.exportState()).lora, oracle.get(f)!.runs[0]!, `${f} checkpointing ${checkpointing}`);
    },
  );
});

describe('gradient checkpointing', () => {
  it('fp32: two accumulated steps equal the plain graph (float32 rounding only)', async () => {
    const run = async (checkpointing: boolean): Promise<{ m: DpoStepMetrics[]; lora: LoraWeights }> => {
      const t = await trainer(options({ checkpointing }));
      const m = [
        await t.step([example(0)], { lr: LR, apply: false, stepIndex: 0 }),
        await t.step([example(1), example(0)], { lr: LR, apply: true, stepIndex: 0 }),
      ];
      return { m, lora: (await t.exportState()).lora };
    };
    const [plain, ckpt] = [await run(false), await run(true)];
    ckpt.m.forEach((m, i) => {
      expect(Math.abs(m.loss - plain.m[i]!.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(plain.m[i]!.loss));
      expect(Math.abs(m.logpChosen - plain.m[i]!.logpChosen)).toBeLessThanOrEqual(1e-6 * Math.abs(m.logpChosen));
    });
    expect(Math.abs(ckpt.m[1]!.gradNorm - plain.m[1]!.gradNorm)).toBeLessThanOrEqual(1e-5 * plain.m[1]!.gradNorm);
    for (const [k, m] of plain.lora.modules) {
      const c = ckpt.lora.modules.get(k)!;
      m.a.forEach((v, i) => expect(Math.abs(c.a[i]! - v), `${k}.A[${i}]`).toBeLessThanOrEqual(1e-5));
      m.b.forEach((v, i) => expect(Math.abs(c.b[i]! - v), `${k}.B[${i}]`).toBeLessThanOrEqual(1e-5));
    }
  });

  it("the step graph's backward reads no forward value of a layer but the layer's input", async () => {
    const m = await openModel(modelDir);
    try {
      const build = (checkpointing: boolean) =>
        buildDpoStepGraph(llavaDpoDecoder(m.spec), m.checkpoint, {
          pairs: 1,
          seq: 32,
          answer: 32,
          lora: init,
          dropout: 0,
          dpo: SIGMOID,
          optimizer: { adamw: ADAM },
          checkpointing,
        }).graph;
      const leaks = (checkpointing: boolean): number => {
        const g = build(checkpointing);
        // Forward nodes of the decoder layers: named layer<i>/..., not a gradient or a recomputed copy.
        const forward = new Set(
          g.nodes.filter((n) => /^layer\d+\//.test(n.name) && !/\/(grad|recompute)/.test(n.name)).map((n) => n.name),
        );
        const lastOfLayer = new Set(
          [...Array(m.spec.text.numLayers).keys()].map((i) => {
            const names = g.nodes.filter((n) => n.name.startsWith(`layer${i}/`) && forward.has(n.name));
            return names[names.length - 1]!.name; // the residual Add: the next layer's input, kept as a checkpoint
          }),
        );
        // Every other node (backward, recomputation, loss, optimizer) may read only the layers' outputs.
        return g.nodes
          .filter((n) => !forward.has(n.name))
          .flatMap((n) => n.inputs)
          .filter((v) => v?.producer && forward.has(v.producer.name) && !lastOfLayer.has(v.producer.name)).length;
      };
      expect(leaks(false)).toBeGreaterThan(50);
      expect(leaks(true)).toBe(0);
    } finally {
      await m.checkpoint.close();
    }
  });
});
