// Element-wise op helpers (numpy broadcasting): arithmetic, unary math,
// comparisons, Where and Cast. Numbers given as operands become scalar
// constants of the other operand's dtype.
import type { DType } from '../dtype';
import { ONNX_DTYPE as ONNX_CODE } from '../dtype';
import type { Value } from '../graph';
import { broadcastShapes } from '../shape';
import type { Operand } from './operand';
import { graphOf, liftAll, node1 } from './operand';

function binary(opType: string, a: Operand, b: Operand, outDtype?: DType): Value {
  const [x, y] = liftAll(a, b) as [Value, Value];
  return node1(x.graph, opType, [x, y], {}, outDtype ?? x.dtype, broadcastShapes(x.shape, y.shape));
}

function unary(opType: string, x: Value): Value {
  return node1(x.graph, opType, [x], {}, x.dtype, x.shape);
}

export const add = (a: Operand, b: Operand): Value => binary('Add', a, b);
export const sub = (a: Operand, b: Operand): Value => binary('Sub', a, b);
export const mul = (a: Operand, b: Operand): Value => binary('Mul', a, b);
export const div = (a: Operand, b: Operand): Value => binary('Div', a, b);
export const pow = (a: Operand, b: Operand): Value => binary('Pow', a, b);
export const max = (a: Operand, b: Operand): Value => binary('Max', a, b);
export const min = (a: Operand, b: Operand): Value => binary('Min', a, b);

export const equal = (a: Operand, b: Operand): Value => binary('Equal', a, b, 'bool');
export const less = (a: Operand, b: Operand): Value => binary('Less', a, b, 'bool');
export const lessOrEqual = (a: Operand, b: Operand): Value => binary('LessOrEqual', a, b, 'bool');
export const greater = (a: Operand, b: Operand): Value => binary('Greater', a, b, 'bool');
export const greaterOrEqual = (a: Operand, b: Operand): Value => binary('GreaterOrEqual', a, b, 'bool');
export const and = (a: Value, b: Value): Value => binary('And', a, b, 'bool');

export const neg = (x: Value): Value => unary('Neg', x);
export const sqrt = (x: Value): Value => unary('Sqrt', x);
export const reciprocal = (x: Value): Value => unary('Reciprocal', x);
export const exp = (x: Value): Value => unary('Exp', x);
export const log = (x: Value): Value => unary('Log', x);
export const tanh = (x: Value): Value => unary('Tanh', x);
export const sigmoid = (x: Value): Value => unary('Sigmoid', x);
export const erf = (x: Value): Value => unary('Erf', x);
export const abs = (x: Value): Value => unary('Abs', x);
export const relu = (x: Value): Value => unary('Relu', x);
export const sin = (x: Value): Value => unary('Sin', x);
export const cos = (x: Value): Value => unary('Cos', x);
export const not = (x: Value): Value => unary('Not', x);
export const identity = (x: Value): Value => unary('Identity', x);

/** Sum of several values as a chain of Add (variadic Sum falls back to CPU on WebGPU). */
export function addN(xs: readonly Value[]): Value {
  return xs.slice(1).reduce((acc, x) => add(acc, x), xs[0]!);
}

/** `cond ? a : b` element-wise with three-way broadcasting. */
export function where(cond: Value, a: Operand, b: Operand): Value {
  const g = graphOf(cond);
  const [x, y] = liftAll(a, b) as [Value, Value];
  const shape = broadcastShapes(cond.shape, broadcastShapes(x.shape, y.shape));
  return node1(g, 'Where', [cond, x, y], {}, x.dtype, shape);
}

export function cast(x: Value, to: DType): Value {
  if (x.dtype === to) return x;
  return node1(x.graph, 'Cast', [x], { to: { i: ONNX_CODE[to] } }, to, x.shape);
}

export function clip(x: Value, lo: number, hi: number): Value {
  const g = x.graph;
  return node1(g, 'Clip', [x, g.constant(lo, x.dtype, []), g.constant(hi, x.dtype, [])], {}, x.dtype, x.shape);
}
