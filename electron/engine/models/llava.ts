// LLaVA (llava-hf LlavaForConditionalGeneration) as one model, in reading
// order: the typed spec derived from config.json, the vision tower (CLIP or
// SigLIP ViT up to the selected layer), the projector, the language model
// (Llama / Mistral / Qwen2 pre-norm decoder with rotary GQA attention and a KV
// cache) with image features merged at the image tokens, and the graphs built
// from them. The text forward returns graph values, so generation, scoring and
// training (a loss composed on the logits) all differentiate and run the same
// decoder. Architecture differences come from the table in arch.ts.
// References: HF modeling_llava.py, modeling_llama.py (LlamaDecoderLayer,
// apply_rotary_pos_emb), modeling_qwen2.py, modeling_clip.py,
// modeling_siglip.py; shared/LLAVA-HF.md; nanoGPT model.py for the layout.
import { AppError } from '../../../shared/errors';
import type { Value } from '../onnx/graph';
import { Graph } from '../onnx/graph';
import * as op from '../onnx/ops';
import { VISION_ARCHS, type TextModelType, type VisionModelType } from './arch';
import { featureLayerIndices, type LlavaConfig } from './config';
import {
  addDecoderOutputs,
  cacheNames,
  causalAttention,
  decoderGraphInputs,
  embedWithImages,
  headLogits,
  targetLogprobs,
  type AttentionContext,
  type DecoderGraphOptions,
  type DecoderInputs,
  type LayerCache,
  type LayerRecord,
} from './decoder';
import type { LinearHooks } from './nn';
import { activation, layerNorm, linear, rmsNorm, staticDim } from './nn';
import type { Params, WeightSource } from './params';
import { externalParams, layerwiseParams } from './params';
import type { ComputeType } from '../weights/external';

// ---------------------------------------------------------------- spec

export interface VisionSpec {
  modelType: VisionModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  imageSize: number;
  patchSize: number;
  layerNormEps: number;
  hiddenAct: string;
}

export interface TextSpec {
  modelType: TextModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Fewer than numHeads: grouped-query attention, each kv head serving numHeads / numKvHeads query heads. */
  numKvHeads: number;
  /** Usually hiddenSize / numHeads; some configs set it apart. */
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Linear rope scaling divides positions by this (1 = none). */
  ropePositionScale: number;
  maxPositions: number;
  /** lm_head is embed_tokens (small Qwen2 models): no lm_head tensor. */
  tieWordEmbeddings: boolean;
  hiddenAct: string;
  /** Biases of q/k/v, of o and of the MLP, as the architecture table and the config decide. */
  qkvBias: boolean;
  oBias: boolean;
  mlpBias: boolean;
  /** Mistral's attention window: a query sees the last `slidingWindow` keys (itself included); null when no sequence can exceed it. */
  slidingWindow: number | null;
}

export interface LlavaSpec {
  vision: VisionSpec;
  text: TextSpec;
  imageTokenId: number;
  /** Indices into the vision hidden-states list (0 = embeddings), negative ones resolved. */
  featureLayers: number[];
  /** 'default' drops CLIP's class token from the features, 'full' keeps it. */
  selectStrategy: 'default' | 'full';
  projectorAct: string;
  projectorBias: boolean;
  /** Feature tokens one image contributes to the text sequence. */
  tokensPerImage: number;
}

