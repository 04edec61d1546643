// A Llama-style transformer block in HF conventions (RMSNorm, W [out, in]
// projections, non-interleaved rotary, causal softmax attention, SiLU-gated
// MLP), built from differentiable primitives. The self-test trains it; tests
// check its gradients against PyTorch (test/reference/block_ref.py) and the
// train-step benchmark stacks it.
import * as C from '../autodiff/composites';
import type { Graph, Value } from '../onnx/graph';
import * as op from '../onnx/ops';

export interface BlockDims {
  hidden: number;
  heads: number;
  /** MLP width. */
  inter: number;
}

/** Parameter names (HF suffixes) and shapes of one block. */
export function blockParamShapes(d: BlockDims): Record<string, number[]> {
  const h = d.hidden;
  return {
    'input_layernorm.weight': [h],
    'q_proj.weight': [h, h],
    'k_proj.weight': [h, h],
    'v_proj.weight': [h, h],
    'o_proj.weight': [h, h],
    'post_attention_layernorm.weight': [h],
    'gate_proj.weight': [d.inter, h],
    'up_proj.weight': [d.inter, h],
    'down_proj.weight': [h, d.inter],
  };
}

/** x W^T for the HF weight layout W [out, in]. */
function linear(x: Value, w: Value): Value {
  return op.matmul(x, op.transpose(w));
}

/** Causal mask [T, T]: true where key position <= query position. */
function causalMask(g: Graph, t: number): Value {
  const bits = Array.from({ length: t * t }, (_, k) => (k % t <= Math.floor(k / t) ? 1 : 0));
  return g.constant(bits, 'bool', [t, t]);
}

/**
 * One block over x [B, T, H] (T static); `p(name)` returns the parameter with that HF suffix;
 * cos/sin [T, head_dim] are the rotary tables.
 */
export function block(p: (name: string) => Value, x: Value, cos: Value, sin: Value, d: BlockDims): Value {
  const g = x.graph;
  const hd = d.hidden / d.heads;
  const t = x.shape[1] as number;
  const heads = (v: Value): Value => op.transpose(op.reshape(v, [0, 0, d.heads, hd]), [0, 2, 1, 3]); // [B, nh, T, hd]

  const r = C.rmsNorm(x, p('input_layernorm.weight'), 1e-6);
  const q = C.rotary(heads(linear(r, p('q_proj.weight'))), cos, sin);
  const k = C.rotary(heads(linear(r, p('k_proj.weight'))), cos, sin);
  const v = heads(linear(r, p('v_proj.weight')));
  const scores = op.mul(op.matmul(q, op.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(hd)); // [B, nh, T, T]
  const att = op.softmax(op.where(causalMask(g, t), scores, -1e9));
  const merged = op.reshape(op.transpose(op.matmul(att, v), [0, 2, 1, 3]), [0, 0, d.hidden]); // [B, T, H]
  const h1 = op.add(x, linear(merged, p('o_proj.weight')));

  const r2 = C.rmsNorm(h1, p('post_attention_layernorm.weight'), 1e-6);
  const mlp = op.mul(C.silu(linear(r2, p('gate_proj.weight'))), linear(r2, p('up_proj.weight')));
  return op.add(h1, linear(mlp, p('down_proj.weight')));
}

/** HF rotary tables for positions 0..T-1: cos and sin of [freqs, freqs], each [T, head_dim]. */
export function rotaryTables(t: number, headDim: number, theta = 10000): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(t * headDim);
  const sin = new Float32Array(t * headDim);
  const half = headDim / 2;
  for (let pos = 0; pos < t; pos++) {
    for (let i = 0; i < headDim; i++) {
      const angle = pos / theta ** ((2 * (i % half)) / headDim);
      cos[pos * headDim + i] = Math.cos(angle);
      sin[pos * headDim + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
