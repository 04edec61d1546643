// Loss-side composites written with differentiable primitives only, so their
// gradients come from the rule table for free (tinygrad's approach): the
// log-sigmoid of the DPO loss and LogSoftmax. The model's activations, norms
// and rotary live once in engine/models/nn.ts.
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';

/** log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)): stable for large |x| (the DPO loss is -logsigmoid of a margin). */
export function logSigmoid(x: Value): Value {
  return op.sub(op.where(op.less(x, 0), x, 0), op.log(op.add(op.exp(op.neg(op.abs(x))), 1)));
}

/** log softmax as x - logsumexp(x): the LogSoftmax kernel is missing on WebGPU. */
export const logSoftmax = op.logSoftmax;
