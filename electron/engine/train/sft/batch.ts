// Host-side packing of SFT examples into the full-parameter step's padded
// batch: one row per example (its prompt, image tokens expanded, then its
// answer, right-padded to the graph's static length), the pixels of every
// image stacked in example order, and the answer positions whose log-probs
// the loss averages (position t predicts token t + 1).
import ort from 'onnxruntime-node';
import { AppError, isAppError } from '../../../../shared/errors';
import { causalBias, expandPrompt } from '../../generate/prompt';
import type { LlavaSpec } from '../../models/llava';
import { rotaryTables } from '../../models/nn';

/** One supervised example: a chat-templated prompt with one image token per image, its images' pixels, the answer. */
export interface SftExample {
  promptIds: readonly number[];
  /** Preprocessed pixels per image [3 * S * S] (vision/preprocess.ts), in prompt order. */
  pixels: readonly Float32Array[];
  /** The answer's ids, ending with the EOS token. */
  answerIds: readonly number[];
}

/** The static shape of a step graph: rows, images (pixel batch), sequence and answer widths. */
export interface SftShape {
  rows: number;
  images: number;
  seq: number;
  answer: number;
}

/** An example's length (prompt with images expanded + answer), checked against the context and the pixel size. */
export function exampleLength(spec: LlavaSpec, e: SftExample, label: string): number {
  if (e.answerIds.length === 0) throw new AppError('bad-input', `${label}: the answer is empty`, { subject: label });
  const s = spec.vision.imageSize;
  e.pixels.forEach((px, i) => {
    if (px.length !== 3 * s * s)
      throw new AppError(
        'bad-input',
        `${label}: image ${i + 1} has ${px.length} pixel values; this model takes 3 x ${s} x ${s}`,
        { subject: `${label} image ${i + 1}` },
      );
  });
  let prompt: number;
  try {
    prompt = expandPrompt(e.promptIds, spec.imageTokenId, e.pixels.length, spec.tokensPerImage).ids.length;
  } catch (err) {
    if (isAppError(err)) throw new AppError(err.kind, `${label}: ${err.message}`, { subject: label, cause: err });
    throw err;
  }
  const t = prompt + e.answerIds.length;
  if (t > spec.text.maxPositions)
    throw new AppError(
      'bad-input',
      `${label}: prompt (${prompt} tokens, images expanded) plus answer is ${t} tokens: more than the model's context of ${spec.text.maxPositions}`,
      { subject: label },
    );
  return t;
}

/**
 * The feeds of a step graph of `shape` for `examples` (at most `shape.rows`; missing rows are all padding
 * with an empty answer mask, missing images zeros): input_ids, pixel_values, feature_index, rope tables,
 * the causal bias, answer_index, targets and answer_mask. `tokens`: answer tokens in the batch.
 */
export function packSft(
  spec: LlavaSpec,
  examples: readonly SftExample[],
  shape: SftShape,
): { feeds: Record<string, ort.Tensor>; tokens: number } {
  const { rows, seq, answer: width } = shape;
  if (examples.length > rows)
    throw new AppError('internal', `${examples.length} examples for a step graph of ${rows} rows`);
  const s = spec.vision.imageSize;
  const per = spec.tokensPerImage;
  const ids = new Int32Array(rows * seq);
  const targets = new Int32Array(rows * width);
  const mask = new Float32Array(rows * width);
  const answerIndex = new Int32Array(rows * width);
  const featureIndex = new Int32Array(rows * seq).fill(-1);
  const pixels = new Float32Array(shape.images * 3 * s * s);
  const bias = new Float32Array(rows * seq * seq);
  const causal = causalBias(seq, 0);
  let tokens = 0;
  let image = 0;
  examples.forEach((e, row) => {
    const label = `example ${row + 1} of the batch`;
    const t = exampleLength(spec, e, label);
    if (t > seq) throw new AppError('internal', `${label} has ${t} tokens, more than the graph's ${seq}`);
    if (e.answerIds.length > width)
      throw new AppError(
        'internal',
        `${label} has a ${e.answerIds.length}-token answer, more than the graph's ${width}`,
      );
    if (image + e.pixels.length > shape.images)
      throw new AppError('internal', `the batch has more images than the graph's ${shape.images}`);
    const x = expandPrompt(e.promptIds, spec.imageTokenId, e.pixels.length, per);
    e.pixels.forEach((px, j) => pixels.set(px, (image + j) * 3 * s * s));
    ids.set([...x.ids, ...e.answerIds], row * seq);
    e.answerIds.forEach((tok, j) => {
      answerIndex[row * width + j] = x.ids.length - 1 + j;
      targets[row * width + j] = tok;
    });
    mask.fill(1, row * width, row * width + e.answerIds.length);
    featureIndex.set(
      x.featureIndex.map((f) => (f < 0 ? -1 : image * per + f)),
      row * seq,
    );
    tokens += e.answerIds.length;
    image += e.pixels.length;
  });
  for (let row = 0; row < rows; row++) bias.set(causal, row * seq * seq);
  const rope = rotaryTables(
    spec.text,
    Array.from({ length: rows * seq }, (_, i) => i % seq),
  );
  const hd = spec.text.headDim;
  return {
    tokens,
    feeds: {
      input_ids: new ort.Tensor('int32', ids, [rows, seq]),
      pixel_values: new ort.Tensor('float32', pixels, [shape.images, 3, s, s]),
      feature_index: new ort.Tensor('int32', featureIndex, [rows, seq]),
      rope_cos: new ort.Tensor('float32', rope.cos, [rows, seq, hd]),
      rope_sin: new ort.Tensor('float32', rope.sin, [rows, seq, hd]),
      attention_bias: new ort.Tensor('float32', bias, [rows, seq, seq]),
      answer_index: new ort.Tensor('int32', answerIndex, [rows, width]),
      targets: new ort.Tensor('int32', targets, [rows, width]),
      answer_mask: new ort.Tensor('float32', mask, [rows, width]),
    },
  };
}
