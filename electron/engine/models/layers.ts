// Building blocks shared by the vision towers and the language models:
// linear layers (optionally with a LoRA branch), norms and the activation
// table. Activations stay [batch, seq, features] between blocks.
import { AppError } from '../../../shared/errors';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { Params } from './params';

/** Hooks a linear layer may carry: an unmerged LoRA branch is added to its output. */
export interface LinearHooks {
  /** Extra output for module `name` given the layer input x [B, T, in] (returns [B, T, out]) or undefined. */
  branch?(name: string, x: Value): Value | undefined;
}

/** y = x W^T + b for x [B, T, in] with the HF weight layout W [out, in]; B must be static. */
export function linear(p: Params, name: string, x: Value, hooks: LinearHooks = {}): Value {
  const w = p.get(`${name}.weight`); // [out, in]
  const bias = p.has(`${name}.bias`) ? p.get(`${name}.bias`) : undefined;
  const [b, inDim] = [x.shape[0] as number, x.shape[x.rank - 1] as number];
  if (w.shape[1] !== inDim) throw new AppError('bad-file', `${name}.weight has shape [${w.shape.join(', ')}], input has ${inDim} features`, { subject: name });
  // Gemm with transB reads W in place (a MatMul would need a transposed copy).
  const y2 = op.gemm(op.reshape(x, [-1, inDim]), w, bias, { transB: true });
  // A constant target with the known result shape: the symbolic algebra cannot undo [B*T] into [B, T].
  const y = op.reshape(y2, p.graph.constant([b, -1, w.shape[0] as number], 'int64', [3]), [b, x.shape[1]!, w.shape[0]!]);
  const extra = hooks.branch?.(name, x);
  return extra ? op.add(y, extra) : y;
}

export function layerNorm(p: Params, name: string, x: Value, eps: number): Value {
  return op.layerNorm(x, p.get(`${name}.weight`), p.get(`${name}.bias`), { axis: -1, epsilon: eps });
}

/** Llama's RMSNorm: x * rsqrt(mean(x^2) + eps) * weight, in float32. */
export function rmsNorm(p: Params, name: string, x: Value, eps: number): Value {
  const ms = op.reduceMean(op.mul(x, x), [-1]);
  return op.mul(op.div(x, op.sqrt(op.add(ms, eps))), p.get(`${name}.weight`));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Every activation a supported config may name (`hidden_act`, `projector_hidden_act`). */
export const ACTIVATIONS = {
  quick_gelu: (x: Value) => op.mul(x, op.sigmoid(op.mul(x, 1.702))),
  gelu: (x: Value) => op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1)),
  gelu_pytorch_tanh: (x: Value) => geluTanh(x),
  gelu_new: (x: Value) => geluTanh(x),
  silu: (x: Value) => op.mul(x, op.sigmoid(x)),
} satisfies Record<string, (x: Value) => Value>;
export type Activation = keyof typeof ACTIVATIONS;

function geluTanh(x: Value): Value {
  const inner = op.mul(op.add(x, op.mul(op.mul(op.mul(x, x), x), 0.044715)), SQRT_2_OVER_PI);
  return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
}

export function activation(name: string, field: string): (x: Value) => Value {
  if (!Object.hasOwn(ACTIVATIONS, name)) {
    throw new AppError('unsupported', `${field} = "${name}" is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`, { subject: field });
  }
  return ACTIVATIONS[name as Activation];
}
