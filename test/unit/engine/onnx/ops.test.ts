// Forward values of every op helper against hand-computed results, on CPU
// and on WebGPU (SwiftShader, strict: a silent CPU fallback fails the run).
import { describe, expect, it } from 'vitest';
import type { Value } from '../../../../electron/engine/onnx';
import { Graph, op } from '../../../../electron/engine/onnx';
import type { HostTensor } from '../../../helpers/ort';
import { maxAbsDiff, runGraph, useSwiftShader } from '../../../helpers/ort';

useSwiftShader();

interface Case {
  name: string;
  inputs: Record<string, HostTensor>;
  build: (x: Record<string, Value>) => Value;
  dims: number[];
  want: number[];
  /** ops whose WebGPU kernel is missing or int64-based (ArgMax's int64 output is read on CPU only). */
  cpuOnly?: boolean;
}

const A = { dims: [2, 3], data: [1, -2, 3, 0.5, 4, -1] };
const B = { dims: [3, 2], data: [1, 2, 0, -1, 3, 1] };
const ROW = { dims: [3], data: [10, 20, 30] };
const POS = { dims: [2, 3], data: [1, 4, 9, 0.25, 2, 16] };
const erf = (x: number): number => {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-5; use the series, fine for |x| < 3.
  let sum = x;
  let term = x;
  for (let n = 1; n < 60; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const map = (f: (v: number) => number, t = A): number[] => t.data.map(f);

const cases: Case[] = [
  {
    name: 'Add broadcast row',
    inputs: { a: A, r: ROW },
    build: ({ a, r }) => op.add(a!, r!),
    dims: [2, 3],
    want: [11, 18, 33, 10.5, 24, 29],
  },
  { name: 'Sub scalar', inputs: { a: A }, build: ({ a }) => op.sub(a!, 1), dims: [2, 3], want: map((v) => v - 1) },
  {
    name: 'Mul',
    inputs: { a: A, p: POS },
    build: ({ a, p }) => op.mul(a!, p!),
    dims: [2, 3],
    want: [1, -8, 27, 0.125, 8, -16],
  },
  {
    name: 'Div',
    inputs: { a: A, p: POS },
    build: ({ a, p }) => op.div(a!, p!),
    dims: [2, 3],
    want: [1, -0.5, 1 / 3, 2, 2, -1 / 16],
  },
  { name: 'Pow', inputs: { p: POS }, build: ({ p }) => op.pow(p!, 1.5), dims: [2, 3], want: map((v) => v ** 1.5, POS) },
  { name: 'Neg', inputs: { a: A }, build: ({ a }) => op.neg(a!), dims: [2, 3], want: map((v) => -v) },
  {
    name: 'Sqrt',
    inputs: { p: POS },
    build: ({ p }) => op.sqrt(p!),
    dims: [2, 3],
    want: [1, 2, 3, 0.5, Math.SQRT2, 4],
  },
  {
    name: 'Reciprocal',
    inputs: { p: POS },
    build: ({ p }) => op.reciprocal(p!),
    dims: [2, 3],
    want: map((v) => 1 / v, POS),
  },
  { name: 'Exp', inputs: { a: A }, build: ({ a }) => op.exp(a!), dims: [2, 3], want: map(Math.exp) },
  { name: 'Log', inputs: { p: POS }, build: ({ p }) => op.log(p!), dims: [2, 3], want: map(Math.log, POS) },
  { name: 'Tanh', inputs: { a: A }, build: ({ a }) => op.tanh(a!), dims: [2, 3], want: map(Math.tanh) },
  {
    name: 'Sigmoid',
    inputs: { a: A },
    build: ({ a }) => op.sigmoid(a!),
    dims: [2, 3],
    want: map((v) => 1 / (1 + Math.exp(-v))),
  },
  { name: 'Erf', inputs: { a: A }, build: ({ a }) => op.erf(a!), dims: [2, 3], want: map(erf) },
  {
    name: 'Sin/Cos',
    inputs: { a: A },
    build: ({ a }) => op.add(op.sin(a!), op.cos(a!)),
    dims: [2, 3],
    want: map((v) => Math.sin(v) + Math.cos(v)),
  },
  {
    name: 'Max/Min',
    inputs: { a: A },
    build: ({ a }) => op.add(op.max(a!, 0), op.min(a!, -1)),
    dims: [2, 3],
    want: map((v) => Math.max(v, 0) + Math.min(v, -1)),
  },
  {
    name: 'MatMul 2D',
    inputs: { a: A, b: B },
    build: ({ a, b }) => op.matmul(a!, b!),
    dims: [2, 2],
    want: [10, 7, -2.5, -4],
  },
  {
    name: 'MatMul batched x 2D',
    inputs: { a: { dims: [2, 1, 3], data: A.data }, b: B },
    build: ({ a, b }) => op.matmul(a!, b!),
    dims: [2, 1, 2],
    want: [10, 7, -2.5, -4],
  },
  {
    name: 'Gemm transB alpha beta',
    inputs: { a: A, b: { dims: [2, 3], data: [1, 0, 3, 2, -1, 1] }, c: { dims: [2], data: [1, -1] } },
    build: ({ a, b, c }) => op.gemm(a!, b!, c!, { transB: true, alpha: 2, beta: 3 }),
    dims: [2, 2],
    want: [2 * 10 + 3, 2 * 7 - 3, 2 * -2.5 + 3, 2 * -4 - 3],
  },
  { name: 'Softmax', inputs: { a: A }, build: ({ a }) => op.softmax(a!), dims: [2, 3], want: softmaxRows(A.data, 3) },
  {
    name: 'LogSoftmax (x - LSE)',
    inputs: { a: A },
    build: ({ a }) => op.logSoftmax(a!),
    dims: [2, 3],
    want: softmaxRows(A.data, 3).map(Math.log),
  },
  {
    name: 'ReduceSum keepdims',
    inputs: { a: A },
    build: ({ a }) => op.reduceSum(a!, [1]),
    dims: [2, 1],
    want: [2, 3.5],
  },
  {
    name: 'ReduceMean axis 0',
    inputs: { a: A },
    build: ({ a }) => op.reduceMean(a!, [0], false),
    dims: [3],
    want: [0.75, 1, 1],
  },
  { name: 'ReduceMax', inputs: { a: A }, build: ({ a }) => op.reduceMax(a!, [0, 1], false), dims: [], want: [4] },
  {
    name: 'ReduceLogSumExp',
    inputs: { a: A },
    build: ({ a }) => op.reduceLogSumExp(a!, [1], false),
    dims: [2],
    want: [Math.log(Math.exp(1) + Math.exp(-2) + Math.exp(3)), Math.log(Math.exp(0.5) + Math.exp(4) + Math.exp(-1))],
  },
  {
    name: 'LayerNormalization',
    inputs: { a: A, s: { dims: [3], data: [1, 2, 0.5] }, b: ROW },
    build: ({ a, s, b }) => op.layerNorm(a!, s!, b!, { epsilon: 0 }),
    dims: [2, 3],
    want: layerNormRows(A.data, [1, 2, 0.5], ROW.data),
  },
  { name: 'Reshape -1', inputs: { a: A }, build: ({ a }) => op.reshape(a!, [3, -1]), dims: [3, 2], want: A.data },
  {
    name: 'Transpose',
    inputs: { a: A },
    build: ({ a }) => op.transpose(a!),
    dims: [3, 2],
    want: [1, 0.5, -2, 4, 3, -1],
  },
  {
    name: 'Concat',
    inputs: { a: A, p: POS },
    build: ({ a, p }) => op.concat([a!, p!], 1),
    dims: [2, 6],
    want: [1, -2, 3, 1, 4, 9, 0.5, 4, -1, 0.25, 2, 16],
  },
  {
    name: 'Slice step',
    inputs: { a: A },
    build: ({ a }) => op.slice(a!, [0], [3], [1], [2]),
    dims: [2, 2],
    want: [1, 3, 0.5, -1],
  },
  {
    name: 'Slice to end',
    inputs: { a: A },
    build: ({ a }) => op.slice(a!, [1], [Number.MAX_SAFE_INTEGER], [1]),
    dims: [2, 2],
    want: [-2, 3, 4, -1],
  },
  {
    name: 'Split second part',
    inputs: { a: A },
    build: ({ a }) => op.split(a!, [1, 2], 1)[1]!,
    dims: [2, 2],
    want: [-2, 3, 4, -1],
  },
  {
    name: 'Gather int32 rows',
    inputs: { a: A, i: { dims: [3], data: [1, 0, 1], dtype: 'int32' } },
    build: ({ a, i }) => op.gather(a!, i!, 0),
    dims: [3, 3],
    want: [0.5, 4, -1, 1, -2, 3, 0.5, 4, -1],
  },
  {
    name: 'GatherElements',
    inputs: { a: A, i: { dims: [2, 1], data: [2, 0], dtype: 'int32' } },
    build: ({ a, i }) => op.gatherElements(a!, i!, 1),
    dims: [2, 1],
    want: [3, 0.5],
  },
  {
    name: 'ScatterElements add',
    inputs: { a: A, i: { dims: [2, 3], data: [0, 0, 0, 0, 0, 0], dtype: 'int32' }, p: POS },
    build: ({ a, i, p }) => op.scatterElements(a!, i!, p!, 0, 'add'),
    dims: [2, 3],
    want: [2.25, 4, 28, 0.5, 4, -1],
  },
  {
    name: 'ScatterND add',
    inputs: { a: A, i: { dims: [2, 1], data: [1, 1], dtype: 'int64' }, r: { dims: [2, 3], data: [1, 1, 1, 2, 2, 2] } },
    build: ({ a, i, r }) => op.scatterND(a!, i!, r!, 'add'),
    dims: [2, 3],
    want: [1, -2, 3, 3.5, 7, 2],
  },
  {
    name: 'Expand',
    inputs: { r: ROW },
    build: ({ r }) => op.expand(r!, [2, 3]),
    dims: [2, 3],
    want: [10, 20, 30, 10, 20, 30],
  },
  {
    name: 'Unsqueeze/Squeeze',
    inputs: { a: A },
    build: ({ a }) => op.squeeze(op.unsqueeze(a!, [0, 2]), [0]),
    dims: [2, 1, 3],
    want: A.data,
  },
  {
    name: 'Where + Greater',
    inputs: { a: A },
    build: ({ a }) => op.where(op.greater(a!, 0.75), a!, 0),
    dims: [2, 3],
    want: [1, 0, 3, 0, 4, 0],
  },
  {
    name: 'Cast float->int32->float',
    inputs: { a: A },
    build: ({ a }) => op.cast(op.cast(a!, 'int32'), 'float32'),
    dims: [2, 3],
    want: [1, -2, 3, 0, 4, -1],
  },
  {
    name: 'Range int32 + Equal (one-hot)',
    inputs: { i: { dims: [2, 1], data: [2, 0], dtype: 'int32' } },
    build: ({ i }) => op.cast(op.equal(op.range(i!.graph, 0, 3), i!), 'float32'),
    dims: [2, 3],
    want: [0, 0, 1, 1, 0, 0],
  },
  { name: 'Shape', inputs: { a: A }, build: ({ a }) => op.shapeOf(a!), dims: [2], want: [2, 3], cpuOnly: true },
  {
    name: 'ArgMax',
    inputs: { a: A },
    build: ({ a }) => op.argMax(a!, 1, false),
    dims: [2],
    want: [2, 1],
    cpuOnly: true,
  },
  {
    name: 'Pad',
    inputs: { a: A },
    build: ({ a }) => op.pad(a!, [0, 1, 1, 0]),
    dims: [3, 4],
    want: [0, 1, -2, 3, 0, 0.5, 4, -1, 0, 0, 0, 0],
  },
  { name: 'Tile', inputs: { r: ROW }, build: ({ r }) => op.tile(r!, [2]), dims: [6], want: [10, 20, 30, 10, 20, 30] },
  {
    name: 'Trilu lower',
    inputs: { s: { dims: [3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9] } },
    build: ({ s }) => op.trilu(s!, false),
    dims: [3, 3],
    want: [1, 0, 0, 4, 5, 0, 7, 8, 9],
  },
  {
    name: 'CumSum',
    inputs: { a: A },
    build: ({ a }) => op.cumSum(a!, 1),
    dims: [2, 3],
    want: [1, -1, 2, 0.5, 4.5, 3.5],
  },
  {
    name: 'Clip + Abs + Relu',
    inputs: { a: A },
    build: ({ a }) => op.add(op.clip(a!, -1, 2), op.add(op.abs(a!), op.relu(a!))),
    dims: [2, 3],
    want: map((v) => Math.min(Math.max(v, -1), 2) + Math.abs(v) + Math.max(v, 0)),
  },
];

function softmaxRows(x: number[], n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length; r += n) {
    const row = x.slice(r, r + n);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((p, q) => p + q, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

function layerNormRows(x: number[], scale: number[], bias: number[]): number[] {
  const n = scale.length;
  const out: number[] = [];
  for (let r = 0; r < x.length; r += n) {
    const row = x.slice(r, r + n);
    const mean = row.reduce((p, q) => p + q, 0) / n;
    const variance = row.reduce((p, q) => p + (q - mean) ** 2, 0) / n;
    out.push(...row.map((v, i) => ((v - mean) / Math.sqrt(variance)) * scale[i]! + bias[i]!));
  }
  return out;
}

function buildCase(c: Case): Graph {
  const g = new Graph(c.name);
  const vals: Record<string, Value> = {};
  for (const [k, t] of Object.entries(c.inputs)) vals[k] = g.input(k, t.dtype ?? 'float32', t.dims);
  const y = c.build(vals);
  expect(y.shape).toEqual(c.dims);
  g.output(y, 'y');
  return g;
}

// WebGPU shaders use faster transcendental approximations (Sin/Cos differ by about 1.7e-4).
const TOL = { cpu: 2e-5, webgpu: 3e-4 };

describe.each(['cpu', 'webgpu'] as const)('op helpers forward on %s', (ep) => {
  it.each(cases.filter((c) => ep === 'cpu' || !c.cpuOnly).map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const out = await runGraph(buildCase(c), c.inputs, ep);
    expect(out.y!.dims).toEqual(c.dims);
    expect(maxAbsDiff(out.y!.values, c.want)).toBeLessThan(TOL[ep] * Math.max(1, ...c.want.map(Math.abs)));
  });
});
