// The gradient table: one rule per ONNX op, complete by type (a DiffOp
// without an entry fails to compile). A rule returns the gradient of each
// input it is asked for, possibly still in the broadcast (output) shape: the
// engine (backward.ts) sums, unbroadcasts and casts. Rules emit only ops the
// WebGPU EP runs, with index math in int32.
import { AppError } from '../../../shared/errors';
import type { Attr, Graph, Node, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { normAxis } from '../onnx/shape';
import { constValues, expandLike, reshapeLike, zerosLike } from './like';

export interface GradContext {
  readonly node: Node;
  readonly graph: Graph;
  input(i: number): Value;
  hasInput(i: number): boolean;
  output(i: number): Value;
  /** Gradient flowing into output i (zeros when nothing downstream uses it). */
  gradOut(i: number): Value;
  hasGradOut(i: number): boolean;
  needsGrad(i: number): boolean;
  /** A fresh name under `<node>/grad/`. */
  tmp(name: string): string;
  attr(name: string): Attr | undefined;
  int(name: string, fallback?: number): number;
}

/** Gradients for the node's inputs, by position; undefined where not needed. */
export type GradRule = (ctx: GradContext) => readonly (Value | undefined)[];

export const DIFF_OPS = [
  'Identity',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Neg',
  'Pow',
  'Sqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Tanh',
  'Sigmoid',
  'Erf',
  'Relu',
  'Abs',
  'Sin',
  'Cos',
  'Max',
  'Min',
  'Clip',
  'MatMul',
  'Gemm',
  'Softmax',
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceLogSumExp',
  'Reshape',
  'Transpose',
  'Concat',
  'Slice',
  'Split',
  'Gather',
  'GatherElements',
  'Expand',
  'Where',
  'Cast',
  'LayerNormalization',
  'Unsqueeze',
  'Squeeze',
  'Trilu',
  'Shape',
  'Range',
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'Not',
  'And',
  'ArgMax',
] as const;
export type DiffOp = (typeof DIFF_OPS)[number];

export function isDiffOp(s: string): s is DiffOp {
  return (DIFF_OPS as readonly string[]).includes(s);
}

const gy = (c: GradContext): Value => c.gradOut(0);
const x0 = (c: GradContext): Value => c.input(0);
const y0 = (c: GradContext): Value => c.output(0);
const when = (c: GradContext, i: number, f: () => Value): Value | undefined => (c.needsGrad(i) ? f() : undefined);

/** Swaps the last two axes. */
function mT(x: Value): Value {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
  return op.transpose(x, perm);
}

/** Reduction axes of a Reduce* node (opset 18: an int64 constant input). */
function reduceAxes(c: GradContext): number[] {
  return c.hasInput(1) ? constValues(c.input(1)).map((a) => normAxis(a, x0(c).rank)) : x0(c).shape.map((_, i) => i);
}

/** A reduced value (output or its gradient) with the reduced axes restored as 1s, ready to broadcast over x. */
function keepDims(c: GradContext, v: Value): Value {
  return c.int('keepdims', 1) === 1 ? v : op.unsqueeze(v, reduceAxes(c));
}

/** Element count over the reduced axes, static when possible, else a runtime float. */
function reducedCount(c: GradContext): Value | number {
  const axes = reduceAxes(c);
  const dims = axes.map((a) => x0(c).shape[a]!);
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((p, d) => p * d, 1);
  return op.reduceSum(expandLike(c.graph.constant(1, x0(c).dtype, []), x0(c)), axes, true);
}

/** MatMul operand gradients for rank >= 2, batch broadcast left to the engine. */
function matmulGrads(c: GradContext): (Value | undefined)[] {
  const [a, b] = [c.input(0), c.input(1)];
  if (a.rank < 2 || b.rank < 2)
    throw new AppError('unsupported', `MatMul gradient needs rank >= 2 operands (${c.node.name})`);
  const g = gy(c);
  const da = when(c, 0, () => op.matmul(g, mT(b)));
  const db = when(c, 1, () => {
    // A shared 2-D weight under batched activations: fold the batch into rows, one GEMM instead of a batched one plus a sum.
    if (b.rank === 2 && a.rank > 2) {
      const k = a.shape[a.rank - 1] as number;
      const n = b.shape[1] as number;
      return op.gemm(op.reshape(a, [-1, k]), op.reshape(g, [-1, n]), undefined, { transA: true });
    }
    return op.matmul(mT(a), g);
  });
  return [da, db];
}

function gemmGrads(c: GradContext): (Value | undefined)[] {
  const [a, b] = [c.input(0), c.input(1)];
  const g = gy(c);
  const transA = c.int('transA', 0) === 1;
  const transB = c.int('transB', 0) === 1;
  const alpha = (c.attr('alpha') as { f: number } | undefined)?.f ?? 1;
  const beta = (c.attr('beta') as { f: number } | undefined)?.f ?? 1;
  const da = when(c, 0, () =>
    transA
      ? op.gemm(b, g, undefined, { transA: transB, transB: true, alpha })
      : op.gemm(g, b, undefined, { transB: !transB, alpha }),
  );
  const db = when(c, 1, () =>
    transB
      ? op.gemm(g, a, undefined, { transA: true, transB: transA, alpha })
      : op.gemm(a, g, undefined, { transA: !transA, alpha }),
  );
  const dc = c.hasInput(2) ? when(c, 2, () => (beta === 1 ? g : op.mul(g, beta))) : undefined;
  return [da, db, dc];
}

function layerNormGrads(c: GradContext): (Value | undefined)[] {
  const x = x0(c);
  const scale = c.input(1);
  const axis = normAxis(c.int('axis', -1), x.rank);
  const eps = (c.attr('epsilon') as { f: number } | undefined)?.f ?? 1e-5;
  const axes = x.shape.map((_, i) => i).filter((i) => i >= axis);
  const g = gy(c);
  const mean = op.reduceMean(x, axes);
  const centered = op.sub(x, mean);
  const rstd = op.reciprocal(op.sqrt(op.add(op.reduceMean(op.mul(centered, centered), axes), eps)));
  const xhat = op.mul(centered, rstd);
  const dx = when(c, 0, () => {
    const gs = op.mul(g, scale);
    const inner = op.sub(op.sub(gs, op.reduceMean(gs, axes)), op.mul(xhat, op.reduceMean(op.mul(gs, xhat), axes)));
    return op.mul(inner, rstd);
  });
  return [dx, when(c, 1, () => op.mul(g, xhat)), c.hasInput(2) ? when(c, 2, () => g) : undefined];
}

function sliceGrad(c: GradContext): Value {
  const x = x0(c);
  const starts = constValues(c.input(1));
  const axes = c.hasInput(3) ? constValues(c.input(3)).map((a) => normAxis(a, x.rank)) : starts.map((_, i) => i);
  const steps = c.hasInput(4) ? constValues(c.input(4)) : starts.map(() => 1);
  const y = y0(c);
  const pads = new Array<number>(2 * x.rank).fill(0);
  axes.forEach((a, i) => {
    const d = x.shape[a];
    const n = y.shape[a];
    if (steps[i] !== 1 || typeof d !== 'number' || typeof n !== 'number') {
      throw new AppError('unsupported', `Slice gradient needs step 1 and static sliced dims (${c.node.name})`);
    }
    const s = Math.min(Math.max(starts[i]! < 0 ? starts[i]! + d : starts[i]!, 0), d);
    pads[a] = s;
    pads[x.rank + a] = d - s - n;
  });
  return op.pad(gy(c), pads);
}

/** Gather's data gradient: scatter-add of the output gradient into zeros (the embedding gradient when axis is 0). */
function gatherGrad(c: GradContext): Value {
  const [data, idx] = [c.input(0), c.input(1)];
  const axis = normAxis(c.int('axis', 0), data.rank);
  let g = gy(c);
  let flatIdx = idx;
  if (idx.rank !== 1) {
    const tail = data.shape.slice(axis + 1);
    if (axis !== 0 || !tail.every((d) => typeof d === 'number')) {
      throw new AppError(
        'unsupported',
        `Gather gradient with multi-dim indices needs axis 0 and static trailing dims (${c.node.name})`,
      );
    }
    flatIdx = op.reshape(idx, [-1]);
    g = op.reshape(g, [-1, ...(tail as number[])]);
  }
  // Indices [N] placed on `axis` and broadcast to the gradient's shape, as ScatterElements wants.
  const idxShape = g.shape.map((_, i) => (i === axis ? -1 : 1));
  const full = expandLike(op.reshape(flatIdx, idxShape), g);
  return op.scatterElements(zerosLike(data), full, g, axis, 'add');
}

/** Max/Min of two operands: the winner takes the gradient, ties split it evenly (as torch.maximum does). */
function selectGrads(c: GradContext, wins: (a: Value, b: Value) => Value): (Value | undefined)[] {
  const [a, b] = [c.input(0), c.input(1)];
  const share = op.add(op.cast(wins(a, b), a.dtype), op.mul(op.cast(op.equal(a, b), a.dtype), 0.5));
  const ga = op.mul(gy(c), share);
  return [when(c, 0, () => ga), when(c, 1, () => op.sub(gy(c), ga))];
}

/** Clip passes the gradient where x lies inside [min, max] (bounds are optional constant inputs). */
function clipGrad(c: GradContext): Value {
  const x = x0(c);
  let inside: Value | undefined;
  if (c.hasInput(1)) inside = op.greaterOrEqual(x, c.input(1));
  if (c.hasInput(2)) inside = inside ? op.and(inside, op.lessOrEqual(x, c.input(2))) : op.lessOrEqual(x, c.input(2));
  return inside ? op.where(inside, gy(c), 0) : gy(c);
}

export const GRADIENTS = {
  Identity: (c) => [gy(c)],
  Add: (c) => [gy(c), gy(c)],
  Sub: (c) => [gy(c), when(c, 1, () => op.neg(gy(c)))],
  Mul: (c) => [when(c, 0, () => op.mul(gy(c), c.input(1))), when(c, 1, () => op.mul(gy(c), c.input(0)))],
  Div: (c) => [
    when(c, 0, () => op.div(gy(c), c.input(1))),
    when(c, 1, () => op.neg(op.div(op.mul(gy(c), y0(c)), c.input(1)))),
  ],
  Neg: (c) => [op.neg(gy(c))],
  Pow: (c) => [
    when(c, 0, () => op.mul(gy(c), op.mul(c.input(1), op.pow(x0(c), op.sub(c.input(1), 1))))),
    when(c, 1, () => op.mul(gy(c), op.mul(y0(c), op.log(x0(c))))),
  ],
  Sqrt: (c) => [op.div(op.mul(gy(c), 0.5), y0(c))],
  Reciprocal: (c) => [op.neg(op.mul(gy(c), op.mul(y0(c), y0(c))))],
  Exp: (c) => [op.mul(gy(c), y0(c))],
  Log: (c) => [op.div(gy(c), x0(c))],
  Tanh: (c) => [op.mul(gy(c), op.sub(1, op.mul(y0(c), y0(c))))],
  Sigmoid: (c) => [op.mul(gy(c), op.mul(y0(c), op.sub(1, y0(c))))],
  Erf: (c) => [op.mul(gy(c), op.mul(op.exp(op.neg(op.mul(x0(c), x0(c)))), 2 / Math.sqrt(Math.PI)))],
  Relu: (c) => [op.where(op.greater(x0(c), 0), gy(c), 0)],
  Abs: (c) => [op.where(op.less(x0(c), 0), op.neg(gy(c)), gy(c))],
  Sin: (c) => [op.mul(gy(c), op.cos(x0(c)))],
  Cos: (c) => [op.neg(op.mul(gy(c), op.sin(x0(c))))],
  Max: (c) => selectGrads(c, op.greater),
  Min: (c) => selectGrads(c, op.less),
  Clip: (c) => [clipGrad(c)],
  MatMul: matmulGrads,
  Gemm: gemmGrads,
  Softmax: (c) => {
    const y = y0(c);
    const axis = c.int('axis', -1);
    return [op.mul(y, op.sub(gy(c), op.reduceSum(op.mul(gy(c), y), [axis])))];
  },
  ReduceSum: (c) => [expandLike(keepDims(c, gy(c)), x0(c))],
  ReduceMean: (c) => [op.div(expandLike(keepDims(c, gy(c)), x0(c)), reducedCount(c))],
  ReduceMax: (c) => {
    // Ties share the gradient equally, as torch.amax does.
    const mask = op.cast(op.equal(x0(c), keepDims(c, y0(c))), x0(c).dtype);
    const share = op.div(mask, op.reduceSum(mask, reduceAxes(c)));
    return [op.mul(share, keepDims(c, gy(c)))];
  },
  ReduceLogSumExp: (c) => [op.mul(op.exp(op.sub(x0(c), keepDims(c, y0(c)))), keepDims(c, gy(c)))],
  Reshape: (c) => [reshapeLike(gy(c), x0(c))],
  Transpose: (c) => {
    const perm =
      (c.attr('perm') as { ints: readonly number[] } | undefined)?.ints ??
      x0(c).shape.map((_, i) => x0(c).rank - 1 - i);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(gy(c), inv)];
  },
  Concat: (c) => {
    const axis = c.int('axis');
    const sizes = c.node.inputs.map((v) => v!.shape[normAxis(axis, v!.rank)]!);
    if (!sizes.every((d) => typeof d === 'number'))
      throw new AppError('unsupported', `Concat gradient needs static sizes along the axis (${c.node.name})`);
    return op.split(gy(c), sizes as number[], axis);
  },
  Slice: (c) => [sliceGrad(c)],
  Split: (c) => [
    op.concat(
      c.node.outputs.map((_, i) => c.gradOut(i)),
      c.int('axis', 0),
    ),
  ],
  Gather: (c) => [when(c, 0, () => gatherGrad(c))],
  GatherElements: (c) => [
    when(c, 0, () => op.scatterElements(zerosLike(x0(c)), c.input(1), gy(c), c.int('axis', 0), 'add')),
  ],
  Expand: (c) => [gy(c)],
  Where: (c) => [undefined, when(c, 1, () => op.where(x0(c), gy(c), 0)), when(c, 2, () => op.where(x0(c), 0, gy(c)))],
  Cast: (c) => [op.cast(gy(c), x0(c).dtype)],
  LayerNormalization: layerNormGrads,
  Unsqueeze: (c) => [reshapeLike(gy(c), x0(c))],
  Squeeze: (c) => [reshapeLike(gy(c), x0(c))],
  Trilu: (c) => [op.trilu(gy(c), c.int('upper', 1) === 1, c.hasInput(1) ? constValues(c.input(1))[0] : 0)],
  Shape: 'none',
  Range: 'none',
  Equal: 'none',
  Less: 'none',
  LessOrEqual: 'none',
  Greater: 'none',
  GreaterOrEqual: 'none',
  Not: 'none',
  And: 'none',
  ArgMax: 'none',
} satisfies Record<DiffOp, GradRule | 'none'>;
