// The DPO train step on the production LLaVA graph against PyTorch autograd +
// torch.optim.AdamW in float64 (test/reference/dpo_ref.py, each sequence run
// alone): a tiny random GQA llava-hf checkpoint, two pairs with images, LoRA on
// q, k, v, o, gate, up, down. Reference log-probs, 1 and 3 steps (losses,
// metrics, gradient norms, LoRA weights), every loss variant, accumulation of
// two micro-batches == one batch of two, seeded dropout.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../../../electron/engine/generate/sampling';
import { buildVisionGraph } from '../../../../../electron/engine/models/llava';
import { LORA_TARGETS, initLora, type LoraWeights } from '../../../../../electron/engine/models/lora';
import { openModel } from '../../../../../electron/engine/models/open';
import { writePeftAdapter } from '../../../../../electron/engine/models/peft';
import {
  DpoTrainer,
  type DpoConfig,
  type DpoExample,
  type DpoStepMetrics,
  type DpoTrainerOptions,
} from '../../../../../electron/engine/train/dpo/trainer';
import { runGraph, useSwiftShader } from '../../../../helpers/ort';
import { relErr } from '../../../../helpers/reference';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../../helpers/tiny-llava';
import { runDpoReference, type DpoRefOutput, type RefMetrics, type RefPair, type RefRun } from './dpo-ref';

// Before the session host's worker starts: it reads the Vulkan driver path at creation.
useSwiftShader();

const IMG = TINY.imageToken;
const EOS = 2;
const RANK = 2;
const PAIRS = [
  { prompt: [1, 5, IMG, 9, IMG, 12], chosen: [7, 33, 21, EOS], rejected: [40, 8, EOS], images: [0, 1] },
  { prompt: [1, IMG, 40, 8], chosen: [3, 17, EOS], rejected: [3, 50, 44, 12, EOS], images: [2] },
];
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01 };
const LRS = [2e-2, 1e-2, 5e-3];
const CLIP = 0.5;

const pixels = Float32Array.from({ length: 3 * 3 * TINY.image * TINY.image }, (_, i) => Math.sin(i * 0.29) * 1.3);

let modelDir = '';
let adapterDir = '';
let init: LoraWeights;
let features: Float32Array[] = [];
let base: { chosen: number[]; rejected: number[] };

const refPair = (i: number, withRef = true): RefPair => ({
  prompt_ids: PAIRS[i]!.prompt,
  chosen_ids: PAIRS[i]!.chosen,
  rejected_ids: PAIRS[i]!.rejected,
  images: PAIRS[i]!.images,
  ...(withRef ? { ref_chosen: base.chosen[i]!, ref_rejected: base.rejected[i]! } : {}),
});

const example = (i: number): DpoExample => ({
  promptIds: PAIRS[i]!.prompt,
  features: PAIRS[i]!.images.map((k) => features[k]!),
  chosenIds: PAIRS[i]!.chosen,
  rejectedIds: PAIRS[i]!.rejected,
  refChosen: base.chosen[i]!,
  refRejected: base.rejected[i]!,
});

function trainerOptions(dpo: DpoConfig, extra: Partial<DpoTrainerOptions> = {}): DpoTrainerOptions {
  return {
    modelDir,
    ep: 'cpu',
    lora: { rank: RANK, alpha: 4, rslora: false, targets: LORA_TARGETS, dropout: 0 },
    init,
    dpo,
    adamw: ADAM,
    clipNorm: CLIP,
    seed: 1,
    ...extra,
  };
}

const refRun = (dpo: DpoConfig, steps: RefRun['steps']): RefRun => ({
  adapter: adapterDir,
  beta: dpo.beta,
  loss: dpo.loss,
  label_smoothing: dpo.labelSmoothing,
  sft_weight: dpo.sftWeight,
  betas: [ADAM.beta1, ADAM.beta2],
  eps: ADAM.eps,
  weight_decay: ADAM.weightDecay,
  clip_norm: CLIP,
  steps,
});

