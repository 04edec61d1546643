// Shape-moving op helpers: Reshape, Transpose, Concat, Slice, Split, Gather,
// Scatter, Expand, (Un)Squeeze, Shape, Range, Tile, Trilu, CumSum. Static
// shape arguments become int64 constants; index tensors stay int32 for WebGPU.
import { AppError } from '../../../../shared/errors';
import type { Value } from '../graph';
import type { Dim } from '../shape';
import { broadcastShapes, normAxis, productDim, reshapeShape } from '../shape';
import { ints64, node1 } from './operand';

/** Reshape to a static target (0 copies, -1 infers) or to a runtime shape (int64 1-D Value). */
export function reshape(x: Value, target: readonly number[] | Value, outShape?: readonly Dim[]): Value {
  if (Array.isArray(target)) {
    const t = target as readonly number[];
    return node1(x.graph, 'Reshape', [x, ints64(x.graph, t)], {}, x.dtype, reshapeShape(x.shape, t));
  }
  const v = target as Value;
  if (!outShape) throw new AppError('internal', `Reshape of ${x} to a runtime shape needs the expected output shape`);
  return node1(x.graph, 'Reshape', [x, v], {}, x.dtype, outShape);
}

export function transpose(x: Value, perm?: readonly number[]): Value {
  const p = perm ?? x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank)
    throw new AppError('internal', `Transpose of ${x}: perm [${p.join(', ')}] has the wrong length`);
  return node1(
    x.graph,
    'Transpose',
    [x],
    { perm: { ints: p } },
    x.dtype,
    p.map((i) => x.shape[i]!),
  );
}

export function concat(xs: readonly Value[], axis: number): Value {
  const first = xs[0]!;
  const a = normAxis(axis, first.rank);
  const shape = [...first.shape];
  shape[a] = productSum(xs.map((x) => x.shape[a]!));
  return node1(first.graph, 'Concat', xs, { axis: { i: a } }, first.dtype, shape);
}

function productSum(ds: readonly Dim[]): Dim {
  return ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((s, d) => s + d, 0) : ds.join('+');
}

const INT64_MAX = 2 ** 62;

function sliceLen(d: Dim, start: number, end: number, step: number): Dim {
  if (typeof d !== 'number') return `${d}[${start}:${end}:${step}]`;
  const clampIdx = (i: number, lo: number, hi: number): number => Math.min(Math.max(i < 0 ? i + d : i, lo), hi);
  const s = step > 0 ? clampIdx(start, 0, d) : clampIdx(start, -1, d - 1);
  const e = step > 0 ? clampIdx(end, 0, d) : clampIdx(end, -1, d - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

/** Slice along `axes` with static starts/ends/steps (ends may be large numbers meaning "to the end"). */
export function slice(
  x: Value,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
): Value {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.rank));
  const st = steps ?? starts.map(() => 1);
  const shape = [...x.shape];
  ax.forEach((a, i) => {
    shape[a] = sliceLen(x.shape[a]!, starts[i]!, Math.min(ends[i]!, INT64_MAX), st[i]!);
  });
  const g = x.graph;
  return node1(
    g,
    'Slice',
    [
      x,
      ints64(g, starts),
      ints64(
        g,
        ends.map((e) => Math.min(e, INT64_MAX)),
      ),
      ints64(g, ax),
      ints64(g, st),
    ],
    {},
    x.dtype,
    shape,
  );
}

export function split(x: Value, sizes: readonly number[], axis: number): Value[] {
  const a = normAxis(axis, x.rank);
  const d = x.shape[a]!;
  if (typeof d === 'number' && sizes.reduce((s, n) => s + n, 0) !== d)
    throw new AppError('internal', `Split of ${x}: sizes [${sizes.join(', ')}] do not add up to ${d}`);
  const outs = sizes.map((n) => ({ dtype: x.dtype, shape: x.shape.map((dd, i) => (i === a ? n : dd)) }));
  return x.graph.addNode('Split', [x, ints64(x.graph, sizes)], { axis: { i: a } }, outs);
}

/** data[..., indices, ...] along `axis`; indices int32 (WebGPU) or int64. */
export function gather(data: Value, indices: Value, axis = 0): Value {
  const a = normAxis(axis, data.rank);
  const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
  return node1(data.graph, 'Gather', [data, indices], { axis: { i: a } }, data.dtype, shape);
}

export function gatherElements(data: Value, indices: Value, axis: number): Value {
  return node1(
    data.graph,
    'GatherElements',
    [data, indices],
    { axis: { i: normAxis(axis, data.rank) } },
    data.dtype,
    indices.shape,
  );
}

export function scatterElements(
  data: Value,
  indices: Value,
  updates: Value,
  axis: number,
  reduction: 'none' | 'add' = 'none',
): Value {
  return node1(
    data.graph,
    'ScatterElements',
    [data, indices, updates],
    { axis: { i: normAxis(axis, data.rank) }, reduction: { s: reduction } },
    data.dtype,
    data.shape,
  );
}

