// The pre-norm decoder shared by Llama, Mistral and Qwen2 (differences come
// from decoder-arch.ts): RMSNorm, rotary attention with GQA and a KV cache,
// SiLU-gated MLP. Attention is computed explicitly (MatMul + Softmax) so the
// head-averaged probabilities of chosen layers can be graph outputs.
// Reference: HF modeling_llama.py (LlamaDecoderLayer, apply_rotary_pos_emb).
import { AppError } from '../../../shared/errors';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { TEXT_ARCHS } from './decoder-arch';
import type { LinearHooks } from './layers';
import { activation, linear, rmsNorm } from './layers';
import type { Params } from './params';
import type { TextSpec } from './spec';

/** One layer's cache: keys stored transposed [B, kvH, hd, Tk] so decode steps never transpose it; values [B, kvH, Tk, hd]. */
export interface LayerCache {
  keyT: Value;
  value: Value;
}

export interface DecoderInputs {
  embeds: Value; // [B, T, D]
  /** Rotary tables for the new tokens' positions [B, T, hd] (rope.ts; host-computed for precision). */
  rope: { cos: Value; sin: Value };
  /** Additive attention bias [B, T, Tk]: 0 where a query may attend, -inf elsewhere (causal + padding). */
  bias: Value;
  past?: readonly LayerCache[];
  /** Names for the extended cache values, so graph outputs need no Identity copy of the whole cache. */
  presentNames?: (layer: number) => { keyT: string; value: string };
}

export interface DecoderOutputs {
  hidden: Value; // [B, T, D] after the final norm
  present: LayerCache[];
  /** Per captured layer: attention probabilities averaged over heads [B, T, Tk]. */
  attention: Map<number, Value>;
}

/** x * cos + rotate_half(x) * sin, the non-interleaved convention of HF checkpoints; x [..., T, hd]. */
function applyRotary(x: Value, cos: Value, sin: Value, hd: number): Value {
  const [x1, x2] = op.split(x, [hd / 2, hd / 2], -1) as [Value, Value];
  return op.add(op.mul(x, cos), op.mul(op.concat([op.neg(x2), x1], -1), sin));
}

/** Concat of the cache and the new entries, its output named `outName` so a graph output aliases it (no Identity copy). */
function concatNamed(a: Value, b: Value, axis: number, outName: string | undefined): Value {
  if (outName === undefined) return op.concat([a, b], axis);
  const [da, db] = [a.shape[axis]!, b.shape[axis]!];
  const shape = [...a.shape];
  shape[axis] = typeof da === 'number' && typeof db === 'number' ? da + db : `${da}+${db}`;
  return a.graph.addNode('Concat', [a, b], { axis: { i: axis } }, [{ dtype: a.dtype, shape }], {}, [outName])[0]!;
}

function attention(p: Params, s: TextSpec, name: string, x: Value, rope: { cos: Value; sin: Value }, bias: Value, past: LayerCache | undefined, hooks: LinearHooks, presentName?: { keyT: string; value: string }) {
  const [b, kv, hd] = [x.shape[0] as number, s.numKvHeads, s.headDim];
  const rep = s.numHeads / kv;
  // Queries grouped by the kv head they share: [B, kvH, rep, T, hd]; GQA then needs no repeat of K/V.
  const q5 = op.transpose(op.reshape(linear(p, `${name}.q_proj`, x, hooks), [b, -1, kv, rep, hd]), [0, 2, 3, 1, 4]);
  const k4 = op.transpose(op.reshape(linear(p, `${name}.k_proj`, x, hooks), [b, -1, kv, hd]), [0, 2, 1, 3]); // [B, kvH, T, hd]
  const v4 = op.transpose(op.reshape(linear(p, `${name}.v_proj`, x, hooks), [b, -1, kv, hd]), [0, 2, 1, 3]);
  const q = applyRotary(q5, op.unsqueeze(rope.cos, [1, 2]), op.unsqueeze(rope.sin, [1, 2]), hd);
  const kT = op.transpose(applyRotary(k4, op.unsqueeze(rope.cos, [1]), op.unsqueeze(rope.sin, [1]), hd), [0, 1, 3, 2]);
  const present: LayerCache = past ? { keyT: concatNamed(past.keyT, kT, 3, presentName?.keyT), value: concatNamed(past.value, v4, 2, presentName?.value) } : { keyT: kT, value: v4 };
  const scores = op.mul(op.matmul(q, op.unsqueeze(present.keyT, [2])), 1 / Math.sqrt(hd)); // [B, kvH, rep, T, Tk]
  const probs = op.softmax(op.add(scores, op.unsqueeze(bias, [1, 2])), -1);
  const out = op.matmul(probs, op.unsqueeze(present.value, [2])); // [B, kvH, rep, T, hd]
  const merged = op.reshape(op.transpose(out, [0, 3, 1, 2, 4]), [b, -1, s.numHeads * hd]);
  return { out: linear(p, `${name}.o_proj`, merged, hooks), present, probs };
}

function mlp(p: Params, s: TextSpec, name: string, x: Value, hooks: LinearHooks): Value {
  const act = activation(s.hiddenAct, 'text_config.hidden_act');
  return linear(p, `${name}.down_proj`, op.mul(act(linear(p, `${name}.gate_proj`, x, hooks)), linear(p, `${name}.up_proj`, x, hooks)), hooks);
}

function checkBiases(p: Params, s: TextSpec, prefix: string): void {
  if (!TEXT_ARCHS[s.modelType].attentionBias) return;
  for (const m of ['q_proj', 'k_proj', 'v_proj']) {
    const name = `${prefix}layers.0.self_attn.${m}.bias`;
    if (!p.has(name)) throw new AppError('bad-file', `text_config.model_type = "${s.modelType}" needs ${name}, which the checkpoint lacks`, { subject: name });
  }
}

/** Runs the decoder blocks and the final norm; `capture` lists layers whose head-averaged attention is returned. */
export function decoder(p: Params, s: TextSpec, inputs: DecoderInputs, capture: readonly number[], hooks: LinearHooks = {}, prefix = 'language_model.model.'): DecoderOutputs {
  checkBiases(p, s, prefix);
  const rope = inputs.rope;
  const present: LayerCache[] = [];
  const attentionOut = new Map<number, Value>();
  let x = inputs.embeds;
  for (let i = 0; i < s.numLayers; i++) {
    x = p.graph.withScope(`layer${i}`, () => {
      const name = `${prefix}layers.${i}`;
      const a = attention(p, s, `${name}.self_attn`, rmsNorm(p, `${name}.input_layernorm`, x, s.rmsNormEps), rope, inputs.bias, inputs.past?.[i], hooks, inputs.presentNames?.(i));
      present.push(a.present);
      if (capture.includes(i)) attentionOut.set(i, op.reduceMean(a.probs, [1, 2], false));
      const h = op.add(x, a.out);
      return op.add(h, mlp(p, s, `${name}.mlp`, rmsNorm(p, `${name}.post_attention_layernorm`, h, s.rmsNormEps), hooks));
    });
  }
  return { hidden: rmsNorm(p, `${prefix}norm`, x, s.rmsNormEps), present, attention: attentionOut };
}
