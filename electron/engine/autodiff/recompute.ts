// Recomputation in the backward pass (gradient checkpointing, and QLoRA's
// per-layer dequantization): a segment's forward nodes are emitted again when
// the backward walk reaches the segment, and the gradient rules of its nodes
// read the recomputed values, so the forward's own values die as soon as the
// forward has used them. Each re-run waits for the gradient arriving at the
// segment (a data dependency onnxruntime can neither fold nor reorder), which
// also keeps its common-subexpression elimination from merging the copies
// with the originals (decision 0660).
import type { Graph, Node, Value } from '../onnx/graph';
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
 * The segment's recomputation, emitted on demand: `copy(v)` returns v's recomputed value when a node of the
 * segment produces it (copying that node and, first, the segment nodes it reads), else v. Only what the
 * backward rules ask for is emitted: a copy nobody reads would still be scheduled and keep its inputs alive.
 * A copy that reads no other copy (a root) gets one input gated on `grad`: the first one that is not int4
 * (onnxruntime's CPU EP has no int4 Reshape; a DequantizeLinear's scales order it as well as its codes).
 */
function recomputeSegment(seg: Recompute, grad: Value, emitted: Set<Node>): (v: Value) => Value {
  const g = grad.graph;
  const tracked = <T>(fn: () => T): T => track(emitted, g, fn);
  const inside = new Set(seg.nodes);
  const copies = new Map<Value, Value>();
  const gated = new Map<Value, Value>();
  let empty: Value | undefined;
  const gateOf = (v: Value): Value => {
    let w = gated.get(v);
    if (!w) {
      empty ??= tracked(() => g.withScope('recompute', () => emptyAfter(grad)));
      w = tracked(() => g.withScope('recompute', () => gate(v, empty!)));
      gated.set(v, w);
    }
    return w;
  };
  const copy = (v: Value): Value => {
    const n = v.producer;
    if (!n || !inside.has(n)) return v;
    const hit = copies.get(v);
    if (hit) return hit;
    const root = !n.inputs.some((x) => x?.producer && inside.has(x.producer));
    const gateAt = root ? n.inputs.findIndex((x) => x !== undefined && x.dtype !== 'int4') : -1;
    const inputs = n.inputs.map((x, k) => (!x ? x : k === gateAt ? gateOf(x) : copy(x)));
    const outs = tracked(() =>
      g.addNode(
        n.opType,
        inputs,
        n.attrs,
        n.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape })),
        // Named after the original (a node belongs to one segment), not after the rule that asked first.
        { name: `${n.name}/recompute`, ...(n.domain ? { domain: n.domain } : {}) },
      ),
    );
    n.outputs.forEach((o, i) => copies.set(o, outs[i]!));
    return copies.get(v)!;
  };
  return copy;
}

/**
 * Removes the `emitted` nodes nothing reads (repeatedly: their inputs may become unread too). A rule may ask
 * for a recomputed value only for its shape; such a copy would still run, late, keeping its inputs alive.
 */
function pruneUnread(nodes: Node[], emitted: ReadonlySet<Node>, keep: readonly Value[]): void {
  const readers = new Map<Value, number>();
  for (const v of keep) readers.set(v, 1);
  for (const n of nodes) for (const v of n.inputs) if (v) readers.set(v, (readers.get(v) ?? 0) + 1);
  const dead = new Set<Node>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!emitted.has(n) || n.outputs.some((o) => (readers.get(o) ?? 0) > 0)) continue;
    dead.add(n);
    for (const v of n.inputs) if (v) readers.set(v, readers.get(v)! - 1);
  }
  if (dead.size === 0) return;
  const live = nodes.filter((n) => !dead.has(n));
  nodes.splice(0, nodes.length, ...live);
}

/**
 * The backward walk's bookkeeping for the segments: which node belongs to which, each segment's copies once the
 * walk reaches it, and when the walk leaves a segment, the gradients it sends on (to the layer's input) gated on
 * the gradients of the trainable values it read (the layer's LoRA weights). Without that gate onnxruntime, whose
 * order is a depth-first walk from the graph outputs, computes some weight gradients only when their outputs are
 * due, at the end of the step, and every layer's recomputed inputs to them stay alive until then (measured on
 * 8 layers: peak 755 MiB without, 552 with; decision 0660).
 */
export class Recomputation {
  private readonly segmentOf = new Map<Node, Recompute>();
  private readonly first = new Map<number, Recompute>();
  private readonly copies = new Map<Recompute, (v: Value) => Value>();
  private readonly emitted = new Set<Node>();
  private readonly wrt: ReadonlySet<Value>;
  /** Per segment being walked: the trainable values and the outside values it sent gradients to. */
  private readonly sent = new Map<Recompute, { wrt: Set<Value>; out: Set<Value> }>();

  constructor(segments: readonly Recompute[], nodeIndex: ReadonlyMap<Node, number>, wrt: readonly Value[]) {
    this.wrt = new Set(wrt);
    for (const s of segments) {
      const nodes = s.within ?? s.nodes;
      for (const n of nodes) this.segmentOf.set(n, s);
      if (nodes.length) this.first.set(Math.min(...nodes.map((n) => nodeIndex.get(n)!)), s);
    }
  }

  /** How the rules of `n` read values: recomputed when `n` is in a segment (emitted when first needed). */
  copiesFor(n: Node, total: (v: Value) => Value | undefined): (v: Value) => Value {
    const s = this.segmentOf.get(n);
    if (!s) return (v) => v;
    let copy = this.copies.get(s);
    if (!copy) {
      copy = recomputeSegment(s, total(s.after) ?? n.outputs.map(total).find((v) => v !== undefined)!, this.emitted);
      this.copies.set(s, copy);
      this.sent.set(s, { wrt: new Set(), out: new Set() });
    }
    return copy;
  }

  /** The rule of `n` sent a gradient to `v`. */
  pushed(n: Node, v: Value): void {
    const s = this.segmentOf.get(n);
    const sent = s && this.sent.get(s);
    if (!sent) return;
    if (this.wrt.has(v)) sent.wrt.add(v);
    else if (!v.producer || this.segmentOf.get(v.producer) !== s) sent.out.add(v);
  }

  /** The walk has passed node `index`: when it was a segment's first node, gate what the segment sends on. */
  leave(index: number, total: (v: Value) => Value | undefined, replace: (v: Value, grad: Value) => void): void {
    const s = this.first.get(index);
    const sent = s && this.sent.get(s);
    if (!sent || sent.wrt.size === 0) return;
    const g = [...sent.wrt][0]!.graph;
    track(this.emitted, g, () =>
      g.withScope('recompute', () => {
        const waits = [...sent.wrt].map((w) => emptyAfter(total(w)!));
        const empty = waits.length === 1 ? waits[0]! : op.concat(waits, 0);
        for (const v of sent.out) replace(v, gate(total(v)!, empty));
      }),
    );
  }

  /** Drops copies nothing reads (see pruneUnread). */
  prune(nodes: Node[], keep: readonly Value[]): void {
    pruneUnread(nodes, this.emitted, keep);
  }
}

/** Runs `fn`, adding the nodes it appends to `emitted`. */
function track<T>(emitted: Set<Node>, g: Graph, fn: () => T): T {
  const from = g.nodes.length;
  const out = fn();
  for (const n of g.nodes.slice(from)) emitted.add(n);
  return out;
}
