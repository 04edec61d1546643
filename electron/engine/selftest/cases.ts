// The gradient checks: every differentiable rule on plain, broadcast and
// scalar shapes (where the op has them), plus the model's nn pieces and the
// loss composites built from primitives. Input ranges keep each op in its
// valid, smooth domain.
import * as L from '../autodiff/composites';
import * as N from '../models/nn';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { CaseInput, GradCase } from './gradcheck';

const f = (dims: readonly number[], range: readonly [number, number] = [-1, 1], diff = true): CaseInput => ({
  dims,
  range,
  diff,
});
const i32 = (dims: readonly number[], hi: number): CaseInput => ({ dims, range: [0, hi], dtype: 'int32' });
const POS: readonly [number, number] = [0.5, 2];

type Bin = (a: Value, b: Value) => Value;
const binaryCases = (
  name: string,
  fn: Bin,
  rb: readonly [number, number] = [-1, 1],
  ra: readonly [number, number] = [-1, 1],
): GradCase[] => [
  { name: `${name} plain`, inputs: [f([2, 3], ra), f([2, 3], rb)], build: ([a, b]) => fn(a!, b!) },
  { name: `${name} broadcast`, inputs: [f([2, 3], ra), f([3], rb)], build: ([a, b]) => fn(a!, b!) },
  { name: `${name} broadcast both`, inputs: [f([2, 1], ra), f([1, 3], rb)], build: ([a, b]) => fn(a!, b!) },
  { name: `${name} scalar`, inputs: [f([], ra), f([2, 3], rb)], build: ([a, b]) => fn(a!, b!) },
];

type Un = (x: Value) => Value;
const unaryCases = (name: string, fn: Un, range: readonly [number, number] = [-1, 1]): GradCase[] => [
  { name: `${name} plain`, inputs: [f([2, 3], range)], build: ([x]) => fn(x!) },
  { name: `${name} scalar`, inputs: [f([], range)], build: ([x]) => fn(x!) },
];

/** A Cast node float32 -> float32: exercises the Cast rule on every EP (SwiftShader has no float16). */
const rawCast = (x: Value): Value =>
  x.graph.addNode('Cast', [x], { to: { i: 1 } }, [{ dtype: 'float32', shape: x.shape }])[0]!;

