// What every decoder-only language model of the engine shares, whatever its
// tensor names: the graph's named inputs (ids, host rotary tables, attention
// bias, KV cache, image rows and their index), image rows written over token
// embeddings, causal GQA attention through the cache, the LM head and token
// log-probs, and the outputs of a generation / scoring graph. The model files
// (llava.ts, ixc.ts) build their layers around these, so generate/score drive
// either family through the same named inputs and outputs.
import type { Graph, Node, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { LinearHooks } from './nn';
import { rotary, staticDim } from './nn';
import type { Params } from './params';
import type { ComputeType } from '../weights/external';

/** One decoder layer of a forward: its input, output and the nodes built for it (a train graph recomputes them: checkpointing, QLoRA). */
export interface LayerRecord {
  input: Value;
  output: Value;
  nodes: readonly Node[];
}

/** The sizes the shared decoder plumbing needs (a llava TextSpec and an IxcSpec are both one). */
export interface DecoderDims {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
}

/** One layer's cache: keys stored transposed [B, kvH, hd, Tk] so decode steps never transpose it; values [B, kvH, Tk, hd]. */
export interface LayerCache {
  keyT: Value;
  value: Value;
}

export const cacheNames = (i: number, dir: 'past' | 'present'): { keyT: string; value: string } => ({
  keyT: `${dir}_key_${i}`,
  value: `${dir}_value_${i}`,
});

/** The decoder's inputs as graph values. */
export interface DecoderInputs {
  ids: Value; // [B, T] int32
  /** Image rows stacked over the batch's images [rows, D]. */
  features: Value;
  /** Per position the row of `features` to embed (-1: a text token) [B, T] int32. */
  featureIndex: Value;
  rope: { cos: Value; sin: Value }; // [B, T, hd]
  bias: Value; // [B, T, Tk]
  /** Per layer, the cache this step extends (decode mode). */
  past?: readonly LayerCache[];
  /** The type the layers compute in (default float32). */
  compute?: ComputeType;
}

/**
 * The graph's named inputs: input_ids, rope_cos/rope_sin, attention_bias, the past cache (decode
 * mode), image_features and feature_index. The sequence axis is symbolic unless `seq` fixes it (a
 * train step: gradients of static shapes need no runtime Shape nodes, which WebGPU places on CPU).
 */
export function decoderGraphInputs(
  g: Graph,
  d: DecoderDims,
  batch: number,
  mode: 'prefill' | 'decode',
  seq: number | 'seq' = 'seq',
  /** Image rows computed in the same graph (a full-model train step) instead of the `image_features` input. */
  computedFeatures?: Value,
  /** The type the layers compute in; the other inputs stay float32 (cast in the graph). */
  compute: ComputeType = 'float32',
  /** The KV cache's type (default the compute type; float16 under float32 compute halves the cache). */
  cacheType: ComputeType = compute,
): DecoderInputs {
  const b = batch;
  const ids = g.input('input_ids', 'int32', [b, seq]);
  const rope = {
    cos: g.input('rope_cos', 'float32', [b, seq, d.headDim]),
    sin: g.input('rope_sin', 'float32', [b, seq, d.headDim]),
  };
  const bias = g.input('attention_bias', 'float32', [b, seq, mode === 'prefill' ? seq : 'past+seq']);
  const past =
    mode === 'decode'
      ? Array.from({ length: d.numLayers }, (_, i) => ({
          keyT: g.input(cacheNames(i, 'past').keyT, cacheType, [b, d.numKvHeads, d.headDim, 'past']),
          value: g.input(cacheNames(i, 'past').value, cacheType, [b, d.numKvHeads, 'past', d.headDim]),
        }))
      : undefined;
  const features = computedFeatures ?? g.input('image_features', 'float32', ['feature_rows', d.hiddenSize]);
  const featureIndex = g.input('feature_index', 'int32', [b, seq]);
  return { ids, rope, bias, features, featureIndex, compute, ...(past ? { past } : {}) };
}

/** Where a position holds an image row [B, T] bool: from the index, not the ids, so a generated image-token id is text. */
export const imageRows = (x: Pick<DecoderInputs, 'featureIndex'>): Value => op.greaterOrEqual(x.featureIndex, 0);

/**
 * Token embeddings from `table` [V, D] with image rows written where `featureIndex` >= 0 (HF's
 * masked_scatter at the image tokens; Where instead of int64 ScatterND, so it runs on WebGPU), in the
 * compute type. A table in another float type (fp16 as stored) is gathered first and only its rows cast.
 */
export function embedWithImages(
  table: Value,
  x: Pick<DecoderInputs, 'ids' | 'features' | 'featureIndex' | 'compute'>,
): Value {
  const compute = x.compute ?? 'float32';
  const isImage = imageRows(x);
  const embeds = op.cast(op.gather(table, op.where(isImage, 0, x.ids)), compute); // [B, T, D]; image ids may lie outside the vocabulary
  const rows = op.cast(op.gather(x.features, op.max(x.featureIndex, 0)), compute);
  return op.where(op.unsqueeze(isImage, [2]), rows, embeds);
}

/** Concat of the cache and the new entries, its output named `outName` so a graph output aliases it (no Identity copy). */
function concatNamed(a: Value, b: Value, axis: number, outName: string | undefined): Value {
  if (outName === undefined) return op.concat([a, b], axis);
  const [da, db] = [a.shape[axis]!, b.shape[axis]!];
  const shape = [...a.shape];
  shape[axis] = typeof da === 'number' && typeof db === 'number' ? da + db : `${da}+${db}`;
  return a.graph.addNode('Concat', [a, b], { axis: { i: axis } }, [{ dtype: a.dtype, shape }], {}, [outName])[0]!;
}

/** What causal attention reads besides q, k, v. */
export interface AttentionContext {
  /** Rotary tables for the new tokens' positions [B, T, hd] (host-computed for precision). */
  rope: { cos: Value; sin: Value };
  /** Additive attention bias [B, T, Tk]: 0 where a query may attend, -1e30 elsewhere (causal + padding). */
  bias: Value;
  past?: LayerCache;
  /** Names for the extended cache values, so graph outputs need no Identity copy of the whole cache. */
  presentName?: { keyT: string; value: string };
}

/**
 * Rotary, the KV cache and causal softmax attention, scores / sqrt(hd), for queries grouped by the kv
 * head they share, q [B, kvH, rep, T, hd] (GQA then needs no repeat of K/V), and the new k, v
 * [B, kvH, T, hd]. Returns the heads merged [B, T, H*hd] (query head kv*rep + j), the extended cache
 * and the probabilities [B, kvH, rep, T, Tk]. Under float16 (q's type) the bias and softmax are float32
 * (HF's eager attention: softmax in float32, probabilities cast back for the product with V); the
 * returned probabilities stay float32.
 */
export function causalAttention(
  q5: Value,
  k4: Value,
  v4: Value,
  c: AttentionContext,
): { merged: Value; present: LayerCache; probs: Value } {
  const [b, kv, rep, hd] = [staticDim(q5, 0), staticDim(q5, 1), staticDim(q5, 2), staticDim(q5, 4)];
  const [cos, sin] = [op.cast(c.rope.cos, q5.dtype), op.cast(c.rope.sin, q5.dtype)];
  const q = rotary(q5, op.unsqueeze(cos, [1, 2]), op.unsqueeze(sin, [1, 2]));
  const kT = op.transpose(rotary(k4, op.unsqueeze(cos, [1]), op.unsqueeze(sin, [1])), [0, 1, 3, 2]); // [B, kvH, hd, T]
  // The cache keeps the past's type (an fp16 cache under float32 compute: new entries rounded to fp16, the
  // layer's whole cache cast back for the products, one layer's float copy at a time).
  const present: LayerCache = c.past
    ? {
        keyT: concatNamed(c.past.keyT, op.cast(kT, c.past.keyT.dtype), 3, c.presentName?.keyT),
        value: concatNamed(c.past.value, op.cast(v4, c.past.value.dtype), 2, c.presentName?.value),
      }
    : { keyT: kT, value: v4 };
  const [keyT, value] = [op.cast(present.keyT, q.dtype), op.cast(present.value, v4.dtype)];
  const scores = op.mul(op.matmul(q, op.unsqueeze(keyT, [2])), 1 / Math.sqrt(hd)); // [B, kvH, rep, T, Tk]
  const probs = op.softmax(op.add(op.cast(scores, 'float32'), op.unsqueeze(c.bias, [1, 2])), -1);
  const out = op.matmul(op.cast(probs, v4.dtype), op.unsqueeze(value, [2])); // [B, kvH, rep, T, hd]
  const merged = op.reshape(op.transpose(out, [0, 3, 1, 2, 4]), [b, -1, kv * rep * hd]); // [B, T, H*hd]
  return { merged, present, probs };
}

/** Rows of the LM head cast at a time when it is stored in another type than the compute type (headLogits). */
export const HEAD_SLICE_ROWS = 4096;

/**
 * hidden [B, T, D] -> float32 logits [B, T, V] through a head weight [V, D] read in place (HF: lm_head, then
 * .float()). A weight stored in another type than hidden's (fp16 under float32 compute) is read by slices of
 * HEAD_SLICE_ROWS rows, each cast once the previous slice's product exists, so one slice's float copy lives at a
 * time instead of the whole head's.
 */
export function headLogits(w: Value, hidden: Value, d: Pick<DecoderDims, 'hiddenSize' | 'vocabSize'>): Value {
  const [b, v] = [staticDim(hidden, 0), d.vocabSize];
  const h = op.reshape(hidden, [-1, d.hiddenSize]);
  const product = (weight: Value): Value => op.gemm(h, weight, undefined, { transB: true }); // [B*T, rows]
  let flat: Value;
  if (w.dtype === hidden.dtype) flat = product(w);
  else {
    const slices: Value[] = [];
    for (let start = 0; start < v; start += HEAD_SLICE_ROWS) {
      const rows = op.slice(w, [start], [Math.min(v, start + HEAD_SLICE_ROWS)], [0]);
      slices.push(product(op.cast(op.after(slices.at(-1) ?? h, rows), hidden.dtype)));
    }
    flat = slices.length === 1 ? slices[0]! : op.concat(slices, 1);
  }
  return op.reshape(op.cast(flat, 'float32'), hidden.graph.constant([b, -1, v], 'int64', [3]), [
    b,
    hidden.shape[1]!,
    v,
  ]);
}

/** log p(targets[b, t] | tokens up to t) [B, T] from logits [B, T, V]: the scoring output, and what a DPO or SFT loss sums. */
export function targetLogprobs(logits: Value, targets: Value): Value {
  const logp = op.logSoftmax(logits, -1); // [B, T, V]
  return op.squeeze(op.gatherElements(logp, op.unsqueeze(targets, [2]), 2), [2]);
}

/** A generation step / scoring graph's options (each model file's text graph builder takes them). */
export interface DecoderGraphOptions {
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
  /** Weights by canonical name; defaults to external initializers from the source (in `compute`). */
  params?: (g: Graph) => Params;
  /** The type the layers compute in (default float32); float16 keeps fp16 weights as stored (GPU EPs). */
  compute?: ComputeType;
  /** The KV cache's type (default the compute type): float16 under float32 compute halves the cache. */
  cacheType?: ComputeType;
}

/**
 * Adds the graph outputs: `logits` or `token_logprobs` (with the `targets` input), `present_*` per
 * layer, and `attention_<layer>` (head-averaged, last query row) per captured layer.
 */
export function addDecoderOutputs(
  g: Graph,
  o: Pick<DecoderGraphOptions, 'batch' | 'output' | 'cache'>,
  out: { hidden: Value; present: readonly LayerCache[]; attention: ReadonlyMap<number, Value> },
  logits: (hidden: Value) => Value,
): void {
  const last = (v: Value): Value => op.slice(v, [-1], [Number.MAX_SAFE_INTEGER], [1]);
  if (o.output === 'targets') {
    const targets = g.input('targets', 'int32', [o.batch, 'seq']);
    g.output(targetLogprobs(logits(out.hidden), targets), 'token_logprobs');
  } else {
    g.output(logits(o.output === 'last' ? last(out.hidden) : out.hidden), 'logits');
  }
  if (o.cache) {
    out.present.forEach((c, i) => {
      g.output(c.keyT, cacheNames(i, 'present').keyT);
      g.output(c.value, cacheNames(i, 'present').value);
    });
  }
  for (const [layer, a] of out.attention) g.output(last(a), `attention_${layer}`);
}
