// A transformer block's parameter gradients and three clipped AdamW train
// steps against PyTorch autograd in float64 (test/reference/block_ref.py):
// tensor-wise relative error (max |ours - ref| / max |ref|) <= 1e-4 on CPU and
// on WebGPU (measured: below 2e-6 on both).
import ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradients } from '../../../../electron/engine/autodiff';
import { Graph, op, serializeModel } from '../../../../electron/engine/onnx';
import type { Value } from '../../../../electron/engine/onnx';
import type { ExplicitEp } from '../../../../electron/engine/runtime/local';
import { block, blockParamShapes } from '../../../../electron/engine/selftest/block';
import type { BlockDims } from '../../../../electron/engine/selftest/block';
import { TrainStepSession, buildTrainStep } from '../../../../electron/engine/train/train-step';
import { runGraph, useSwiftShader } from '../../../helpers/ort';
import type { RefTensor } from '../../../helpers/reference';
import { relErr, runReference } from '../../../helpers/reference';

useSwiftShader();

const DIMS: BlockDims = { hidden: 16, heads: 2, inter: 32 };
const [B, T] = [2, 5];
const NAMES = Object.keys(blockParamShapes(DIMS));
const TOL: Record<ExplicitEp, number> = { cpu: 1e-4, webgpu: 1e-4, cuda: 1e-4 };

let ref: Map<string, RefTensor>;
let cfg: { adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number }; clip: number; steps: number };

beforeAll(() => {
  const r = runReference('block_ref.py', ['--hidden', '16', '--heads', '2', '--inter', '32', '--seq', String(T), '--batch', String(B), '--steps', '3']);
  ref = r.tensors;
  cfg = r.config as typeof cfg;
});

const t = (name: string): RefTensor => ref.get(name)!;

function forward(): { g: Graph; params: Value[]; loss: Value } {
  const g = new Graph('block');
  const x = g.input('x', 'float32', [B, T, DIMS.hidden]);
  const cos = g.input('cos', 'float32', [T, DIMS.hidden / DIMS.heads]);
  const sin = g.input('sin', 'float32', [T, DIMS.hidden / DIMS.heads]);
  const proj = g.input('proj', 'float32', [B, T, DIMS.hidden]);
  const shapes = blockParamShapes(DIMS);
  const params = NAMES.map((n) => g.input(n, 'float32', shapes[n]!));
  const byName = (n: string): Value => params[NAMES.indexOf(n)]!;
  const y = block(byName, x, cos, sin, DIMS);
  return { g, params, loss: op.reduceSum(op.mul(y, proj), [0, 1, 2], false) };
}

function feeds(): Record<string, { dims: number[]; data: Float32Array }> {
  const f: Record<string, { dims: number[]; data: Float32Array }> = {};
  for (const n of ['x', 'cos', 'sin', 'proj']) f[n] = t(n);
  for (const n of NAMES) f[n] = t(`param.${n}`);
  return f;
}

describe.each(['cpu', 'webgpu'] as const)('transformer block vs PyTorch on %s', (ep) => {
  it('matches the loss and every parameter gradient', async () => {
    const { g, params, loss } = forward();
    g.output(loss, 'loss');
    gradients(loss, params).forEach((gv, i) => g.output(gv, `grad.${NAMES[i]}`));
    const out = await runGraph(g, feeds(), ep);
    expect(relErr(out.loss!.values, t('loss').data)).toBeLessThan(TOL[ep]);
    for (const n of NAMES) expect(relErr(out[`grad.${n}`]!.values, t(`grad.${n}`).data), n).toBeLessThan(TOL[ep]);
  });

  it('takes the same clipped AdamW steps as torch.optim.AdamW', async () => {
    const { g, params, loss } = forward();
    const [beta1, beta2] = cfg.adamw.betas;
    const io = buildTrainStep({ loss, params, clipNorm: cfg.clip, adamw: { beta1, beta2, eps: cfg.adamw.eps, weightDecay: cfg.adamw.weight_decay } });
    const session = await TrainStepSession.create(serializeModel(g), io, { ep, strict: true });
    session.init(Object.fromEntries(NAMES.map((n) => [n, new ort.Tensor('float32', t(`param.${n}`).data.slice(), t(`param.${n}`).dims)])));
    const batch = Object.fromEntries(['x', 'cos', 'sin', 'proj'].map((n) => [n, new ort.Tensor('float32', t(n).data.slice(), t(n).dims)]));
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
    for (const n of NAMES) expect(relErr(trained[n]!.data as Float32Array, t(`trained.${n}`).data), n).toBeLessThan(TOL[ep]);
    await session.release();
  });
});
