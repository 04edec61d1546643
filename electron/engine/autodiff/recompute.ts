// Recomputation in the backward pass (gradient checkpointing, and QLoRA's
// per-layer dequantization): a segment's forward nodes are emitted again when
// the backward walk reaches the segment, and the gradient rules of its nodes
// read the recomputed values, so the forward's own values die as soon as the
// forward has used them. Each re-run waits for the gradient arriving at the
// segment (a data dependency onnxruntime can neither fold nor reorder), which
// also keeps its common-subexpression elimination from merging the copies
// with the originals (decision 0660).
import type { Node, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { isStatic } from '../onnx/shape';

/** Forward nodes to run again in the backward pass, once the gradient of `after` is known. */
export interface Recompute {
  /** In build (topological) order: e.g. one decoder layer's nodes, or only those computing its weights. */
  nodes: readonly Node[];
  /** The nodes whose gradient rules read the recomputed values (default `nodes`): e.g. the whole layer. */
  within?: readonly Node[];
  /** The segment's output: the re-run starts when the backward has its full gradient. */
  after: Value;
}

/**
 * An empty int64 tensor [0] computed from the data of `grad` (a zero-length Slice, then Cast): concatenated to
 * a Reshape's target shape it changes nothing, but the Reshape cannot run before `grad` exists. Shape(grad)
 * would not do: onnxruntime folds the Shape of a statically shaped value into a constant.
 */
function emptyAfter(grad: Value): Value {
  const flat = op.reshape(grad, [-1]);
  return op.cast(op.slice(flat, [0], [0], [0]), 'int64');
}

/** `v` unchanged, available only once `empty` (emptyAfter) is; a Reshape aliases its input, so nothing is copied. */
function gate(v: Value, empty: Value): Value {
  const dims = isStatic(v.shape) ? v.graph.constant(v.shape as number[], 'int64') : op.shapeOf(v);
  return op.reshape(v, op.concat([dims, empty], 0), v.shape);
}

/**
 * Emits a copy of the segment's nodes reading the same outside values; every copy that reads no other copy
 * (a root) gets one input gated on `grad` (the first one that is not int4: onnxruntime's CPU EP has no int4
 * Reshape, and a DequantizeLinear's scales order it as well as its codes). Returns original -> copy for
 * every output of the segment.
 */
export function recomputeSegment(seg: Recompute, grad: Value): Map<Value, Value> {
  const g = grad.graph;
  const copies = new Map<Value, Value>();
  const inside = new Set(seg.nodes);
  let empty: Value | undefined;
  const gated = new Map<Value, Value>();
  for (const n of seg.nodes) {
    const root = !n.inputs.some((v) => v?.producer && inside.has(v.producer));
    const gateAt = root ? n.inputs.findIndex((v) => v !== undefined && v.dtype !== 'int4') : -1;
    const inputs = n.inputs.map((v, k) => {
      if (!v) return v;
      const copy = copies.get(v);
      if (copy) return copy;
      if (k !== gateAt) return v;
      empty ??= g.withScope('recompute', () => emptyAfter(grad));
      let w = gated.get(v);
      if (!w) {
        w = g.withScope('recompute', () => gate(v, empty!));
        gated.set(v, w);
      }
      return w;
    });
    const outs = g.addNode(
      n.opType,
      inputs,
      n.attrs,
      n.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })),
      { name: g.fresh(`${n.name}/recompute`), ...(n.domain ? { domain: n.domain } : {}) },
    );
    n.outputs.forEach((o, i) => copies.set(o, outs[i]!));
  }
  return copies;
}