/** The builders' spec from a validated config (config.ts resolved defaults and refused what is unsupported). */
export function llavaSpec(c: LlavaConfig): LlavaSpec {
  const v = c.vision_config;
  const t = c.text_config;
  const vision: VisionSpec = {
    modelType: v.model_type,
    hiddenSize: v.hidden_size,
    intermediateSize: v.intermediate_size,
    numLayers: v.num_hidden_layers,
    numHeads: v.num_attention_heads,
    imageSize: v.image_size,
    patchSize: v.patch_size,
    layerNormEps: v.layer_norm_eps,
    hiddenAct: v.hidden_act,
  };
  const text: TextSpec = {
    modelType: t.model_type,
    hiddenSize: t.hidden_size,
    intermediateSize: t.intermediate_size,
    numLayers: t.num_hidden_layers,
    numHeads: t.num_attention_heads,
    numKvHeads: t.num_key_value_heads,
    headDim: t.head_dim,
    vocabSize: t.vocab_size,
    rmsNormEps: t.rms_norm_eps,
    ropeTheta: t.rope_theta,
    ropePositionScale: t.rope_linear_factor,
    maxPositions: t.max_position_embeddings,
    tieWordEmbeddings: t.tie_word_embeddings,
    hiddenAct: t.hidden_act,
    qkvBias: t.qkv_bias,
    oBias: t.o_bias,
    mlpBias: t.mlp_bias,
    slidingWindow: t.sliding_window !== null && t.sliding_window < t.max_position_embeddings ? t.sliding_window : null,
  };
  const grid = v.image_size / v.patch_size;
  const positions = grid * grid + (VISION_ARCHS[v.model_type].classToken ? 1 : 0);
  return {
    vision,
    text,
    imageTokenId: c.image_token_index,
    featureLayers: featureLayerIndices(c),
    selectStrategy: c.vision_feature_select_strategy,
    projectorAct: c.projector_hidden_act,
    projectorBias: c.multimodal_projector_bias,
    tokensPerImage: c.vision_feature_select_strategy === 'default' ? positions - 1 : positions,
  };
}

// ---------------------------------------------------------------- vision tower

/** Where llava-hf keeps the tower (canonical names); IXC2.5 nests the same CLIP under `vit.` (ixc-vision.ts). */
export const VISION_TOWER_PREFIX = 'vision_tower.vision_model.';

/** The Conv2d patch embedding (kernel = stride = patch) as unfold + Gemm: pixels [N, 3, S, S] -> [N, P, D]. No Conv kernel nor Conv gradient needed. */
function patchEmbedding(p: Params, s: VisionSpec, pixels: Value, prefix: string): Value {
  const [n, g, k] = [staticDim(pixels, 0), s.imageSize / s.patchSize, s.patchSize];
  const name = `${prefix}embeddings.patch_embedding`;
  const unfolded = op.reshape(op.transpose(op.reshape(pixels, [n, 3, g, k, g, k]), [0, 2, 4, 1, 3, 5]), [
    n,
    g * g,
    3 * k * k,
  ]);
  const w = op.reshape(p.get(`${name}.weight`), [s.hiddenSize, 3 * k * k]);
  const bias = VISION_ARCHS[s.modelType].patchBias ? p.get(`${name}.bias`) : undefined;
  // Pixels in the weights' type (float16 under fp16 compute).
  return op.reshape(op.gemm(op.cast(op.reshape(unfolded, [-1, 3 * k * k]), w.dtype), w, bias, { transB: true }), [
    n,
    g * g,
    s.hiddenSize,
  ]);
}

/** Patches, CLIP's class token, learned positions, CLIP's pre_layrnorm: [N, 3, S, S] -> [N, P(+1), D]. */
function visionEmbeddings(p: Params, s: VisionSpec, pixels: Value, prefix: string): Value {
  const arch = VISION_ARCHS[s.modelType];
  const e = `${prefix}embeddings`;
  let x = patchEmbedding(p, s, pixels, prefix); // [N, P, D]
  if (arch.classToken) {
    const n = staticDim(pixels, 0);
    const cls = op.expand(op.reshape(p.get(`${e}.class_embedding`), [1, 1, s.hiddenSize]), [n, 1, s.hiddenSize]);
    x = op.concat([cls, x], 1); // [N, P+1, D]
  }
  x = op.add(x, p.get(`${e}.position_embedding.weight`));
  return arch.preNorm
    ? layerNorm(x, p.get(`${prefix}pre_layrnorm.weight`), p.get(`${prefix}pre_layrnorm.bias`), s.layerNormEps)
    : x;
}

