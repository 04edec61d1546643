// Reverse-mode autodiff over a built Graph: walks the nodes between the
// trainable values and the loss backwards, asks each op's rule (rules.ts) for
// input gradients, and does the shared work once: summing gradients that meet
// at a value, undoing broadcasting, skipping inputs that need no gradient.
import { AppError } from '../../../shared/errors';
import { isFloat } from '../onnx/dtype';
import type { Attr, Node, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { broadcastAxes, sameShape, shapeToString } from '../onnx/shape';
import { expandLike, zerosLike } from './like';
import { Recomputation, type Recompute } from './recompute';
import type { GradContext } from './rules';
import { GRADIENTS, isDiffOp } from './rules';

export interface BackwardOptions {
  /** Gradient of the loss w.r.t. itself; defaults to ones of the loss's shape. */
  seed?: Value;
  /**
   * Segments of the forward to run again in the backward (gradient checkpointing per decoder layer, or a
   * layer's dequantized weights): their nodes' rules then read the recomputed values (recompute.ts).
   */
  recompute?: readonly Recompute[];
}

/**
 * Gradients of `loss` w.r.t. each of `wrt` (in wrt's shapes and dtypes). A value
 * the loss does not depend on gets zeros. Nodes are named `<node>/grad/...`.
 */
export function gradients(loss: Value, wrt: readonly Value[], options: BackwardOptions = {}): Value[] {
  const g = loss.graph;
  const nodeIndex = new Map<Node, number>(g.nodes.map((n, i) => [n, i]));
  const lossIdx = loss.producer ? nodeIndex.get(loss.producer)! : -1;

  // Values that depend on a trainable value (forward pass over nodes in build order, which is topological).
  const active = new Set<Value>(wrt.filter((v) => isFloat(v.dtype)));
  for (let i = 0; i <= lossIdx; i++) {
    const n = g.nodes[i]!;
    if (n.inputs.some((v) => v && active.has(v))) for (const o of n.outputs) if (isFloat(o.dtype)) active.add(o);
  }

  const pending = new Map<Value, Value[]>();
  const push = (v: Value, grad: Value): void => {
    const list = pending.get(v);
    if (list) list.push(grad);
    else pending.set(v, [grad]);
  };
  const total = (v: Value): Value | undefined => {
    const list = pending.get(v);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      const sum = g.withScope(`${v.name}/grad_sum`, () => op.addN(list));
      pending.set(v, [sum]);
    }
    return pending.get(v)![0];
  };

  push(
    loss,
    options.seed ?? g.withScope(`${loss.name}/grad_seed`, () => expandLike(g.constant(1, loss.dtype, []), loss)),
  );

  const recompute = new Recomputation(options.recompute ?? [], nodeIndex, wrt);

  for (let i = lossIdx; i >= 0; i--) {
    const n = g.nodes[i]!;
    const visit = n.outputs.some((o) => pending.has(o));
    const needs = n.inputs.map((v) => v !== undefined && active.has(v));
    if (visit && needs.some(Boolean)) {
      const recomputed = recompute.copiesFor(n, total);
      const grads = g.withScope(`${n.name}/grad`, () => applyRule(n, needs, total, recomputed));
      n.inputs.forEach((v, k) => {
        const gv = grads[k];
        if (!v || !needs[k] || !gv) return;
        push(
          v,
          g.withScope(`${n.name}/grad`, () => unbroadcast(gv, v)),
        );
        recompute.pushed(n, v);
      });
    }
    recompute.leave(i, total, (v, grad) => pending.set(v, [grad]));
  }

  const result = wrt.map((w) => total(w) ?? g.withScope(`${w.name}/grad_zero`, () => zerosLike(w)));
  recompute.prune(g.nodes, result);
  return result;
}

function applyRule(
  n: Node,
  needs: boolean[],
  total: (v: Value) => Value | undefined,
  recomputed: (v: Value) => Value,
): readonly (Value | undefined)[] {
  if (!isDiffOp(n.opType) || n.domain !== '')
    throw new AppError(
      'unsupported',
      `no gradient rule for ${n.domain ? `${n.domain}.` : ''}${n.opType} (node ${n.name})`,
    );
  const rule = GRADIENTS[n.opType];
  if (rule === 'none') return [];
  const g = n.outputs[0]!.graph;
  const ctx: GradContext = {
    node: n,
    graph: g,
    input: (i) => {
      const v = n.inputs[i];
      if (!v) throw new AppError('internal', `${n.name}: input ${i} is absent`);
      return recomputed(v);
    },
    hasInput: (i) => n.inputs[i] !== undefined,
    output: (i) => recomputed(n.outputs[i]!),
    gradOut: (i) => total(n.outputs[i]!) ?? zerosLike(n.outputs[i]!),
    hasGradOut: (i) => total(n.outputs[i]!) !== undefined,
    needsGrad: (i) => needs[i] ?? false,
    tmp: (name) => g.fresh(name),
    attr: (name) => n.attrs[name],
    int: (name, fallback) => intAttr(n, n.attrs[name], name, fallback),
  };
  return rule(ctx);
}

function intAttr(n: Node, a: Attr | undefined, name: string, fallback?: number): number {
  if (a && 'i' in a) return a.i;
  if (a === undefined && fallback !== undefined) return fallback;
  throw new AppError('internal', `${n.name}: attribute ${name} is missing or not an int`);
}

/** Sums a gradient over the axes along which `input` was broadcast, back to `input`'s shape and dtype. */
function unbroadcast(grad: Value, input: Value): Value {
  let gv = grad.dtype === input.dtype ? grad : op.cast(grad, input.dtype);
  if (sameShape(gv.shape, input.shape)) return gv;
  const axes = broadcastAxes(input.shape, gv.shape);
  if (axes.length === 0) {
    throw new AppError(
      'internal',
      `gradient ${gv} does not match ${input} (${shapeToString(gv.shape)} vs ${shapeToString(input.shape)})`,
    );
  }
  const lead = gv.rank - input.rank;
  gv = op.reduceSum(gv, axes, true);
  return lead > 0
    ? op.squeeze(
        gv,
        Array.from({ length: lead }, (_, i) => i),
      )
    : gv;
}