const SIGMOID: DpoConfig = { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 };
const VARIANTS: DpoConfig[] = [
  { beta: 0.5, loss: 'sigmoid', labelSmoothing: 0.1, sftWeight: 0.3 },
  { beta: 0.5, loss: 'robust', labelSmoothing: 0.2, sftWeight: 0 },
  { beta: 0.5, loss: 'hinge', labelSmoothing: 0, sftWeight: 0 },
  { beta: 0.5, loss: 'ipo', labelSmoothing: 0, sftWeight: 0 },
];
const BOTH = (): RefPair[][] => [[refPair(0), refPair(1)]];
/** Index of the oracle's 1-step sigmoid run. */
const ONE_STEP = 2 + VARIANTS.length;

let ref: DpoRefOutput;

function expectMetrics(got: DpoStepMetrics, want: RefMetrics, label: string): void {
  const pairs: [number, number, string][] = [
    [got.loss, want.loss, 'loss'],
    [got.rewardsChosen, want.rewards_chosen, 'rewards_chosen'],
    [got.rewardsRejected, want.rewards_rejected, 'rewards_rejected'],
    [got.margin, want.margin, 'margin'],
    [got.logpChosen, want.logp_chosen, 'logp_chosen'],
    [got.logpRejected, want.logp_rejected, 'logp_rejected'],
  ];
  if (process.env.DPO_TEST_VERBOSE)
    console.log(
      `${label}: max rel err ${Math.max(...pairs.map(([g, w]) => Math.abs(g - w) / Math.max(1, Math.abs(w)))).toExponential(2)}, grad_norm ${got.gradNorm} vs ${want.grad_norm}`,
    );
  for (const [g, w, name] of pairs)
    expect(Math.abs(g - w), `${label} ${name}: ${g} vs ${w}`).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(w)));
  expect(got.accuracy, `${label} accuracy`).toBe(want.accuracy);
  if (want.grad_norm !== undefined)
    expect(Math.abs(got.gradNorm - want.grad_norm), `${label} grad_norm`).toBeLessThanOrEqual(1e-4 * want.grad_norm);
}

/**
 * LoRA weights after training vs the reference: within 1e-2 of one step's size (lr 2e-2). Adam divides by
 * sqrt(v) + eps, so float32 noise on a near-zero gradient element moves it by a visible fraction of lr
 * (measured worst 8.9e-5, robust loss; 2.6e-6 for sigmoid). Scale errors, which Adam would hide, are
 * caught by the loss and grad-norm checks.
 */