const vLinear = (p: Params, name: string, x: Value): Value =>
  linear(x, p.weightFor?.(`${name}.weight`, x) ?? p.get(`${name}.weight`), p.get(`${name}.bias`), name);
const vNorm = (p: Params, name: string, x: Value, eps: number): Value =>
  layerNorm(x, p.get(`${name}.weight`), p.get(`${name}.bias`), eps);

/** Bidirectional multi-head attention with biases, scale head_dim^-0.5, softmax in float32: [N, T, D] -> [N, T, D]. */
function visionAttention(p: Params, s: VisionSpec, name: string, x: Value): Value {
  const [n, t, h] = [staticDim(x, 0), staticDim(x, 1), s.numHeads];
  const hd = s.hiddenSize / h;
  const heads = (v: Value): Value => op.transpose(op.reshape(v, [n, t, h, hd]), [0, 2, 1, 3]); // [N, H, T, hd]
  const q = heads(vLinear(p, `${name}.q_proj`, x));
  const k = heads(vLinear(p, `${name}.k_proj`, x));
  const v = heads(vLinear(p, `${name}.v_proj`, x));
  const scores = op.mul(op.matmul(q, op.transpose(k, [0, 1, 3, 2])), hd ** -0.5); // [N, H, T, T]
  const probs = op.cast(op.softmax(op.cast(scores, 'float32')), v.dtype);
  const o = op.reshape(op.transpose(op.matmul(probs, v), [0, 2, 1, 3]), [n, t, s.hiddenSize]);
  return vLinear(p, `${name}.out_proj`, o);
}

/** Pre-norm encoder layer: x + attn(ln1(x)), then + fc2(act(fc1(ln2(x)))). */
function encoderLayer(p: Params, s: VisionSpec, name: string, x: Value): Value {
  const act = activation(s.hiddenAct, 'vision_config.hidden_act');
  const a = op.add(x, visionAttention(p, s, `${name}.self_attn`, vNorm(p, `${name}.layer_norm1`, x, s.layerNormEps)));
  const h = vLinear(
    p,
    `${name}.mlp.fc2`,
    act(vLinear(p, `${name}.mlp.fc1`, vNorm(p, `${name}.layer_norm2`, a, s.layerNormEps))),
  );
  return op.add(a, h);
}

/**
 * The tower's hidden states at `layers` (0 = embeddings, i = output of layer i; post_layernorm never
 * applies), computing no layer beyond the deepest asked for. pixels [N, 3, S, S] -> each [N, T, D].
 * `prefix` is where the checkpoint keeps the tower's tensors.
 */
export function visionHiddenStates(
  p: Params,
  s: VisionSpec,
  pixels: Value,
  layers: readonly number[],
  prefix = VISION_TOWER_PREFIX,
): Value[] {
  const want = pixels.shape.slice(1);
  if (want.length !== 3 || want[0] !== 3 || want[1] !== s.imageSize || want[2] !== s.imageSize) {
    throw new AppError('internal', `vision tower expects pixels [N, 3, ${s.imageSize}, ${s.imageSize}], got ${pixels}`);
  }
  const states = [visionEmbeddings(p, s, pixels, prefix)];
  const deepest = Math.max(...layers);
  for (let i = 0; i < deepest; i++) {
    states.push(p.graph.withScope(`vision${i}`, () => encoderLayer(p, s, `${prefix}encoder.layers.${i}`, states[i]!)));
  }
  return layers.map((l) => states[l]!);
}

