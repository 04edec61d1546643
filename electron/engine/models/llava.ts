// LLaVA assembly: the vision graph (tower up to the selected layer, class
// token kept or dropped, projector) and the language-model graphs (prefill
// with image features merged at the <image> tokens, decode step with a KV
// cache, scoring) built from one LlavaSpec over the user's safetensors.
// Reference: HF modeling_llava.py (get_image_features, merge at image tokens).
import type { Value } from '../onnx/graph';
import { Graph } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { LayerCache } from './decoder';
import { decoder } from './decoder';
import type { LinearHooks } from './layers';
import type { Params, WeightSource } from './params';
import { externalParams } from './params';
import { project } from './projector';
import type { LlavaSpec } from './spec';
import { visionHiddenStates } from './vit';

const LM = 'language_model.';

/** pixel_values [N, 3, S, S] -> image_features [N, F, text hidden], N fixed per graph. */
export function buildVisionGraph(spec: LlavaSpec, source: WeightSource, images = 1): Graph {
  const g = new Graph('llava_vision');
  const p = externalParams(g, source);
  const s = spec.vision.imageSize;
  const pixels = g.input('pixel_values', 'float32', [images, 3, s, s]);
  const states = visionHiddenStates(p, spec.vision, pixels, spec.featureLayers);
  const selected = states.length === 1 ? states[0]! : op.concat(states, -1);
  const features = spec.selectStrategy === 'default' ? op.slice(selected, [1], [Number.MAX_SAFE_INTEGER], [1]) : selected;
  g.output(project(p, spec.projectorAct, features), 'image_features');
  return g;
}

export interface TextGraphOptions {
  /** Static batch size of the graph. */
  batch: number;
  /**
   * 'prefill': a whole sequence, no cache (scoring). 'decode': extends a cache by new tokens, images
   * included, so generation runs its prefill as a step on an empty cache and one session (one copy
   * of the weights) serves both.
   */
  mode: 'prefill' | 'decode';
  /** 'last': logits of the last position; 'all': every position; 'targets': log-probs of given next tokens. */
  output: 'last' | 'all' | 'targets';
  /** Whether the graph returns the KV cache (generation) or not (scoring). */
  cache: boolean;
  /** Decoder layers whose head-averaged attention (of the last query) is an output `attention_<layer>`. */
  capture: readonly number[];
  /** Extra branches of linear layers (unmerged LoRA), created in the graph being built. */
  hooks?: (g: Graph) => LinearHooks;
  /** Weights by canonical name; defaults to external initializers from the source. */
  params?: (g: Graph) => Params;
}

export const cacheNames = (i: number, dir: 'past' | 'present'): { keyT: string; value: string } => ({
  keyT: `${dir}_key_${i}`,
  value: `${dir}_value_${i}`,
});

/**
 * Token embeddings with image features written where `feature_index` >= 0
 * (HF's masked_scatter at the image tokens; -1 marks text). The mask comes from
 * the index, not the ids, so a generated image-token id embeds as text.
 */
function mergedEmbeddings(g: Graph, p: Params, spec: LlavaSpec, ids: Value, b: number): Value {
  const table = p.get(`${LM}model.embed_tokens.weight`);
  const features = g.input('image_features', 'float32', ['feature_rows', spec.text.hiddenSize]);
  const featureIndex = g.input('feature_index', 'int32', [b, 'seq']);
  const isImage = op.greaterOrEqual(featureIndex, 0);
  const embeds = op.gather(table, op.where(isImage, 0, ids)); // [B, T, D]; image ids may lie outside the vocabulary
  return op.where(op.unsqueeze(isImage, [2]), op.gather(features, op.max(featureIndex, 0)), embeds);
}

function logitsOf(p: Params, spec: LlavaSpec, hidden: Value): Value {
  const head = spec.text.tieWordEmbeddings || !p.has(`${LM}lm_head.weight`) ? `${LM}model.embed_tokens` : `${LM}lm_head`;
  const w = p.get(`${head}.weight`); // [V, D]
  const b = hidden.shape[0] as number;
  const flat = op.gemm(op.reshape(hidden, [-1, spec.text.hiddenSize]), w, undefined, { transB: true });
  return op.reshape(flat, p.graph.constant([b, -1, spec.text.vocabSize], 'int64', [3]), [b, hidden.shape[1]!, spec.text.vocabSize]);
}

export function buildTextGraph(spec: LlavaSpec, source: WeightSource, o: TextGraphOptions): Graph {
  const g = new Graph(`llava_text_${o.mode}`);
  const p = o.params ? o.params(g) : externalParams(g, source);
  const t = spec.text;
  const b = o.batch;
  const ids = g.input('input_ids', 'int32', [b, 'seq']);
  const rope = { cos: g.input('rope_cos', 'float32', [b, 'seq', t.headDim]), sin: g.input('rope_sin', 'float32', [b, 'seq', t.headDim]) };
  const keyDim = o.mode === 'prefill' ? 'seq' : 'past+seq';
  const bias = g.input('attention_bias', 'float32', [b, 'seq', keyDim]);
  const past: LayerCache[] | undefined =
    o.mode === 'decode'
      ? Array.from({ length: t.numLayers }, (_, i) => ({
          keyT: g.input(cacheNames(i, 'past').keyT, 'float32', [b, t.numKvHeads, t.headDim, 'past']),
          value: g.input(cacheNames(i, 'past').value, 'float32', [b, t.numKvHeads, 'past', t.headDim]),
        }))
      : undefined;
  const embeds = mergedEmbeddings(g, p, spec, ids, b);
  const presentNames = o.cache ? { presentNames: (i: number) => cacheNames(i, 'present') } : {};
  const out = decoder(p, t, { embeds, rope, bias, ...(past ? { past } : {}), ...presentNames }, o.capture, o.hooks?.(g));
  const last = (v: Value): Value => op.slice(v, [-1], [Number.MAX_SAFE_INTEGER], [1]);
  if (o.output === 'targets') {
    const targets = g.input('targets', 'int32', [b, 'seq']);
    const logp = op.logSoftmax(logitsOf(p, spec, out.hidden), -1);
    g.output(op.squeeze(op.gatherElements(logp, op.unsqueeze(targets, [2]), 2), [2]), 'token_logprobs');
  } else {
    g.output(logitsOf(p, spec, o.output === 'last' ? last(out.hidden) : out.hidden), 'logits');
  }
  if (o.cache) {
    out.present.forEach((c, i) => {
      g.output(c.keyT, cacheNames(i, 'present').keyT);
      g.output(c.value, cacheNames(i, 'present').value);
    });
  }
  for (const [layer, a] of out.attention) g.output(last(a), `attention_${layer}`);
  return g;
}