function expectWeights(got: LoraWeights, want: Record<string, { A: number[]; B: number[] }>, label: string): number {
  expect(Object.keys(want).sort()).toEqual([...got.modules.keys()].sort());
  let worst = 0;
  for (const [module, w] of Object.entries(want)) {
    const m = got.modules.get(module)!;
    for (const [ours, theirs] of [
      [m.a, w.A],
      [m.b, w.B],
    ] as const) {
      for (let i = 0; i < theirs.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    }
  }
  if (process.env.DPO_TEST_VERBOSE) console.log(`${label}: max |ours - torch| = ${worst.toExponential(2)}`);
  expect(worst, label).toBeLessThanOrEqual(2e-4);
  return worst;
}

const moved = (a: LoraWeights, b: LoraWeights): number =>
  Math.max(
    ...[...a.modules].map(([k, m]) => Math.max(...Array.from(m.b, (x, i) => Math.abs(x - b.modules.get(k)!.b[i]!)))),
  );

beforeAll(async () => {
  const model = await writeTinyLlava({ attention: 'gqa', textLayers: 2, seed: 7 });
  modelDir = model.dir;
  const m = await openModel(modelDir);
  try {
    const rng = createRng(11);
    init = initLora(m.spec.text, { rank: RANK, alpha: 4, rslora: false, targets: LORA_TARGETS }, rng);
    // PEFT starts B at 0, which zeroes every A gradient of step 1: draw B too so both are checked.
    for (const mod of init.modules.values()) mod.b = Float32Array.from(mod.b, () => (rng() - 0.5) * 0.5);
    adapterDir = mkdtempSync(path.join(tmpdir(), 'dpo-init-'));
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
  // Reference log-probs first (ours, checked against PyTorch below), then the oracle's training runs fed with them.
  const t = await DpoTrainer.create(trainerOptions(SIGMOID, { referenceBatch: 2 }));
  try {
    base = await t.referenceLogprobs([0, 1].map((i) => example0(i)));
  } finally {
    await t.close();
  }
  ref = runDpoReference(modelDir, {
    pixels: { data: pixels, shape: [3, 3, TINY.image, TINY.image] },
    reference: [refPair(0, false), refPair(1, false)],
    runs: [
      refRun(
        SIGMOID,
        LRS.map((lr) => ({ lr, micro: BOTH() })),
      ),
      ...VARIANTS.map((v) => refRun(v, [{ lr: LRS[0]!, micro: BOTH() }])),
      refRun(SIGMOID, [
        { lr: LRS[0]!, micro: [[refPair(0)], [refPair(1)]] },
        { lr: LRS[1]!, micro: [[refPair(1)], [refPair(0)]] },
      ]),
      refRun(SIGMOID, [{ lr: LRS[0]!, micro: BOTH() }]),
      refRun(SIGMOID, [{ lr: LRS[0]!, micro: [[refPair(1)]] }]),
    ],
  });
}, 120_000);

const example0 = (i: number): Omit<DpoExample, 'refChosen' | 'refRejected'> => ({
  promptIds: PAIRS[i]!.prompt,
  features: PAIRS[i]!.images.map((k) => features[k]!),
  chosenIds: PAIRS[i]!.chosen,
  rejectedIds: PAIRS[i]!.rejected,
});

const trainers: DpoTrainer[] = [];
afterAll(async () => {
  for (const t of trainers) await t.close();
});
async function trainer(o: DpoTrainerOptions): Promise<DpoTrainer> {
  const t = await DpoTrainer.create(o);
  trainers.push(t);
  return t;
}

describe('DPO train step vs PyTorch (tiny llava, 2 pairs with images, CPU)', () => {
  it('reference log-probs (base model, batched) equal the oracle', () => {
    ref.reference.forEach(([c, r], i) => {
      expect(Math.abs(base.chosen[i]! - c)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(c)));
      expect(Math.abs(base.rejected[i]! - r)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(r)));
    });
  });

  it('1 and 3 steps of sigmoid DPO with clipping and AdamW: losses, metrics, grad norms and LoRA weights', async () => {
    const t = await trainer(trainerOptions(SIGMOID));
    const want = ref.runs[0]!;
    for (let s = 0; s < 3; s++) {
      const got = await t.step([example(0), example(1)], { lr: LRS[s]!, apply: true, stepIndex: s });
      expectMetrics(got, want.steps[s]!, `step ${s + 1}`);
      expect(got.tokens).toBe(4 + 3 + 3 + 5);
      if (s === 0) {
        const st = await t.exportState();
        expect(st.step).toBe(1);
        expect(moved(st.lora, init)).toBeGreaterThan(1e-3);
        expectWeights(st.lora, ref.runs[ONE_STEP]!.final, '1 step');
      }
    }
    const st = await t.exportState();
    expect(st.step).toBe(3);
    expectWeights(st.lora, want.final, '3 steps');
  });

  it.each(VARIANTS.map((v, i) => [`${v.loss} (label smoothing ${v.labelSmoothing}, sft ${v.sftWeight})`, i] as const))(
    'loss %s: one step equals the oracle',
    async (_label, i) => {
      const t = await trainer(trainerOptions(VARIANTS[i]!));
      const want = ref.runs[1 + i]!;
      const got = await t.step([example(0), example(1)], { lr: LRS[0]!, apply: true, stepIndex: 0 });
      expectMetrics(got, want.steps[0]!, VARIANTS[i]!.loss);
      expectWeights((await t.exportState()).lora, want.final, VARIANTS[i]!.loss);
    },
  );

  it('accumulating two micro-batches of 1 equals the oracle and one batch of 2', async () => {
    const acc = await trainer(trainerOptions(SIGMOID));
    const want = ref.runs[1 + VARIANTS.length]!;
    const order = [
      [0, 1],
      [1, 0],
    ];
    const got: DpoStepMetrics[] = [];
    for (const [s, [a, b]] of order.entries()) {
      const m1 = await acc.step([example(a!)], { lr: LRS[s]!, apply: false, stepIndex: s });
      expect(m1.gradNorm).toBeNaN();
      got.push(m1, await acc.step([example(b!)], { lr: LRS[s]!, apply: true, stepIndex: s }));
    }
    got.forEach((g, i) => expectMetrics(g, want.steps[i]!, `micro-step ${i + 1}`));
    const accState = await acc.exportState();
    expectWeights(accState.lora, want.final, 'accumulated');

    const full = await trainer(trainerOptions(SIGMOID));
    for (const s of [0, 1]) await full.step([example(0), example(1)], { lr: LRS[s]!, apply: true, stepIndex: s });
    const fullState = await full.exportState();
    for (const [k, m] of fullState.lora.modules) {
      expect(relErr(accState.lora.modules.get(k)!.a, Array.from(m.a))).toBeLessThanOrEqual(1e-5);
      expect(relErr(accState.lora.modules.get(k)!.b, Array.from(m.b))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('export/import state resumes exactly', async () => {
    const a = await trainer(trainerOptions(SIGMOID));
    await a.step([example(0), example(1)], { lr: LRS[0]!, apply: true, stepIndex: 0 });
    const saved = await a.exportState();
    await a.step([example(0), example(1)], { lr: LRS[1]!, apply: true, stepIndex: 1 });
    const b = await trainer(trainerOptions(SIGMOID, { seed: 99 }));
    await b.importState(saved);
    expect(b.stepCount).toBe(1);
    await b.step([example(0), example(1)], { lr: LRS[1]!, apply: true, stepIndex: 1 });
    const [sa, sb] = [await a.exportState(), await b.exportState()];
    for (const [k, m] of sa.lora.modules) expect(Array.from(sb.lora.modules.get(k)!.b)).toEqual(Array.from(m.b));
    for (const [k, m] of sa.moments) expect(Array.from(sb.moments.get(k)!.v)).toEqual(Array.from(m.v));
  });

  it('LoRA dropout: masks seeded by (seed, step), so the same seed gives the same run and another seed another', async () => {
    const run = async (seed: number): Promise<{ losses: number[]; lora: LoraWeights }> => {
      const t = await trainer(
        trainerOptions(SIGMOID, { seed, lora: { ...trainerOptions(SIGMOID).lora, dropout: 0.3 } }),
      );
      const losses: number[] = [];
      for (const s of [0, 1])
        losses.push((await t.step([example(0), example(1)], { lr: LRS[s]!, apply: true, stepIndex: s })).loss);
      return { losses, lora: (await t.exportState()).lora };
    };
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    expect(b.losses).toEqual(a.losses);
    for (const [k, m] of a.lora.modules) expect(Array.from(b.lora.modules.get(k)!.b)).toEqual(Array.from(m.b));
    expect(c.losses[0]).not.toBe(a.losses[0]);
    // Dropout changes the step: its first loss differs from the dropout-free oracle's.
    expect(Math.abs(a.losses[0]! - ref.runs[0]!.steps[0]!.loss)).toBeGreaterThan(1e-6);
  });

  it('bad input: an empty answer and a prompt over the context are refused with the pair named', async () => {
    const t = await trainer(trainerOptions(SIGMOID));
    await expect(t.step([{ ...example(0), rejectedIds: [] }], { lr: 1e-3, apply: true, stepIndex: 0 })).rejects.toThrow(
      /pair 1 of the batch: the rejected answer is empty/,
    );
    const long = Array.from({ length: 5000 }, () => 7);
    await expect(t.step([{ ...example(1), chosenIds: long }], { lr: 1e-3, apply: true, stepIndex: 0 })).rejects.toThrow(
      /more than the model's context/,
    );
  });
});

describe('DPO train step on WebGPU (SwiftShader, strict)', () => {
  it('one sigmoid step equals the oracle', async () => {
    const t = await trainer(trainerOptions(SIGMOID, { ep: 'webgpu', strict: true }));
    // One pair (the shorter): SwiftShader runs the step in software.
    const got = await t.step([example(1)], { lr: LRS[0]!, apply: true, stepIndex: 0 });
    expectMetrics(got, ref.runs[ONE_STEP + 1]!.steps[0]!, 'webgpu step 1');
    expectWeights((await t.exportState()).lora, ref.runs[ONE_STEP + 1]!.final, 'webgpu 1 step');
  });
});