/** multi_modal_projector: linear_1 -> act -> linear_2 ("mlp2x_gelu"), or linear_1 alone without linear_2 ("linear"). */
function project(p: Params, spec: LlavaSpec, features: Value): Value {
  const m = 'multi_modal_projector.';
  const lin = (name: string, x: Value): Value =>
    linear(
      x,
      p.weightFor?.(`${m}${name}.weight`, x) ?? p.get(`${m}${name}.weight`),
      spec.projectorBias ? p.get(`${m}${name}.bias`) : undefined,
      `${m}${name}`,
    );
  const h = lin('linear_1', features);
  if (!p.has(`${m}linear_2.weight`)) return h;
  return lin('linear_2', activation(spec.projectorAct, 'projector_hidden_act')(h));
}

/** pixels [N, 3, S, S] -> projected image features [N, F, text hidden]: the selected layers and strategy, then the projector. */
export function imageFeatures(p: Params, spec: LlavaSpec, pixels: Value): Value {
  const states = visionHiddenStates(p, spec.vision, pixels, spec.featureLayers);
  const selected = states.length === 1 ? states[0]! : op.concat(states, -1); // [N, T, D * layers]
  const features =
    spec.selectStrategy === 'default' ? op.slice(selected, [1], [Number.MAX_SAFE_INTEGER], [1]) : selected;
  return project(p, spec, features);
}

/**
 * pixel_values [N, 3, S, S] -> float32 image_features [N, F, text hidden], N fixed per graph; the tower computes in
 * `compute`. `layerwise`: fp16 weights cast to float32 as each layer runs (layerwiseParams; the session must not
 * fold constants), so no float32 copy of the whole tower exists.
 */
export function buildVisionGraph(
  spec: LlavaSpec,
  source: WeightSource,
  images = 1,
  compute: ComputeType = 'float32',
  layerwise = false,
): Graph {
  const g = new Graph('llava_vision');
  const p = layerwise && compute === 'float32' ? layerwiseParams(g, source) : externalParams(g, source, compute);
  const s = spec.vision.imageSize;
  const pixels = g.input('pixel_values', 'float32', [images, 3, s, s]);
  g.output(op.cast(imageFeatures(p, spec, pixels), 'float32'), 'image_features');
  return g;
}

// ---------------------------------------------------------------- language model

/** Canonical prefix of the decoder's tensors. */
export const LM = 'language_model.model.';

export { cacheNames, type LayerCache } from './decoder';

/** What a decoder layer reads besides its input: rope, bias, cache (decoder.ts) and the linear layers' hooks. */
export interface LayerContext extends AttentionContext {
  hooks: LinearHooks;
}

const tLinear = (p: Params, name: string, x: Value, bias: boolean, hooks: LinearHooks): Value =>
  linear(
    x,
    p.weightFor?.(`${name}.weight`, x) ?? p.get(`${name}.weight`),
    bias ? p.get(`${name}.bias`) : undefined,
    name,
    hooks,
  );

/** Causal self-attention with rotary positions and GQA over x [B, T, D]; returns the output, the extended cache and the probabilities. */
function attention(
  p: Params,
  s: TextSpec,
  name: string,
  x: Value,
  c: LayerContext,
): { out: Value; present: LayerCache; probs: Value } {
  const [b, kv, hd] = [staticDim(x, 0), s.numKvHeads, s.headDim];
  const rep = s.numHeads / kv;
  // Queries grouped by the kv head they share: [B, kvH, rep, T, hd]; GQA then needs no repeat of K/V.
  const q5 = op.transpose(
    op.reshape(tLinear(p, `${name}.q_proj`, x, s.qkvBias, c.hooks), [b, -1, kv, rep, hd]),
    [0, 2, 3, 1, 4],
  );
  const k4 = op.transpose(
    op.reshape(tLinear(p, `${name}.k_proj`, x, s.qkvBias, c.hooks), [b, -1, kv, hd]),
    [0, 2, 1, 3],
  ); // [B, kvH, T, hd]
  const v4 = op.transpose(
    op.reshape(tLinear(p, `${name}.v_proj`, x, s.qkvBias, c.hooks), [b, -1, kv, hd]),
    [0, 2, 1, 3],
  ); // [B, kvH, T, hd]
  const { merged, present, probs } = causalAttention(q5, k4, v4, c);
  return { out: tLinear(p, `${name}.o_proj`, merged, s.oBias, c.hooks), present, probs };
}

