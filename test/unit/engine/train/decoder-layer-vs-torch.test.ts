// One production decoder layer (models/llava.ts decoderLayer, every weight a
// trainable input): its parameter gradients and three clipped AdamW train
// steps against an independent PyTorch Llama block in float64
// (test/reference/block_ref.py): tensor-wise relative error (max |ours - ref|
// / max |ref|) <= 1e-4 on CPU and on WebGPU (measured: below 2e-6 on both).
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradients } from '../../../../electron/engine/autodiff';
import { expectedShapes } from '../../../../electron/engine/models/checkpoint-shapes';
import { parseLlavaConfig } from '../../../../electron/engine/models/config';
import { LM, decoderLayer, llavaSpec } from '../../../../electron/engine/models/llava';
import { inputParams } from '../../../../electron/engine/models/params';
import { Graph, op, serializeModel } from '../../../../electron/engine/onnx';
import type { Value } from '../../../../electron/engine/onnx';
import type { ExplicitEp } from '../../../../electron/engine/runtime/local';
import { TrainStepSession, buildTrainStep } from '../../../../electron/engine/train/train-step';
import { runGraph, useSwiftShader } from '../../../helpers/ort';
import type { RefTensor } from '../../../helpers/reference';
import { relErr, runReference } from '../../../helpers/reference';

useSwiftShader();

const [H, HEADS, INTER, B, T] = [16, 2, 32, 2, 5];
const HD = H / HEADS;
const CONFIG = parseLlavaConfig({
  text_config: {
    hidden_size: H,
    num_attention_heads: HEADS,
    intermediate_size: INTER,
    num_hidden_layers: 1,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 64,
  },
  vision_config: {
    hidden_size: 8,
    intermediate_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    image_size: 28,
    patch_size: 14,
  },
});
const SPEC = llavaSpec(CONFIG).text;
const LAYER = `${LM}layers.0.`;
/** The layer's weights from the engine's shape table; block_ref.py names them by their last module. */
const SHAPES = new Map([...expectedShapes(CONFIG)].filter(([n]) => n.startsWith(LAYER)));
const refName = (n: string): string => n.slice(LAYER.length).replace(/^(self_attn|mlp)\./, '');
const TOL: Record<ExplicitEp, number> = { cpu: 1e-4, webgpu: 1e-4, cuda: 1e-4 };

let ref: Map<string, RefTensor>;
let cfg: {
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
  clip: number;
  steps: number;
};

beforeAll(() => {
  const r = runReference('block_ref.py', [
    '--hidden',
    '16',
    '--heads',
    '2',
    '--inter',
    '32',
    '--seq',
    String(T),
    '--batch',
    String(B),
    '--steps',
    '3',
  ]);
  ref = r.tensors;
  cfg = r.config as typeof cfg;
});

const t = (name: string): RefTensor => ref.get(name)!;

function forward(): { g: Graph; params: Value[]; loss: Value } {
  const g = new Graph('decoder_layer');
  const x = g.input('x', 'float32', [B, T, H]);
  const cos = g.input('cos', 'float32', [B, T, HD]);
  const sin = g.input('sin', 'float32', [B, T, HD]);
  const bias = g.input('bias', 'float32', [B, T, T]);
  const proj = g.input('proj', 'float32', [B, T, H]);
  const p = inputParams(g, SHAPES);
  const y = decoderLayer(p, SPEC, 0, x, { rope: { cos, sin }, bias, hooks: {} }).x;
  return { g, params: p.inputs, loss: op.reduceSum(op.mul(y, proj), [0, 1, 2], false) };
}

/** block_ref.py's [T, hd] rotary tables per row, and the causal bias. */
function batchFeeds(): Record<string, { dims: number[]; data: Float32Array }> {
  const tile = (d: Float32Array): Float32Array =>
    Float32Array.from({ length: B * d.length }, (_, i) => d[i % d.length]!);
  const bias = new Float32Array(B * T * T);
  for (let r = 0; r < B * T; r++) bias.fill(-1e30, r * T + (r % T) + 1, (r + 1) * T);
  return {
    x: t('x'),
    proj: t('proj'),
    cos: { dims: [B, T, HD], data: tile(t('cos').data) },
    sin: { dims: [B, T, HD], data: tile(t('sin').data) },
    bias: { dims: [B, T, T], data: bias },
  };
}

const names = (params: Value[]): string[] => params.map((v) => v.name);

describe.each(['cpu', 'webgpu'] as const)('a production decoder layer vs PyTorch on %s', (ep) => {
  it('matches the loss and every parameter gradient', async () => {
    const { g, params, loss } = forward();
    expect(names(params).map(refName).sort()).toEqual([...SHAPES.keys()].map(refName).sort());
    g.output(loss, 'loss');
    gradients(loss, params).forEach((gv, i) => g.output(gv, `grad.${params[i]!.name}`));
    const feeds = { ...batchFeeds(), ...Object.fromEntries(names(params).map((n) => [n, t(`param.${refName(n)}`)])) };
    const out = await runGraph(g, feeds, ep);
    expect(relErr(out.loss!.values, t('loss').data)).toBeLessThan(TOL[ep]);
    for (const n of names(params))
      expect(relErr(out[`grad.${n}`]!.values, t(`grad.${refName(n)}`).data), n).toBeLessThan(TOL[ep]);
  });

  it('takes the same clipped AdamW steps as torch.optim.AdamW', async () => {
    const { g, params, loss } = forward();
    const [beta1, beta2] = cfg.adamw.betas;
    const io = buildTrainStep({
      loss,
      params,
      clipNorm: cfg.clip,
      adamw: { beta1, beta2, eps: cfg.adamw.eps, weightDecay: cfg.adamw.weight_decay },
    });
    const session = await TrainStepSession.create(serializeModel(g), io, { ep, strict: true });
    const tensor = (r: { dims: number[]; data: Float32Array }): ort.Tensor =>
      new ort.Tensor('float32', r.data.slice(), r.dims);
    session.init(Object.fromEntries(names(params).map((n) => [n, tensor(t(`param.${refName(n)}`))])));
    const batch = Object.fromEntries(Object.entries(batchFeeds()).map(([n, r]) => [n, tensor(r)]));
    const losses: number[] = [];
    const norms: number[] = [];
    for (let s = 0; s < cfg.steps; s++) {
      const r = await session.step(batch, cfg.adamw.lr);
      losses.push(r.loss);
      norms.push(r.gradNorm);
    }
    expect(relErr(losses, t('train.losses').data)).toBeLessThan(TOL[ep]);
    expect(relErr(norms, t('train.grad_norms').data)).toBeLessThan(TOL[ep]);
    const trained = await session.readParams();
    for (const n of names(params))
      expect(relErr(trained[n]!.data as Float32Array, t(`trained.${refName(n)}`).data), n).toBeLessThan(TOL[ep]);
    await session.release();
  });
});
