// Host-side packing of DPO pairs into the train graph's padded batch: rows
// 0..P-1 are the pairs' chosen answers and P..2P-1 their rejected ones (TRL's
// concatenated forward), each row = expanded prompt + response, right-padded
// to the graph's static length; both rows of a pair read that pair's image
// features. The response mask marks the positions whose next token is a
// response token: their log-probs are summed. The model is its TextFamily's
// packing facts (runner.ts): LLaVA's fixed tokens per image, or IXC2.5's
// whole rows per image (each image its own count) and per-row rotary tables.
import ort from 'onnxruntime-node';
import { AppError, isAppError } from '../../../../shared/errors';
import { causalBias, expandPromptRows } from '../../generate/prompt';
import type { TextFamily } from '../../generate/runner';

/** What packing needs of the model: sizes, the image marker, rows per image (null: any whole rows), context, rotary. */
export type PackModel = Pick<TextFamily, 'dims' | 'imageTokenId' | 'tokensPerImage' | 'maxContext' | 'rotary'>;

/** Each image's row count, checked against the model's (fixed for LLaVA; whole rows of the hidden size for IXC2.5). */
function imageRows(m: PackModel, features: readonly Float32Array[], label: string): number[] {
  const d = m.dims.hiddenSize;
  return features.map((f, i) => {
    const rows = f.length / d;
    const ok = m.tokensPerImage !== null ? rows === m.tokensPerImage : Number.isInteger(rows) && rows >= 1;
    if (!ok)
      throw new AppError(
        'bad-input',
        m.tokensPerImage !== null
          ? `${label}: image ${i + 1} has ${f.length} feature values; this model projects ${m.tokensPerImage} x ${d} = ${m.tokensPerImage * d}`
          : `${label}: image ${i + 1} has ${f.length} feature values, not whole rows of ${d}`,
        { subject: `${label} image ${i + 1}` },
      );
    return rows;
  });
}

/** What packing needs of a pair (references are fed separately). */
export interface PairTokens {
  promptIds: readonly number[];
  features: readonly Float32Array[];
  chosenIds: readonly number[];
  rejectedIds: readonly number[];
}

export interface PackedBatch {
  pairs: number;
  /** Static sequence length of the graph this batch is for. */
  seq: number;
  feeds: Record<string, ort.Tensor>;
  /** Response tokens, chosen + rejected. */
  tokens: number;
}

/** Length of a pair's longest row (prompt with images expanded + the longer response), checked against the context. */
export function pairLength(spec: PackModel, e: PairTokens, label: string): number {
  for (const [which, ids] of [
    ['chosen', e.chosenIds],
    ['rejected', e.rejectedIds],
  ] as const) {
    if (ids.length === 0)
      throw new AppError('bad-input', `${label}: the ${which} answer is empty`, { subject: `${label} ${which}` });
  }
  const rows = imageRows(spec, e.features, label);
  let prompt: number;
  try {
    prompt = expandPromptRows(e.promptIds, spec.imageTokenId, rows).ids.length;
  } catch (err) {
    if (isAppError(err)) throw new AppError(err.kind, `${label}: ${err.message}`, { subject: label, cause: err });
    throw err;
  }
  const t = prompt + Math.max(e.chosenIds.length, e.rejectedIds.length);
  if (t > spec.maxContext)
    throw new AppError(
      'bad-input',
      `${label}: prompt (${prompt} tokens, images expanded) plus answer is ${t} tokens: more than the model's context of ${spec.maxContext}`,
      { subject: label },
    );
  return t;
}

/** The static length for a batch whose longest row is `t`: rounded up to `multiple` (fewer graphs), capped at the context. */
export function bucketLength(spec: Pick<PackModel, 'maxContext'>, t: number, multiple: number): number {
  return Math.min(Math.ceil(t / multiple) * multiple, Math.max(t, spec.maxContext));
}