/** SiLU-gated MLP: down(act(gate(x)) * up(x)), [B, T, D] -> [B, T, D]. */
function mlp(p: Params, s: TextSpec, name: string, x: Value, hooks: LinearHooks): Value {
  const act = activation(s.hiddenAct, 'text_config.hidden_act');
  const gated = op.mul(
    act(tLinear(p, `${name}.gate_proj`, x, s.mlpBias, hooks)),
    tLinear(p, `${name}.up_proj`, x, s.mlpBias, hooks),
  ); // [B, T, I]
  return tLinear(p, `${name}.down_proj`, gated, s.mlpBias, hooks);
}

/** One pre-norm decoder layer: x + attn(rms(x)), then + mlp(rms(x)). x [B, T, D]. */
export function decoderLayer(
  p: Params,
  s: TextSpec,
  i: number,
  x: Value,
  c: LayerContext,
): { x: Value; present: LayerCache; probs: Value } {
  const name = `${LM}layers.${i}`;
  const a = attention(p, s, `${name}.self_attn`, rmsNorm(x, p.get(`${name}.input_layernorm.weight`), s.rmsNormEps), c);
  const h = op.add(x, a.out);
  const y = op.add(
    h,
    mlp(p, s, `${name}.mlp`, rmsNorm(h, p.get(`${name}.post_attention_layernorm.weight`), s.rmsNormEps), c.hooks),
  );
  return { x: y, present: a.present, probs: a.probs };
}

/** The language model's inputs as graph values (decoder.ts). */
export type TextInputs = DecoderInputs;

export interface TextForwardOptions {
  /** Decoder layers whose head-averaged attention probabilities are returned. */
  capture?: readonly number[];
  /** Extra branches of linear layers, e.g. unmerged LoRA (lora.ts loraBranch, whose A/B values are trainable). */
  hooks?: LinearHooks;
  /** Names for the extended caches' values (see LayerContext.presentName). */
  presentNames?: (layer: number) => { keyT: string; value: string };
}

export interface TextOutputs {
  /** After the final norm [B, T, D]; logits and log-probs are composed on it (lmHead, tokenLogprobs). */
  hidden: Value;
  /** The extended cache per layer. */
  present: LayerCache[];
  /** Per captured layer: attention probabilities averaged over heads [B, T, Tk]. */
  attention: Map<number, Value>;
  /** Per decoder layer, its input, output and the nodes built for it (a train graph recomputes them: checkpointing). */
  layers: LayerRecord[];
}

/**
 * The host's causal/padding bias [B, T, Tk] with keys `window` or more positions behind the query
 * masked too (transformers' sliding_window_overlay: key k visible to query q iff q - k < window). The
 * T queries are the last T of the Tk cache entries, and index distance is position distance (left
 * padding). Indices come from CumSum over the bias's shape, not Shape/Range, which WebGPU runs on CPU.
 */
function slidingWindowBias(bias: Value, window: number): Value {
  const ones = op.add(op.mul(bias, 0), 1); // [B, T, Tk]
  const query = op.add(op.cumSum(ones, 1), op.sub(op.reduceSum(ones, [2]), op.reduceSum(ones, [1]))); // cache index of the query, 1-based
  const far = op.greaterOrEqual(op.sub(query, op.cumSum(ones, 2)), window); // q - k >= window
  return op.where(far, -1e30, bias);
}