/** ScatterND (indices int64, as ONNX requires). */
export function scatterND(data: Value, indices: Value, updates: Value, reduction: 'none' | 'add' = 'none'): Value {
  return node1(
    data.graph,
    'ScatterND',
    [data, indices, updates],
    { reduction: { s: reduction } },
    data.dtype,
    data.shape,
  );
}

/** Broadcast `x` to `shape` (a static list, or a runtime int64 shape Value with the expected result shape). */
export function expand(x: Value, shape: readonly number[] | Value, outShape?: readonly Dim[]): Value {
  if (Array.isArray(shape)) {
    const s = shape as readonly number[];
    return node1(x.graph, 'Expand', [x, ints64(x.graph, s)], {}, x.dtype, broadcastShapes(x.shape, s));
  }
  if (!outShape) throw new AppError('internal', `Expand of ${x} to a runtime shape needs the expected output shape`);
  return node1(x.graph, 'Expand', [x, shape as Value], {}, x.dtype, broadcastShapes(x.shape, outShape));
}

export function unsqueeze(x: Value, axes: readonly number[]): Value {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis(a, rank)).sort((p, q) => p - q);
  const shape: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[k++]!);
  return node1(x.graph, 'Unsqueeze', [x, ints64(x.graph, norm)], {}, x.dtype, shape);
}

export function squeeze(x: Value, axes: readonly number[]): Value {
  const norm = axes.map((a) => normAxis(a, x.rank));
  for (const a of norm) if (x.shape[a] !== 1) throw new AppError('internal', `Squeeze of ${x}: axis ${a} is not 1`);
  return node1(
    x.graph,
    'Squeeze',
    [x, ints64(x.graph, norm)],
    {},
    x.dtype,
    x.shape.filter((_, i) => !norm.includes(i)),
  );
}

/** The runtime shape of `x` as an int64 1-D tensor. */
export function shapeOf(x: Value): Value {
  return node1(x.graph, 'Shape', [x], {}, 'int64', [x.rank]);
}

/** int32 Range [start, limit) with a static step; `limit` may be a runtime int32 scalar. */
export function range(g: Value['graph'], start: number, limit: number | Value, step = 1): Value {
  const lim = typeof limit === 'number' ? g.constant(limit, 'int32', []) : limit;
  const len: Dim = typeof limit === 'number' ? Math.max(0, Math.ceil((limit - start) / step)) : `range(${lim.name})`;
  return node1(g, 'Range', [g.constant(start, 'int32', []), lim, g.constant(step, 'int32', [])], {}, 'int32', [len]);
}

export function tile(x: Value, repeats: readonly number[]): Value {
  const shape = x.shape.map((d, i) => (repeats[i] === 1 ? d : productDim([d, repeats[i]!])));
  return node1(x.graph, 'Tile', [x, ints64(x.graph, repeats)], {}, x.dtype, shape);
}

/** Upper (or lower) triangle of the last two axes, diagonal offset k. */
export function trilu(x: Value, upper: boolean, k = 0): Value {
  return node1(
    x.graph,
    'Trilu',
    [x, x.graph.constant(k, 'int64', [])],
    { upper: { i: upper ? 1 : 0 } },
    x.dtype,
    x.shape,
  );
}

export function cumSum(x: Value, axis: number): Value {
  return node1(x.graph, 'CumSum', [x, x.graph.constant(normAxis(axis, x.rank), 'int32', [])], {}, x.dtype, x.shape);
}

/** Constant zero padding: `pads` = [begin_0..begin_n, end_0..end_n] (runs on WebGPU up to opset 21). */
export function pad(x: Value, pads: readonly number[]): Value {
  const shape = x.shape.map((d, i) =>
    pads[i] === 0 && pads[i + x.rank] === 0 ? d : productDimSum(d, pads[i]! + pads[i + x.rank]!),
  );
  return node1(x.graph, 'Pad', [x, ints64(x.graph, pads)], { mode: { s: 'constant' } }, x.dtype, shape);
}

function productDimSum(d: Dim, n: number): Dim {
  return typeof d === 'number' ? d + n : `${d}+${n}`;
}

/**
 * `v` unchanged, computed only once `x` exists: a Reshape to its own shape, the target shape concatenated with
 * the empty shape of `x` (Shape with start = end = 0). onnxruntime runs nodes that read only initializers
 * first, so without this every layer's dequantized weight (or every slice of a cast LM head) would be alive at
 * once (measured: peak RSS twice the fp32 model's). The Shape node is int64: on WebGPU it runs on the CPU.
 */
export function after(x: Value, v: Value): Value {
  const g = x.graph;
  const [empty] = g.addNode('Shape', [x], { start: { i: 0 }, end: { i: 0 } }, [{ dtype: 'int64', shape: [0] }]);
  const dims = v.shape as number[];
  const target = concat([g.constant(dims, 'int64'), empty!], 0);
  return reshape(v, target, dims);
}
