// Global-norm gradient clipping as graph nodes, as torch.nn.utils.clip_grad_norm_
// does it: scale every gradient by min(1, max_norm / (norm + 1e-6)).
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';

/** sqrt of the sum of squares of all gradients (float32 scalar). */
export function globalNorm(grads: readonly Value[]): Value {
  const squares = grads.map((gv) =>
    gv.rank === 0 ? op.mul(gv, gv) : op.reduce('ReduceSumSquare', gv, op.allAxes(gv), false),
  );
  return op.sqrt(op.addN(squares));
}

export function clipByGlobalNorm(grads: readonly Value[], maxNorm: number): { grads: Value[]; norm: Value } {
  const norm = globalNorm(grads);
  const scale = op.min(op.div(maxNorm, op.add(norm, 1e-6)), 1);
  return { grads: grads.map((gv) => op.mul(gv, scale)), norm };
}
