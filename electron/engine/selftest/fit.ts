// The self-test's training run: LoRA adapters on a tiny random LLaVA language
// model (the production decoder of models/llava.ts: GQA, rotary, an image
// feature merged at its token) learn to predict a fixed token sequence with the
// one-graph train step, run in the process's session host with the adapters
// and AdamW state kept there (on the GPU with WebGPU). Deterministic, so CPU
// and WebGPU curves can be compared.
import ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph';
import * as op from '../onnx/ops';
import { serializeModel } from '../onnx/serialize';
import { parseLlavaConfig } from '../models/config';
import { llavaSpec, llavaTextForward, textGraphInputs, tokenLogprobs } from '../models/llava';
import { LORA_TARGETS, initLora, loraBranch, loraFeeds } from '../models/lora';
import { rotaryTables } from '../models/nn';
import { memoryParams } from '../models/params';
import { randomLlavaConfig, randomLlavaTensors, type RandomLlavaOptions } from '../models/random-checkpoint';
import type { ExplicitEp } from '../runtime/local';
import { TrainStepSession, buildTrainStep } from '../train/train-step';
import { prng } from './gradcheck';

/** hidden 32, 4 query heads over 2 kv heads, 2 layers; a 64-token vocabulary keeps the logits small. */
export const FIT_MODEL: RandomLlavaOptions = { attention: 'gqa', textLayers: 2, vocab: 64, seed: 5 };
const [B, T, RANK] = [2, 8, 4];

export interface FitOptions {
  ep: ExplicitEp;
  steps?: number;
  lr?: number;
}

/** Trains the LoRA adapters and returns the loss (mean negative log-prob of the next tokens) before each step. */
export async function fitLoraTask(opts: FitOptions): Promise<number[]> {
  const { steps = 40, lr = 3e-2 } = opts;
  const spec = llavaSpec(parseLlavaConfig(randomLlavaConfig(FIT_MODEL)));
  const d = spec.text.hiddenSize;
  const g = new Graph('fit');
  const p = memoryParams(g, randomLlavaTensors(FIT_MODEL));
  const inputs = textGraphInputs(g, spec, B, 'prefill', T);
  const lora = initLora(spec.text, { rank: RANK, alpha: 2 * RANK, rslora: false, targets: LORA_TARGETS }, prng(3));
  const branch = loraBranch(g, lora);
  const out = llavaTextForward(p, spec, inputs, { hooks: branch });
  const logp = tokenLogprobs(p, spec, out.hidden, g.input('targets', 'int32', [B, T])); // [B, T]
  const loss = op.neg(op.reduceMean(logp, [0, 1], false));
  const io = buildTrainStep({ loss, params: branch.params, clipNorm: 1, adamw: { weightDecay: 0 } });

  const rand = prng(42);
  const ids = Int32Array.from({ length: B * (T + 1) }, () => Math.floor(rand() * spec.text.vocabSize));
  const input = Int32Array.from({ length: B * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T)]!);
  const targets = Int32Array.from({ length: B * T }, (_, i) => ids[Math.floor(i / T) * (T + 1) + (i % T) + 1]!);
  // Position 1 of each row is an image token taking that row's feature vector.
  const featureIndex = Int32Array.from({ length: B * T }, (_, i) => (i % T === 1 ? Math.floor(i / T) : -1));
  const bias = new Float32Array(B * T * T);
  for (let r = 0; r < B * T; r++) bias.fill(-1e30, r * T + (r % T) + 1, (r + 1) * T);
  const rope = rotaryTables(
    spec.text,
    Array.from({ length: B * T }, (_, i) => i % T),
  );
  const batch = {
    input_ids: new ort.Tensor('int32', input, [B, T]),
    targets: new ort.Tensor('int32', targets, [B, T]),
    feature_index: new ort.Tensor('int32', featureIndex, [B, T]),
    image_features: new ort.Tensor(
      'float32',
      Float32Array.from({ length: B * d }, () => rand() * 2 - 1),
      [B, d],
    ),
    rope_cos: new ort.Tensor('float32', rope.cos, [B, T, spec.text.headDim]),
    rope_sin: new ort.Tensor('float32', rope.sin, [B, T, spec.text.headDim]),
    attention_bias: new ort.Tensor('float32', bias, [B, T, T]),
  };
  const session = await TrainStepSession.create(serializeModel(g), io, { ep: opts.ep, strict: true });
  try {
    session.init(loraFeeds(lora));
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push((await session.step(batch, lr)).loss);
    return losses;
  } finally {
    await session.release();
  }
}
