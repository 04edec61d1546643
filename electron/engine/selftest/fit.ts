// The self-test's training run: a tiny transformer block learns to copy the
// previous position's vector (a task only attention can solve) with the
// one-graph train step. Deterministic, so CPU and WebGPU curves can be compared.
import ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph';
import * as op from '../onnx/ops';
import { serializeModel } from '../onnx/serialize';
import type { ExplicitEp } from '../runtime/local';
import { TrainStepSession, buildTrainStep } from '../train/train-step';
import type { BlockDims } from './block';
import { block, blockParamShapes, rotaryTables } from './block';
import { prng } from './gradcheck';

export const FIT_DIMS: BlockDims = { hidden: 16, heads: 2, inter: 32 };
const [B, T] = [4, 6];

export interface FitOptions {
  ep: ExplicitEp;
  steps?: number;
  lr?: number;
}

/** Trains the tiny block and returns the loss before each step. */
export async function fitCopyTask(opts: FitOptions): Promise<number[]> {
  const { steps = 40, lr = 2e-2 } = opts;
  const d = FIT_DIMS;
  const hd = d.hidden / d.heads;
  const g = new Graph('fit');
  const x = g.input('x', 'float32', [B, T, d.hidden]);
  const target = g.input('target', 'float32', [B, T, d.hidden]);
  const cos = g.input('cos', 'float32', [T, hd]);
  const sin = g.input('sin', 'float32', [T, hd]);
  const shapes = blockParamShapes(d);
  const params = Object.entries(shapes).map(([n, s]) => g.input(n, 'float32', s));
  const y = block((n) => params.find((p) => p.name === n)!, x, cos, sin, d);
  const diff = op.sub(y, target);
  const loss = op.reduceMean(op.mul(diff, diff), [0, 1, 2], false);
  const io = buildTrainStep({ loss, params, clipNorm: 1, adamw: { weightDecay: 0 } });

  const rand = prng(42);
  const normal = (n: number): Float32Array => Float32Array.from({ length: n }, () => (rand() + rand() + rand() - 1.5) * 2);
  const init: Record<string, ort.Tensor> = {};
  for (const [n, s] of Object.entries(shapes)) {
    const data = n.endsWith('layernorm.weight') ? new Float32Array(s[0]!).fill(1) : normal(s[0]! * s[1]!).map((v) => v / Math.sqrt(s[1]!));
    init[n] = new ort.Tensor('float32', data, s);
  }
  const xs = normal(B * T * d.hidden);
  const tg = new Float32Array(xs.length);
  // target[b, t] = x[b, t - 1]; position 0 has nothing before it and targets zeros.
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) tg.set(xs.subarray((b * T + t - 1) * d.hidden, (b * T + t) * d.hidden), (b * T + t) * d.hidden);
  const tables = rotaryTables(T, hd);
  const batch = {
    x: new ort.Tensor('float32', xs, [B, T, d.hidden]),
    target: new ort.Tensor('float32', tg, [B, T, d.hidden]),
    cos: new ort.Tensor('float32', tables.cos, [T, hd]),
    sin: new ort.Tensor('float32', tables.sin, [T, hd]),
  };
  const session = await TrainStepSession.create(serializeModel(g), io, { ep: opts.ep, strict: true });
  try {
    session.init(init);
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) losses.push((await session.step(batch, lr)).loss);
    return losses;
  } finally {
    await session.release();
  }
}
