// Composite functions written with differentiable primitives only, so their
// gradients come from the rule table for free (tinygrad's approach): GELU
// (erf and tanh forms), SiLU, quick_gelu, RMSNorm, log-sigmoid, LogSoftmax and rotary.
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';

/** GELU, exact form: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: Value): Value {
  return op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1));
}

/** GELU, tanh approximation ('gelu_pytorch_tanh'). */
export function geluTanh(x: Value): Value {
  const inner = op.mul(op.add(x, op.mul(op.mul(op.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
}

export function silu(x: Value): Value {
  return op.mul(x, op.sigmoid(x));
}

/** CLIP's quick_gelu: x sigmoid(1.702 x). */
export function quickGelu(x: Value): Value {
  return op.mul(x, op.sigmoid(op.mul(x, 1.702)));
}

/** RMSNorm as HF Llama computes it: weight * x / sqrt(mean(x^2, -1) + eps). */
export function rmsNorm(x: Value, weight: Value, eps: number): Value {
  const ms = op.reduceMean(op.mul(x, x), [-1]);
  return op.mul(op.mul(x, op.reciprocal(op.sqrt(op.add(ms, eps)))), weight);
}

/** log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)): stable for large |x| (the DPO loss is -logsigmoid of a margin). */
export function logSigmoid(x: Value): Value {
  return op.sub(op.where(op.less(x, 0), x, 0), op.log(op.add(op.exp(op.neg(op.abs(x))), 1)));
}

/** log softmax as x - logsumexp(x): the LogSoftmax kernel is missing on WebGPU. */
export const logSoftmax = op.logSoftmax;

/** HF rotate_half: [-x2, x1] for the two halves of the last axis. */
export function rotateHalf(x: Value): Value {
  const d = x.shape[x.rank - 1] as number;
  const [x1, x2] = op.split(x, [d / 2, d / 2], -1) as [Value, Value];
  return op.concat([op.neg(x2), x1], -1);
}

/** Rotary position embedding, HF's non-interleaved convention: x cos + rotate_half(x) sin (cos/sin broadcast to x). */
export function rotary(x: Value, cos: Value, sin: Value): Value {
  return op.add(op.mul(x, cos), op.mul(rotateHalf(x), sin));
}
