// InternLM-XComposer-2.5's language model as one model file, in reading order:
// the typed spec from config.json, the rotary tables (dynamic NTK computed on
// the host per call), Partial LoRA linears (the image-row adapter inside every
// linear layer), InternLM2's attention with the packed GQA `wqkv`, the SiLU
// MLP, the decoder layer, the forward over token embeddings with image rows
// written in, and the generation / scoring graph. The named inputs and outputs
// are decoder.ts's, the same as llava.ts's, so one generate/score machinery
// drives both; an unmerged LoRA (lora.ts hooks, targets wqkv, wo, w1, w2, w3)
// adds to every row on top of PLoRA, as the official fine-tuning does.
// References: the official remote code modeling_internlm2.py (InternLM2Attention,
// InternLM2MLP, InternLM2DecoderLayer, InternLM2Model, the rotary classes) and
// build_mlp.py (PLoRA); shared/IXC25.md; docs/decisions/0720-ixc-decoder.md.
import { AppError } from '../../../shared/errors';
import { IXC_TRAIN_LORA_TARGETS } from '../../../shared/pipeline/train';
import { Graph, type Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { IxcConfig, IxcRopeScaling } from './config-ixc';
import {
  addDecoderOutputs,
  cacheNames,
  causalAttention,
  decoderGraphInputs,
  embedWithImages,
  headLogits,
  imageRows,
  targetLogprobs,
  type AttentionContext,
  type DecoderDims,
  type DecoderGraphOptions,
  type DecoderInputs,
  type LayerCache,
  type LayerRecord,
} from './decoder';
import type { LinearHooks } from './nn';
import { linear, rmsNorm, rotaryTables, silu, staticDim } from './nn';
import type { Params, WeightSource } from './params';
import { externalParams } from './params';

// ---------------------------------------------------------------- spec

export interface IxcSpec extends DecoderDims {
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** 'dynamic' NTK grows the base once a call's total length passes maxPositions; 'linear' divides positions. */
  ropeScaling: IxcRopeScaling;
  maxPositions: number;
  /** wqkv and wo carry a bias (config `bias`; the release has none). */
  bias: boolean;
  /** Partial LoRA rank (256 in the release); its scale is 1 (the remote code hard-codes alpha = r = 256). */
  ploraRank: number;
}

/** The builders' spec from a validated config (config-ixc.ts) and the PLoRA rank the checkpoint holds. */
export function ixcSpec(c: IxcConfig, ploraRank: number): IxcSpec {
  return {
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads: c.num_key_value_heads,
    headDim: c.head_dim,
    vocabSize: c.vocab_size,
    rmsNormEps: c.rms_norm_eps,
    ropeTheta: c.rope_theta,
    ropeScaling: c.rope_scaling,
    maxPositions: c.max_position_embeddings,
    bias: c.bias,
    ploraRank,
  };
}

// ---------------------------------------------------------------- rotary

/**
 * The rotary base for a call whose cache plus new tokens make `total` positions. Dynamic NTK (the
 * remote code's InternLM2DynamicNTKScalingRotaryEmbedding on a fresh model): past max_position_embeddings
 * the base becomes theta (f total / max - (f - 1))^(hd / (hd - 2)), and the call's new tokens are
 * rotated with it while cached keys keep the rotation they got. The remote object also keeps the grown
 * table for later, shorter calls (state across prompts); we do not: every call depends only on its total.
 */
export function ixcRopeBase(s: IxcSpec, total: number): number {
  const r = s.ropeScaling;
  if (r.type !== 'dynamic' || total <= s.maxPositions) return s.ropeTheta;
  return s.ropeTheta * ((r.factor * total) / s.maxPositions - (r.factor - 1)) ** (s.headDim / (s.headDim - 2));
}

/**
 * cos and sin [positions.length, headDim] for the new tokens of a call reaching `total` positions
 * (cache + new), in float64 on the host (nn.rotaryTables). Positions are not divided by dynamic NTK;
 * 'linear' divides them by its factor.
 */
export function ixcRotaryTables(
  s: IxcSpec,
  positions: readonly number[],
  total: number,
): { cos: Float32Array; sin: Float32Array } {
  const past = positions.length === 0 ? 0 : Math.max(...positions) + 1;
  if (total < past)
    throw new AppError('internal', `rotary tables: total length ${total} is shorter than position ${past - 1}`);
  return rotaryTables(
    {
      headDim: s.headDim,
      ropeTheta: ixcRopeBase(s, total),
      ropePositionScale: s.ropeScaling.type === 'linear' ? s.ropeScaling.factor : 1,
    },
    positions,
  );
}

// ---------------------------------------------------------------- PLoRA linears

/** What a layer reads besides its input: rope, bias, cache (decoder.ts), the image-row mask, the hooks. */
interface IxcLayerContext extends AttentionContext {
  /** 1 at image rows (separators included), 0 at text and generated tokens [B, T, 1] float32. */
  imMask: Value;
  hooks: LinearHooks;
}

/**
 * The remote code's PLoRA linear: y = W x (+ b), plus Plora_B(Plora_A(x)) (scale 1) on image rows only.
 * The branch runs on the masked input (x zeroed at text rows, so it adds exactly 0 there) rather than on
 * gathered rows: no data-dependent shapes, and the same graph serves prefill and decode. The LoRA hook of
 * `name` (lora.ts) adds to every row.
 */
function ploraLinear(p: Params, name: string, x: Value, bias: boolean, c: IxcLayerContext): Value {
  const w = p.weightFor?.(`${name}.weight`, x) ?? p.get(`${name}.weight`);
  const y = linear(x, w, bias ? p.get(`${name}.bias`) : undefined, name, c.hooks); // [B, T, out]
  const masked = op.mul(x, c.imMask);
  const down = linear(masked, p.get(`${name}.Plora_A.weight`), undefined, `${name}.Plora_A`); // [B, T, r]
  return op.add(y, linear(down, p.get(`${name}.Plora_B.weight`), undefined, `${name}.Plora_B`));
}

// ---------------------------------------------------------------- decoder

/**
 * InternLM2 attention over x [B, T, D]. `wqkv` is packed per kv head g: rows [q heads g*rep..g*rep+rep-1,
 * k head g, v head g], hd each; viewing its output as [B, T, kvH, rep + 2, hd] and splitting the fourth
 * axis gives queries already grouped by their kv head ([B, kvH, rep, T, hd] after a transpose), which is
 * the layout causalAttention takes, and merging back gives query head g*rep + j, as the remote code's
 * rearrange "b q (h gs d)" does.
 */
function attention(
  p: Params,
  s: IxcSpec,
  name: string,
  x: Value,
  c: IxcLayerContext,
): { out: Value; present: LayerCache; probs: Value } {
  const [b, kv, hd] = [staticDim(x, 0), s.numKvHeads, s.headDim];
  const rep = s.numHeads / kv;
  const qkv = op.reshape(ploraLinear(p, `${name}.wqkv`, x, s.bias, c), [b, -1, kv, rep + 2, hd]); // [B, T, kvH, rep+2, hd]
  const [q, k, v] = op.split(qkv, [rep, 1, 1], 3) as [Value, Value, Value];
  const q5 = op.transpose(q, [0, 2, 3, 1, 4]); // [B, kvH, rep, T, hd]
  const k4 = op.transpose(op.squeeze(k, [3]), [0, 2, 1, 3]); // [B, kvH, T, hd]
  const v4 = op.transpose(op.squeeze(v, [3]), [0, 2, 1, 3]); // [B, kvH, T, hd]
  const { merged, present, probs } = causalAttention(q5, k4, v4, c);
  return { out: ploraLinear(p, `${name}.wo`, merged, s.bias, c), present, probs };
}

/** feed_forward: w2(silu(w1 x) * w3 x), each a PLoRA linear without bias. */
function feedForward(p: Params, name: string, x: Value, c: IxcLayerContext): Value {
  const gated = op.mul(silu(ploraLinear(p, `${name}.w1`, x, false, c)), ploraLinear(p, `${name}.w3`, x, false, c)); // [B, T, I]
  return ploraLinear(p, `${name}.w2`, gated, false, c);
}

/** One pre-norm layer: x + attention(attention_norm(x)), then + feed_forward(ffn_norm(x)). x [B, T, D]. */
function decoderLayer(
  p: Params,
  s: IxcSpec,
  i: number,
  x: Value,
  c: IxcLayerContext,
): { x: Value; present: LayerCache; probs: Value } {
  const name = `model.layers.${i}`;
  const a = attention(p, s, `${name}.attention`, rmsNorm(x, p.get(`${name}.attention_norm.weight`), s.rmsNormEps), c);
  const h = op.add(x, a.out);
  const y = op.add(
    h,
    feedForward(p, `${name}.feed_forward`, rmsNorm(h, p.get(`${name}.ffn_norm.weight`), s.rmsNormEps), c),
  );
  return { x: y, present: a.present, probs: a.probs };
}

export interface IxcForwardOptions {
  /** Decoder layers whose attention probabilities, averaged over the query heads, are returned. */
  capture?: readonly number[];
  /** Extra branches of linear layers, e.g. unmerged LoRA (lora.ts loraBranch over ixcLoraModules). */
  hooks?: LinearHooks;
  /** Names for the extended caches' values (graph outputs without an Identity copy). */
  presentNames?: (layer: number) => { keyT: string; value: string };
}

export interface IxcOutputs {
  /** After the final norm [B, T, D]; logits and log-probs are composed on it. */
  hidden: Value;
  present: LayerCache[];
  /** Per captured layer: probabilities averaged over the query heads [B, T, Tk]. */
  attention: Map<number, Value>;
  /** Per decoder layer, its input, output and nodes (a train graph recomputes them: checkpointing, QLoRA). */
  layers: LayerRecord[];
}

/**
 * The IXC2.5 language model: token embeddings with the image rows (vision_proj output, separators
 * included) written where `featureIndex` >= 0, every layer and the final norm. im_mask is derived from
 * the same index, so image rows get PLoRA and text or generated tokens never do (as decode steps, which
 * embed ids, reset the mask in the remote code).
 */
export function ixcTextForward(p: Params, s: IxcSpec, x: DecoderInputs, o: IxcForwardOptions = {}): IxcOutputs {
  const capture = o.capture ?? [];
  const imMask = op.unsqueeze(op.cast(imageRows(x), 'float32'), [2]); // [B, T, 1]
  const present: LayerCache[] = [];
  const attn = new Map<number, Value>();
  const layers: LayerRecord[] = [];
  let h = embedWithImages(p.get('model.tok_embeddings.weight'), x); // [B, T, D]
  for (let i = 0; i < s.numLayers; i++) {
    const [input, from] = [h, p.graph.nodes.length];
    h = p.graph.withScope(`layer${i}`, () => {
      const past = x.past?.[i];
      const presentName = o.presentNames?.(i);
      const l = decoderLayer(p, s, i, h, {
        rope: x.rope,
        bias: x.bias,
        imMask,
        hooks: o.hooks ?? {},
        ...(past ? { past } : {}),
        ...(presentName ? { presentName } : {}),
      });
      present.push(l.present);
      if (capture.includes(i)) attn.set(i, op.reduceMean(l.probs, [1, 2], false)); // [B, T, Tk]
      return l.x;
    });
    layers.push({ input, output: h, nodes: p.graph.nodes.slice(from) });
  }
  return { hidden: rmsNorm(h, p.get('model.norm.weight'), s.rmsNormEps), present, attention: attn, layers };
}

/** hidden [B, T, D] -> logits [B, T, V] through `output` (the checkpoint resolves it to the embeddings when tied). */
export function ixcLogits(p: Params, s: IxcSpec, hidden: Value): Value {
  return headLogits(p.get('output.weight'), hidden, s);
}

/** log p(targets[b, t] | tokens up to t) [B, T]: scoring, and what a DPO loss sums. */
export function ixcTokenLogprobs(p: Params, s: IxcSpec, hidden: Value, targets: Value): Value {
  return targetLogprobs(ixcLogits(p, s, hidden), targets);
}

// ---------------------------------------------------------------- graphs

/**
 * The generation step / scoring graph, with llava.ts's named inputs and outputs (decoder.ts):
 * input_ids, rope_cos / rope_sin (ixcRotaryTables, per row), attention_bias, past_* (decode mode),
 * image_features [rows, D] and feature_index; logits / token_logprobs, present_*, attention_<layer>.
 */
export function buildIxcTextGraph(s: IxcSpec, source: WeightSource, o: DecoderGraphOptions): Graph {
  const g = new Graph(`ixc_text_${o.mode}`);
  const p = o.params ? o.params(g) : externalParams(g, source);
  const inputs = decoderGraphInputs(g, s, o.batch, o.mode);
  const hooks = o.hooks?.(g);
  const out = ixcTextForward(p, s, inputs, {
    capture: o.capture,
    ...(hooks ? { hooks } : {}),
    ...(o.cache ? { presentNames: (i: number) => cacheNames(i, 'present') } : {}),
  });
  addDecoderOutputs(g, o, out, (h) => ixcLogits(p, s, h));
  return g;
}

// ---------------------------------------------------------------- LoRA

/** LoRA targets of the official fine-tuning (finetune.py: attention.wqkv, attention.wo, feed_forward.w1, w2, w3). */
export const IXC_LORA_TARGETS = IXC_TRAIN_LORA_TARGETS;
export type IxcLoraTarget = (typeof IXC_LORA_TARGETS)[number];

/** `target_modules` of an exported adapter: the official finetune.py's list (lora_target_modules). */
export const IXC_PEFT_TARGET_MODULES: Record<IxcLoraTarget, string> = {
  wqkv: 'attention.wqkv',
  wo: 'attention.wo',
  w1: 'feed_forward.w1',
  w2: 'feed_forward.w2',
  w3: 'feed_forward.w3',
};

/** The modules a target list selects (names as the graph's linear layers carry them), with their [out, in] sizes. */
export function ixcLoraModules(
  s: IxcSpec,
  targets: readonly string[],
): { module: string; inFeatures: number; outFeatures: number }[] {
  const size: Record<IxcLoraTarget, [string, number, number]> = {
    wqkv: ['attention', (s.numHeads + 2 * s.numKvHeads) * s.headDim, s.hiddenSize],
    wo: ['attention', s.hiddenSize, s.numHeads * s.headDim],
    w1: ['feed_forward', s.intermediateSize, s.hiddenSize],
    w3: ['feed_forward', s.intermediateSize, s.hiddenSize],
    w2: ['feed_forward', s.hiddenSize, s.intermediateSize],
  };
  for (const t of targets) {
    if (!Object.hasOwn(size, t)) {
      throw new AppError(
        'unsupported',
        `LoRA target "${t}" is not an InternLM-XComposer-2.5 target; supported: ${IXC_LORA_TARGETS.join(', ')}`,
        { subject: 'targets' },
      );
    }
  }
  return Array.from({ length: s.numLayers }, (_, i) =>
    (targets as IxcLoraTarget[]).map((t) => {
      const [block, out, inF] = size[t];
      return { module: `model.layers.${i}.${block}.${t}`, inFeatures: inF, outFeatures: out };
    }),
  ).flat();
}