export const GRAD_CASES: readonly GradCase[] = [
  ...binaryCases('Add', op.add),
  ...binaryCases('Sub', op.sub),
  ...binaryCases('Mul', op.mul),
  ...binaryCases('Div', op.div, POS),
  ...binaryCases('Pow', op.pow, [0.5, 1.5], POS),
  ...binaryCases('Max', op.max),
  ...binaryCases('Min', op.min),
  { name: 'Max tie', inputs: [f([2, 2])], build: ([a]) => op.max(a!, a!) },
  ...unaryCases('Identity', op.identity),
  ...unaryCases('Neg', op.neg),
  ...unaryCases('Sqrt', op.sqrt, POS),
  ...unaryCases('Reciprocal', op.reciprocal, POS),
  ...unaryCases('Exp', op.exp),
  ...unaryCases('Log', op.log, POS),
  ...unaryCases('Tanh', op.tanh),
  ...unaryCases('Sigmoid', op.sigmoid),
  ...unaryCases('Erf', op.erf),
  ...unaryCases('Relu', op.relu, [0.1, 1]),
  ...unaryCases('Abs', (x) => op.abs(op.sub(x, 0.5)), [0.6, 1.5]),
  ...unaryCases('Sin', op.sin),
  ...unaryCases('Cos', op.cos),
  ...unaryCases('Cast', rawCast),
  ...unaryCases('Clip', (x) => op.clip(x, -0.5, 0.5)),
  { name: 'MatMul 2D', inputs: [f([2, 3]), f([3, 4])], build: ([a, b]) => op.matmul(a!, b!) },
  { name: 'MatMul batched x shared weight', inputs: [f([2, 2, 3]), f([3, 4])], build: ([a, b]) => op.matmul(a!, b!) },
  { name: 'MatMul batched', inputs: [f([2, 2, 3]), f([2, 3, 4])], build: ([a, b]) => op.matmul(a!, b!) },
  { name: 'MatMul broadcast batch', inputs: [f([1, 2, 3]), f([2, 3, 2])], build: ([a, b]) => op.matmul(a!, b!) },
  {
    name: 'Gemm C broadcast',
    inputs: [f([2, 3]), f([3, 4]), f([4])],
    build: ([a, b, c]) => op.gemm(a!, b!, c!, { alpha: 0.7, beta: 1.3 }),
  },
  {
    name: 'Gemm transA transB',
    inputs: [f([3, 2]), f([4, 3]), f([2, 4])],
    build: ([a, b, c]) => op.gemm(a!, b!, c!, { transA: true, transB: true }),
  },
  {
    name: 'Gemm transB scalar C',
    inputs: [f([2, 3]), f([4, 3]), f([])],
    build: ([a, b, c]) => op.gemm(a!, b!, c!, { transB: true, alpha: 2 }),
  },
  {
    name: 'Gemm transA',
    inputs: [f([3, 2]), f([3, 4])],
    build: ([a, b]) => op.gemm(a!, b!, undefined, { transA: true }),
  },
  { name: 'Softmax last axis', inputs: [f([2, 4], [-2, 2])], build: ([x]) => op.softmax(x!) },
  { name: 'Softmax axis 0', inputs: [f([3, 2], [-2, 2])], build: ([x]) => op.softmax(x!, 0) },
  { name: 'ReduceSum keepdims', inputs: [f([2, 3])], build: ([x]) => op.reduceSum(x!, [1]) },
  { name: 'ReduceSum all', inputs: [f([2, 3])], build: ([x]) => op.reduceSum(x!, [0, 1], false) },
  { name: 'ReduceMean', inputs: [f([2, 3, 2])], build: ([x]) => op.reduceMean(x!, [0, 2], false) },
  { name: 'ReduceMax', inputs: [f([2, 4])], build: ([x]) => op.reduceMax(x!, [1], false) },
  { name: 'ReduceLogSumExp', inputs: [f([2, 4], [-2, 2])], build: ([x]) => op.reduceLogSumExp(x!, [1]) },
  { name: 'Reshape', inputs: [f([2, 3])], build: ([x]) => op.mul(op.reshape(x!, [3, -1]), op.reshape(x!, [3, 2])) },
  { name: 'Transpose', inputs: [f([2, 3, 4])], build: ([x]) => op.transpose(x!, [1, 2, 0]) },
  { name: 'Concat', inputs: [f([2, 3]), f([2, 1])], build: ([a, b]) => op.concat([a!, b!], 1) },
  { name: 'Slice', inputs: [f([3, 4])], build: ([x]) => op.slice(x!, [1, -3], [3, 3], [0, 1]) },
  {
    name: 'Split (both parts)',
    inputs: [f([2, 5])],
    build: ([x]) => op.mul(...(op.split(x!, [2, 3], 1).map((p) => op.reduceSum(p, [1])) as [Value, Value])),
  },
  { name: 'Split (one part used)', inputs: [f([4, 2])], build: ([x]) => op.split(x!, [1, 3], 0)[1]! },
  { name: 'Gather embedding', inputs: [f([5, 3]), i32([2, 3], 5)], build: ([e, ids]) => op.gather(e!, ids!, 0) },
  { name: 'Gather axis 1', inputs: [f([2, 4]), i32([3], 4)], build: ([x, ids]) => op.gather(x!, ids!, 1) },
  { name: 'GatherElements', inputs: [f([3, 4]), i32([3, 2], 4)], build: ([x, ids]) => op.gatherElements(x!, ids!, 1) },
  { name: 'Expand', inputs: [f([3])], build: ([x]) => op.expand(x!, [2, 3]) },
  { name: 'Expand middle', inputs: [f([2, 1, 3])], build: ([x]) => op.expand(x!, [2, 2, 3]) },
  { name: 'Where', inputs: [f([2, 3]), f([2, 3]), f([3])], build: ([c, a, b]) => op.where(op.greater(c!, 0), a!, b!) },
  {
    name: 'LayerNormalization',
    inputs: [f([2, 4], [-2, 2]), f([4]), f([4])],
    build: ([x, s, b]) => op.layerNorm(x!, s!, b!),
  },
  {
    name: 'LayerNormalization two axes',
    inputs: [f([2, 2, 3], [-2, 2]), f([2, 3])],
    build: ([x, s]) => op.layerNorm(x!, s!, undefined, { axis: 1 }),
  },
  {
    name: 'Unsqueeze/Squeeze',
    inputs: [f([2, 3])],
    build: ([x]) => op.mul(op.unsqueeze(x!, [1]), op.squeeze(op.unsqueeze(x!, [0]), [0])),
  },
  { name: 'Trilu', inputs: [f([3, 3])], build: ([x]) => op.trilu(x!, false) },
  { name: 'composite gelu', inputs: [f([2, 3], [-2, 2])], build: ([x]) => N.gelu(x!) },
  { name: 'composite gelu tanh', inputs: [f([2, 3], [-2, 2])], build: ([x]) => N.geluTanh(x!) },
  { name: 'composite silu', inputs: [f([2, 3], [-2, 2])], build: ([x]) => N.silu(x!) },
  { name: 'composite quick_gelu', inputs: [f([2, 3], [-2, 2])], build: ([x]) => N.quickGelu(x!) },
  { name: 'composite rmsnorm', inputs: [f([2, 4]), f([4])], build: ([x, w]) => N.rmsNorm(x!, w!, 1e-6) },
  { name: 'composite logsigmoid', inputs: [f([2, 3], [-30, 30])], build: ([x]) => L.logSigmoid(x!) },
  { name: 'composite logsoftmax', inputs: [f([2, 4], [-2, 2])], build: ([x]) => L.logSoftmax(x!) },
  {
    name: 'composite rotary',
    inputs: [f([1, 2, 3, 4]), f([3, 4], [-1, 1], false), f([3, 4], [-1, 1], false)],
    build: ([x, c, s]) => N.rotary(x!, c!, s!),
  },
];