/** The LLaVA language model over merged text and image embeddings: every layer and the final norm, as graph values. */
export function llavaTextForward(p: Params, spec: LlavaSpec, x: TextInputs, o: TextForwardOptions = {}): TextOutputs {
  const s = spec.text;
  const capture = o.capture ?? [];
  const hooks = o.hooks ?? {};
  const present: LayerCache[] = [];
  const attn = new Map<number, Value>();
  const layers: TextOutputs['layers'] = [];
  const bias = s.slidingWindow === null ? x.bias : slidingWindowBias(x.bias, s.slidingWindow);
  const table = `${LM}embed_tokens.weight`;
  let h = embedWithImages(p.stored?.(table) ?? p.get(table), x); // [B, T, D]
  for (let i = 0; i < s.numLayers; i++) {
    const [input, from] = [h, p.graph.nodes.length];
    h = p.graph.withScope(`layer${i}`, () => {
      const past = x.past?.[i];
      const presentName = o.presentNames?.(i);
      const l = decoderLayer(p, s, i, h, {
        rope: x.rope,
        bias,
        hooks,
        ...(past ? { past } : {}),
        ...(presentName ? { presentName } : {}),
      });
      present.push(l.present);
      if (capture.includes(i)) attn.set(i, op.reduceMean(l.probs, [1, 2], false)); // [B, T, Tk]
      return l.x;
    });
    layers.push({ input, output: h, nodes: p.graph.nodes.slice(from) });
  }
  return { hidden: rmsNorm(h, p.get(`${LM}norm.weight`), s.rmsNormEps), present, attention: attn, layers };
}

/** hidden [B, T, D] -> logits [B, T, V] through lm_head (or embed_tokens when tied). */
export function lmHead(p: Params, spec: LlavaSpec, hidden: Value): Value {
  const head =
    spec.text.tieWordEmbeddings || !p.has('language_model.lm_head.weight')
      ? `${LM}embed_tokens`
      : 'language_model.lm_head';
  return headLogits(p.stored?.(`${head}.weight`) ?? p.get(`${head}.weight`), hidden, spec.text);
}

/** log p(targets[b, t] | tokens up to t) [B, T]: the scoring output, and what a DPO or SFT loss sums. */
export function tokenLogprobs(p: Params, spec: LlavaSpec, hidden: Value, targets: Value): Value {
  return targetLogprobs(lmHead(p, spec, hidden), targets);
}

// ---------------------------------------------------------------- graphs

/** The graph builder's options (decoder.ts, shared with the IXC2.5 decoder). */
export type TextGraphOptions = DecoderGraphOptions;

/**
 * The text graph's named inputs: input_ids, rope_cos/rope_sin, attention_bias, the past cache
 * (decode mode), image_features and feature_index. The sequence axis is symbolic unless `seq` fixes
 * it (a train step: gradients of static shapes need no runtime Shape nodes, which WebGPU places on CPU).
 * `computedFeatures`, when given, replaces the image_features input (rows computed in the graph: full SFT
 * runs the tower and projector in the same graph).
 */
export function textGraphInputs(
  g: Graph,
  spec: LlavaSpec,
  batch: number,
  mode: 'prefill' | 'decode',
  seq: number | 'seq' = 'seq',
  computedFeatures?: Value,
  compute: ComputeType = 'float32',
  cacheType: ComputeType = compute,
): TextInputs {
  return decoderGraphInputs(g, spec.text, batch, mode, seq, computedFeatures, compute, cacheType);
}

/** The generation step / scoring graph over the text forward. */
export function buildTextGraph(spec: LlavaSpec, source: WeightSource, o: TextGraphOptions): Graph {
  const g = new Graph(`llava_text_${o.mode}`);
  const compute = o.compute ?? 'float32';
  const p = o.params ? o.params(g) : externalParams(g, source, compute);
  const inputs = textGraphInputs(g, spec, o.batch, o.mode, 'seq', undefined, compute, o.cacheType ?? compute);
  const hooks = o.hooks?.(g);
  const out = llavaTextForward(p, spec, inputs, {
    capture: o.capture,
    ...(hooks ? { hooks } : {}),
    ...(o.cache ? { presentNames: (i: number) => cacheNames(i, 'present') } : {}),
  });
  addDecoderOutputs(g, o, out, (h) => lmHead(p, spec, h));
  return g;
}
