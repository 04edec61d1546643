// Matrix products, reductions, Softmax and LayerNormalization helpers. Axes
// travel as int64 constant inputs (opset 18+ form) so every op here runs on
// the WebGPU EP.
import { AppError } from '../../../../shared/errors';
import type { Value } from '../graph';
import type { Dim } from '../shape';
import { broadcastShapes, normAxis, shapeToString } from '../shape';
import { ints64, node1 } from './operand';

/** numpy matmul: batch dims broadcast, 1-D operands are promoted and the added dim dropped. */
export function matmul(a: Value, b: Value): Value {
  const as = a.rank === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.rank === 1 ? [b.shape[0]!, 1] : b.shape;
  const k1 = as[as.length - 1]!;
  const k2 = bs[bs.length - 2]!;
  if (k1 !== k2) throw new AppError('internal', `MatMul ${a} x ${b}: inner dims ${k1} and ${k2} differ`);
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  const shape: Dim[] = [...batch];
  if (a.rank !== 1) shape.push(as[as.length - 2]!);
  if (b.rank !== 1) shape.push(bs[bs.length - 1]!);
  return node1(a.graph, 'MatMul', [a, b], {}, a.dtype, shape);
}

/** alpha * op(A) @ op(B) + beta * C, A and B 2-D. */
export function gemm(
  a: Value,
  b: Value,
  c?: Value,
  opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
): Value {
  if (a.rank !== 2 || b.rank !== 2) throw new AppError('internal', `Gemm needs 2-D operands, got ${a} and ${b}`);
  const [m, ka] = opts.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [kb, n] = opts.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (ka !== kb) throw new AppError('internal', `Gemm ${a} x ${b}: inner dims ${ka} and ${kb} differ`);
  return node1(
    a.graph,
    'Gemm',
    c ? [a, b, c] : [a, b],
    {
      transA: { i: opts.transA ? 1 : 0 },
      transB: { i: opts.transB ? 1 : 0 },
      alpha: { f: opts.alpha ?? 1 },
      beta: { f: opts.beta ?? 1 },
    },
    a.dtype,
    [m, n],
  );
}

export type ReduceOp = 'ReduceSum' | 'ReduceMean' | 'ReduceMax' | 'ReduceMin' | 'ReduceLogSumExp' | 'ReduceSumSquare';

export function reducedShape(shape: readonly Dim[], axes: readonly number[], keepdims: boolean): Dim[] {
  const norm = axes.map((a) => normAxis(a, shape.length));
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!norm.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

/** A reduction over `axes` (all axes when empty is not allowed here: pass them explicitly). */
export function reduce(opType: ReduceOp, x: Value, axes: readonly number[], keepdims = true): Value {
  if (axes.length === 0) throw new AppError('internal', `${opType} on ${x}: give the axes explicitly`);
  const norm = axes.map((a) => normAxis(a, x.rank));
  return node1(
    x.graph,
    opType,
    [x, ints64(x.graph, norm)],
    { keepdims: { i: keepdims ? 1 : 0 } },
    x.dtype,
    reducedShape(x.shape, norm, keepdims),
  );
}

export const reduceSum = (x: Value, axes: readonly number[], keepdims = true): Value =>
  reduce('ReduceSum', x, axes, keepdims);
export const reduceMean = (x: Value, axes: readonly number[], keepdims = true): Value =>
  reduce('ReduceMean', x, axes, keepdims);
export const reduceMax = (x: Value, axes: readonly number[], keepdims = true): Value =>
  reduce('ReduceMax', x, axes, keepdims);
export const reduceLogSumExp = (x: Value, axes: readonly number[], keepdims = true): Value =>
  reduce('ReduceLogSumExp', x, axes, keepdims);

/** All axes of `x`, for full reductions. */
export const allAxes = (x: Value): number[] => x.shape.map((_, i) => i);

export function softmax(x: Value, axis = -1): Value {
  return node1(x.graph, 'Softmax', [x], { axis: { i: normAxis(axis, x.rank) } }, x.dtype, x.shape);
}

/** LogSoftmax written as x - ReduceLogSumExp(x): the LogSoftmax kernel falls back to CPU on WebGPU. */
export function logSoftmax(x: Value, axis = -1): Value {
  const lse = reduceLogSumExp(x, [axis], true);
  return node1(x.graph, 'Sub', [x, lse], {}, x.dtype, x.shape);
}

/** LayerNormalization over the trailing axes from `axis`; scale and bias have the normalised shape. */
export function layerNorm(
  x: Value,
  scale: Value,
  bias: Value | undefined,
  opts: { axis?: number; epsilon?: number } = {},
): Value {
  const axis = normAxis(opts.axis ?? -1, x.rank);
  const want = x.shape.slice(axis);
  if (shapeToString(scale.shape) !== shapeToString(want))
    throw new AppError('internal', `LayerNormalization scale ${scale} should have shape ${shapeToString(want)}`);
  return node1(
    x.graph,
    'LayerNormalization',
    bias ? [x, scale, bias] : [x, scale],
    { axis: { i: axis }, epsilon: { f: opts.epsilon ?? 1e-5 } },
    x.dtype,
    x.shape,
  );
}

/** Index of the maximum along `axis` (int64, as ONNX defines it). */
export function argMax(x: Value, axis: number, keepdims = true): Value {
  const a = normAxis(axis, x.rank);
  return node1(
    x.graph,
    'ArgMax',
    [x],
    { axis: { i: a }, keepdims: { i: keepdims ? 1 : 0 } },
    'int64',
    reducedShape(x.shape, [a], keepdims),
  );
}

/**
 * Blocked DequantizeLinear (opset 21): `q` [rows, cols] int8/int4 codes times `scale` [rows, cols / blockSize]
 * along the last axis, no zero point (symmetric codes). Read per run, never folded into a float copy by onnxruntime.
 */
export function dequantizeBlocked(q: Value, scale: Value, blockSize: number): Value {
  if (q.rank !== 2 || scale.rank !== 2 || q.shape[0] !== scale.shape[0])
    throw new AppError(
      'internal',
      `DequantizeLinear ${q} with scales ${scale}: expected [rows, cols] and [rows, blocks]`,
    );
  return node1(
    q.graph,
    'DequantizeLinear',
    [q, scale],
    { axis: { i: 1 }, block_size: { i: blockSize } },
    scale.dtype,
    q.shape,
  );
}