/** The longest answer of `pairs`. */
export const answerLength = (pairs: readonly PairTokens[]): number =>
  Math.max(...pairs.map((e) => Math.max(e.chosenIds.length, e.rejectedIds.length)));

/** Packs `pairs` into the feeds of a graph of static length `seq` (>= every pair's pairLength) and answer width `width`. */
export function packPairs(spec: PackModel, pairs: readonly PairTokens[], seq: number, width: number): PackedBatch {
  const p = pairs.length;
  const rows = 2 * p;
  const d = spec.dims.hiddenSize;
  const ids = new Int32Array(rows * seq);
  const targets = new Int32Array(rows * width);
  const mask = new Float32Array(rows * width);
  const answerIndex = new Int32Array(rows * width);
  const featureIndex = new Int32Array(rows * seq).fill(-1);
  const counts = pairs.map((e, i) => imageRows(spec, e.features, `pair ${i + 1}`));
  const nRows = counts.flat().reduce((a, b) => a + b, 0);
  const features = new Float32Array(Math.max(1, nRows) * d);
  const bias = new Float32Array(rows * seq * seq);
  const causal = causalBias(seq, 0);
  let tokens = 0;
  let base = 0; // first feature row of the pair's images
  pairs.forEach((e, i) => {
    const x = expandPromptRows(e.promptIds, spec.imageTokenId, counts[i]!);
    let at = base;
    for (const f of e.features) {
      features.set(f, at * d);
      at += f.length / d;
    }
    [e.chosenIds, e.rejectedIds].forEach((answer, which) => {
      const row = which * p + i;
      const full = [...x.ids, ...answer];
      if (full.length > seq)
        throw new AppError('internal', `pair ${i + 1} has ${full.length} tokens, more than the graph's ${seq}`);
      if (answer.length > width)
        throw new AppError(
          'internal',
          `pair ${i + 1} has a ${answer.length}-token answer, more than the graph's ${width}`,
        );
      ids.set(full, row * seq);
      // Position t predicts token t + 1: the answer's tokens are predicted from prompt end - 1 on.
      answer.forEach((tok, j) => {
        answerIndex[row * width + j] = x.ids.length - 1 + j;
        targets[row * width + j] = tok;
      });
      mask.fill(1, row * width, row * width + answer.length);
      featureIndex.set(
        x.featureIndex.map((f) => (f < 0 ? -1 : base + f)),
        row * seq,
      );
      tokens += answer.length;
      bias.set(causal, row * seq * seq);
    });
    base = at;
  });
  // Rotary tables of the batch as the remote code pads it: to its longest row (not the graph's bucket length), which
  // decides IXC2.5's dynamic-NTK base; padding positions repeat the last one (padding is never attended).
  const longest = Math.max(
    ...pairs.map(
      (e, i) =>
        expandPromptRows(e.promptIds, spec.imageTokenId, counts[i]!).ids.length +
        Math.max(e.chosenIds.length, e.rejectedIds.length),
    ),
  );
  const positions = Array.from({ length: seq }, (_, i) => Math.min(i, longest - 1));
  const rope = spec.rotary(Array.from({ length: rows }, () => positions));
  const hd = spec.dims.headDim;
  return {
    pairs: p,
    seq,
    tokens,
    feeds: {
      input_ids: new ort.Tensor('int32', ids, [rows, seq]),
      answer_index: new ort.Tensor('int32', answerIndex, [rows, width]),
      targets: new ort.Tensor('int32', targets, [rows, width]),
      response_mask: new ort.Tensor('float32', mask, [rows, width]),
      feature_index: new ort.Tensor('int32', featureIndex, [rows, seq]),
      image_features: new ort.Tensor('float32', features, [features.length / d, d]),
      rope_cos: new ort.Tensor('float32', rope.cos, [rows, seq, hd]),
      rope_sin: new ort.Tensor('float32', rope.sin, [rows, seq, hd]),
      attention_bias: new ort.Tensor('float32', bias, [rows, seq, seq]),
    },
  };
}
