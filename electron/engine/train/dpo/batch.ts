// Host-side packing of DPO pairs into the train graph's padded batch: rows
// 0..P-1 are the pairs' chosen answers and P..2P-1 their rejected ones (TRL's
// concatenated forward), each row = expanded prompt + response, right-padded
// to the graph's static length; both rows of a pair read that pair's image
// features. The response mask marks the positions whose next token is a
// response token: their log-probs are summed.
import ort from 'onnxruntime-node';
import { AppError } from '../../../../shared/errors';
import { causalBias, expandPrompt } from '../../generate/prompt';
import type { LlavaSpec } from '../../models/llava';
import { rotaryTables } from '../../models/nn';

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
export function pairLength(spec: LlavaSpec, e: PairTokens, label: string): number {
  for (const [which, ids] of [
    ['chosen', e.chosenIds],
    ['rejected', e.rejectedIds],
  ] as const) {
    if (ids.length === 0)
      throw new AppError('bad-input', `${label}: the ${which} answer is empty`, { subject: `${label} ${which}` });
  }
  const per = spec.tokensPerImage * spec.text.hiddenSize;
  e.features.forEach((f, i) => {
    if (f.length !== per)
      throw new AppError(
        'bad-input',
        `${label}: image ${i + 1} has ${f.length} feature values; this model projects ${spec.tokensPerImage} x ${spec.text.hiddenSize} = ${per}`,
        { subject: `${label} image ${i + 1}` },
      );
  });
  const prompt = expandPrompt(e.promptIds, spec.imageTokenId, e.features.length, spec.tokensPerImage).ids.length;
  const t = prompt + Math.max(e.chosenIds.length, e.rejectedIds.length);
  if (t > spec.text.maxPositions)
    throw new AppError(
      'bad-input',
      `${label}: prompt (${prompt} tokens, images expanded) plus answer is ${t} tokens: more than the model's context of ${spec.text.maxPositions}`,
      { subject: label },
    );
  return t;
}

/** The static length for a batch whose longest row is `t`: rounded up to `multiple` (fewer graphs), capped at the context. */
export function bucketLength(spec: LlavaSpec, t: number, multiple: number): number {
  return Math.min(Math.ceil(t / multiple) * multiple, Math.max(t, spec.text.maxPositions));
}

/** Packs `pairs` into the feeds of a graph of static length `seq` (>= every pair's pairLength). */
export function packPairs(spec: LlavaSpec, pairs: readonly PairTokens[], seq: number): PackedBatch {
  const p = pairs.length;
  const rows = 2 * p;
  const d = spec.text.hiddenSize;
  const per = spec.tokensPerImage;
  const ids = new Int32Array(rows * seq);
  const targets = new Int32Array(rows * seq);
  const mask = new Float32Array(rows * seq);
  const featureIndex = new Int32Array(rows * seq).fill(-1);
  const nImages = pairs.reduce((s, e) => s + e.features.length, 0);
  const features = new Float32Array(Math.max(1, nImages * per) * d);
  const bias = new Float32Array(rows * seq * seq);
  const causal = causalBias(seq, 0);
  let tokens = 0;
  let image = 0;
  pairs.forEach((e, i) => {
    const x = expandPrompt(e.promptIds, spec.imageTokenId, e.features.length, per);
    e.features.forEach((f, j) => features.set(f, (image + j) * per * d));
    [e.chosenIds, e.rejectedIds].forEach((answer, which) => {
      const row = which * p + i;
      const full = [...x.ids, ...answer];
      if (full.length > seq)
        throw new AppError('internal', `pair ${i + 1} has ${full.length} tokens, more than the graph's ${seq}`);
      ids.set(full, row * seq);
      targets.set(full.slice(1), row * seq);
      featureIndex.set(
        x.featureIndex.map((f) => (f < 0 ? -1 : image * per + f)),
        row * seq,
      );
      // Position t predicts token t + 1: the response's tokens are predicted from prompt end - 1 on.
      mask.fill(1, row * seq + x.ids.length - 1, row * seq + full.length - 1);
      tokens += answer.length;
      bias.set(causal, row * seq * seq);
    });
    image += e.features.length;
  });
  const rope = rotaryTables(
    spec.text,
    Array.from({ length: rows * seq }, (_, i) => i % seq),
  );
  const hd = spec.text.headDim;
  return {
    pairs: p,
    seq,
    tokens,
    feeds: {
      input_ids: new ort.Tensor('int32', ids, [rows, seq]),
      targets: new ort.Tensor('int32', targets, [rows, seq]),
      response_mask: new ort.Tensor('float32', mask, [rows, seq]),
      feature_index: new ort.Tensor('int32', featureIndex, [rows, seq]),
      image_features: new ort.Tensor('float32', features, [features.length / d, d]),
      rope_cos: new ort.Tensor('float32', rope.cos, [rows, seq, hd]),
      rope_sin: new ort.Tensor('float32', rope.sin, [rows, seq, hd]),
      attention_bias: new ort.Tensor('float32', bias, [rows, seq, seq]),
    },
  };
}
