// The neural-network pieces every graph of the engine is built from, written
// once from differentiable primitives (tinygrad's way: their gradients come
// from the autodiff rule table for free): linear layers with an optional
// LoRA branch, LayerNorm, RMSNorm, rotary embedding and its host-side tables,
// and the activation table. The LLaVA model (llava.ts), its vision tower and
// the self-test all use these; activations stay [B, T, C] between blocks.
import { AppError } from '../../../shared/errors';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';

/** The static size of `v` along `axis`; a symbolic one is a bug in the caller's graph (the builders need it known). */
export function staticDim(v: Value, axis: number): number {
  const d = v.shape[axis < 0 ? v.rank + axis : axis];
  if (typeof d !== 'number')
    throw new AppError('internal', `${v.name}: axis ${axis} of ${v} must be static, got ${String(d)}`);
  return d;
}

/** Every dim of `v`, all required static (see staticDim). */
export function staticShape(v: Value): number[] {
  return v.shape.map((_, i) => staticDim(v, i));
}

/** Hooks a linear layer may carry: an unmerged LoRA branch is added to its output. */
export interface LinearHooks {
  /** Extra output for module `name` given the layer input x [B, T, in] (returns [B, T, out]) or undefined. */
  branch?(name: string, x: Value): Value | undefined;
}

/** x W^T (+ b) for x [B, T, in] and the HF weight layout W [out, in], plus the module's hook branch; B must be static. */
export function linear(x: Value, w: Value, b: Value | undefined, name: string, hooks: LinearHooks = {}): Value {
  const [batch, inDim, outDim] = [staticDim(x, 0), staticDim(x, -1), staticDim(w, 0)];
  if (w.shape[1] !== inDim)
    throw new AppError('bad-file', `${name}.weight has shape [${w.shape.join(', ')}], input has ${inDim} features`, {
      subject: name,
    });
  // Gemm with transB reads W in place (a MatMul would need a transposed copy).
  const y2 = op.gemm(op.reshape(x, [-1, inDim]), w, b, { transB: true }); // [B*T, out]
  // A constant target with the known result shape: the symbolic algebra cannot undo [B*T] into [B, T].
  const y = op.reshape(y2, x.graph.constant([batch, -1, outDim], 'int64', [3]), [batch, x.shape[1]!, outDim]); // [B, T, out]
  const extra = hooks.branch?.(name, x);
  return extra ? op.add(y, extra) : y;
}

/** LayerNorm over the last axis (the fused ONNX op; it has a gradient rule). */
export function layerNorm(x: Value, weight: Value, bias: Value, eps: number): Value {
  return op.layerNorm(x, weight, bias, { axis: -1, epsilon: eps });
}

/**
 * Llama's RMSNorm, accumulated in float32 whatever x's type: x / sqrt(mean(x^2) + eps), back in x's type, times
 * weight (HF LlamaRMSNorm's order under fp16).
 */
export function rmsNorm(x: Value, weight: Value, eps: number): Value {
  const x32 = op.cast(x, 'float32');
  const ms = op.reduceMean(op.mul(x32, x32), [-1]); // [..., 1]
  return op.mul(op.cast(op.div(x32, op.sqrt(op.add(ms, eps))), x.dtype), weight);
}

/** HF rotate_half: [-x2, x1] for the two halves of the last axis. */
export function rotateHalf(x: Value): Value {
  const half = staticDim(x, -1) / 2;
  const [x1, x2] = op.split(x, [half, half], -1) as [Value, Value];
  return op.concat([op.neg(x2), x1], -1);
}

/** Rotary embedding, HF's non-interleaved convention: x cos + rotate_half(x) sin (cos/sin broadcast to x [..., T, hd]). */
export function rotary(x: Value, cos: Value, sin: Value): Value {
  return op.add(op.mul(x, cos), op.mul(rotateHalf(x), sin));
}

/** What the rotary tables depend on (a TextSpec is one). */
export interface RotarySpec {
  headDim: number;
  ropeTheta: number;
  /** Linear rope scaling divides positions by this (1 = none). */
  ropePositionScale: number;
}

/**
 * cos and sin [positions.length, headDim] for the given absolute positions, computed on the host in
 * float64: WebGPU's Sin/Cos lose about 2e-4 at the angles of long contexts (measured on SwiftShader at
 * 50 rad), which alone broke logit parity. Angles follow HF: position / factor * theta^(-2i/d), cat(freqs, freqs).
 */
export function rotaryTables(s: RotarySpec, positions: readonly number[]): { cos: Float32Array; sin: Float32Array } {
  const hd = s.headDim;
  const half = hd / 2;
  const cos = new Float32Array(positions.length * hd);
  const sin = new Float32Array(positions.length * hd);
  positions.forEach((pos, t) => {
    for (let i = 0; i < half; i++) {
      const a = (pos / s.ropePositionScale) * Math.pow(s.ropeTheta, (-2 * i) / hd);
      cos[t * hd + i] = cos[t * hd + half + i] = Math.cos(a);
      sin[t * hd + i] = sin[t * hd + half + i] = Math.sin(a);
    }
  });
  return { cos, sin };
}

/** GELU, exact form: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: Value): Value {
  return op.mul(op.mul(x, 0.5), op.add(op.erf(op.mul(x, Math.SQRT1_2)), 1));
}

/** GELU, tanh approximation ('gelu_pytorch_tanh', 'gelu_new'). */
export function geluTanh(x: Value): Value {
  const inner = op.mul(op.add(x, op.mul(op.mul(op.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return op.mul(op.mul(x, 0.5), op.add(op.tanh(inner), 1));
}

export function silu(x: Value): Value {
  return op.mul(x, op.sigmoid(x));
}

/** OpenAI CLIP's quick_gelu: x sigmoid(1.702 x). */
export function quickGelu(x: Value): Value {
  return op.mul(x, op.sigmoid(op.mul(x, 1.702)));
}

/** Every activation a supported config may name (`hidden_act`, `projector_hidden_act`). */
export const ACTIVATIONS = {
  quick_gelu: quickGelu,
  gelu,
  gelu_pytorch_tanh: geluTanh,
  gelu_new: geluTanh,
  silu,
} satisfies Record<string, (x: Value) => Value>;
export type Activation = keyof typeof ACTIVATIONS;

/** The activation a config field names; an unknown name is refused naming the field. */
export function activation(name: string, field: string): (x: Value) => Value {
  if (!Object.hasOwn(ACTIVATIONS, name)) {
    throw new AppError(
      'unsupported',
      `${field} = "${name}" is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`,
      { subject: field },
    );
  }
  return ACTIVATIONS[name as Activation];
}
