// The full-parameter SFT step (every weight of tower, projector and decoder a
// trainable input) against PyTorch autograd + torch.optim.AdamW in float64
// (test/reference/sft_ref.py, each example run alone): a tiny random llava-hf
// checkpoint, two examples with three images, two clipped AdamW steps with
// weight decay off for norms, biases and embeddings.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../../../../../electron/engine/models/open';
import type { LlavaSpec } from '../../../../../electron/engine/models/llava';
import { SftTrainer, type SftExample, type SftStepResult } from '../../../../../electron/engine/train/sft/trainer';
import { sftNoDecay } from '../../../../../electron/engine/train/sft/graph';
import { relErr } from '../../../../helpers/reference';
import { TINY_LLAVA as TINY, writeTinyLlava, type TinyLlava } from '../../../../helpers/tiny-llava';

const IMG = TINY.imageToken;
const EOS = 2;
const VOCAB = 96;
const EXAMPLES = [
  { prompt: [1, 5, IMG, 9, IMG, 12], answer: [7, 33, 21, EOS], images: [0, 1] },
  { prompt: [1, IMG, 40, 8], answer: [3, 17, EOS], images: [2] },
];
const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.05 };
const LRS = [1e-2, 5e-3];
const CLIP = 1.0;
const PIXELS = 3 * TINY.image * TINY.image;
const pixels = Float32Array.from({ length: 3 * PIXELS }, (_, i) => Math.sin(i * 0.29) * 1.3);

interface SftRefOutput {
  steps: { loss: number; grad_norm: number }[];
  final: Record<string, number[]>;
}

function runSftReference(modelDir: string): SftRefOutput {
  const dir = mkdtempSync(path.join(tmpdir(), 'sft-ref-'));
  writeFileSync(path.join(dir, 'pixels.f32'), new Uint8Array(pixels.buffer));
  const req = {
    pixel_values_raw: path.join(dir, 'pixels.f32'),
    pixel_shape: [3, 3, TINY.image, TINY.image],
    examples: EXAMPLES.map((e) => ({ prompt_ids: e.prompt, answer_ids: e.answer, images: e.images })),
    lrs: LRS,
    betas: [ADAM.beta1, ADAM.beta2],
    eps: ADAM.eps,
    weight_decay: ADAM.weightDecay,
    clip_norm: CLIP,
  };
  writeFileSync(path.join(dir, 'req.json'), JSON.stringify(req));
  const script = path.resolve(import.meta.dirname, '../../../../reference/sft_ref.py');
  execFileSync(
    process.env.MIA_PYTHON ?? '/usr/bin/python3',
    [script, modelDir, path.join(dir, 'req.json'), path.join(dir, 'out.json')],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8')) as SftRefOutput;
}

let tiny: TinyLlava;
let spec: LlavaSpec;
let ref: SftRefOutput;
let trainer: SftTrainer;
const results: SftStepResult[] = [];

const examples = (): SftExample[] =>
  EXAMPLES.map((e) => ({
    promptIds: e.prompt,
    answerIds: e.answer,
    pixels: e.images.map((k) => pixels.subarray(k * PIXELS, (k + 1) * PIXELS)),
  }));

beforeAll(async () => {
  tiny = await writeTinyLlava({ vocab: VOCAB, attention: 'gqa', seed: 11 });
  const model = await openModel(tiny.dir);
  spec = model.spec;
  await model.checkpoint.close();
  ref = runSftReference(tiny.dir);
  trainer = await SftTrainer.create({
    ep: 'cpu',
    spec,
    weights: tiny.tensors,
    shape: { rows: 2, images: 3, seq: 48, answer: 8 },
    adamw: ADAM,
    clipNorm: CLIP,
  });
  for (const lr of LRS) results.push(await trainer.step(examples(), lr));
}, 120_000);

afterAll(async () => {
  await trainer?.close();
});

describe('full-parameter SFT step against PyTorch', () => {
  it('trains exactly the weights the forward reads, tower and projector included', () => {
    expect(trainer.trainable.sort()).toEqual(Object.keys(ref.final).sort());
    expect(trainer.trainable).toContain('vision_tower.vision_model.embeddings.patch_embedding.weight');
    expect(trainer.trainable).toContain('multi_modal_projector.linear_2.weight');
    // -2 of 3 layers: the last vision layer and post_layernorm are never run, so never trained.
    expect(trainer.trainable).not.toContain('vision_tower.vision_model.post_layernorm.weight');
    expect(sftNoDecay('language_model.model.embed_tokens.weight')).toBe(true);
    expect(sftNoDecay('language_model.model.layers.0.mlp.up_proj.weight')).toBe(false);
  });

  it('loss and gradient norm of each step equal the oracle', () => {
    expect(results).toHaveLength(2);
    results.forEach((r, i) => {
      const want = ref.steps[i]!;
      expect(Math.abs(r.loss - want.loss), `step ${i + 1} loss ${r.loss} vs ${want.loss}`).toBeLessThanOrEqual(
        2e-5 * Math.max(1, Math.abs(want.loss)),
      );
      expect(Math.abs(r.gradNorm - want.grad_norm), `step ${i + 1} grad norm`).toBeLessThanOrEqual(
        1e-4 * want.grad_norm,
      );
      expect(r.tokens).toBe(7);
    });
    expect(results[1]!.loss).toBeLessThan(results[0]!.loss);
  });

  it('every weight after two AdamW steps equals the oracle', async () => {
    const got = await trainer.weights();
    let worst = 0;
    for (const [name, want] of Object.entries(ref.final)) {
      const g = got.get(name)!.values;
      // Absolute, in units of the first lr: Adam moves each element by about lr per step.
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(g[i]! - want[i]!));
      worst = Math.max(worst, err / LRS[0]!);
      expect(err, name).toBeLessThanOrEqual(1e-2 * LRS[0]!);
    }
    if (process.env.SFT_TEST_VERBOSE) console.log(`worst weight error ${worst.toExponential(2)} x lr`);
    // Untrained weights come back as given.
    const post = 'vision_tower.vision_model.post_layernorm.weight';
    expect(relErr(got.get(post)!.values, tiny.tensors.get(post)!.values)).toBe(0);
  });
});
