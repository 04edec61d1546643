// The generation loop: one prefill over the prompt with its images, then one
// decode step per new token on the KV cache. Each decode step also returns
// the head-averaged attention of the new token at the captured layers, so
// MIA-DPO's selection needs no second pass over the sequence.
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { cacheNames } from '../models/llava';
import type { ImageAttention, ImageSpan } from './attention';
import { imageAttention, perplexity } from './attention';
import { causalBias, expandPrompt } from './prompt';
import type { LlavaRunner } from './runner';
import type { SamplingOptions } from './sampling';
import { GREEDY, checkSampling, createRng, pickToken } from './sampling';

export interface GenerateOptions {
  maxNewTokens: number;
  sampling?: SamplingOptions;
  /** Token ids that end generation (not included in the result's tokens' text, but recorded). */
  eosTokenIds?: readonly number[];
  /** Called after each token with all generated tokens; true stops (stop strings). */
  shouldStop?: (tokens: readonly number[]) => boolean;
  /** Also average the prefill's last attention row into the maps (MIA-DPO uses decode steps only). */
  includePrefillRow?: boolean;
}

export interface LayerAttention {
  layer: number;
  /** One row per recorded step over all keys so far (prefill's last row first when included). */
  rows: Float32Array[];
  images: ImageAttention[];
}

export interface GenerateResult {
  /** The prompt with image placeholders expanded. */
  inputIds: number[];
  tokens: number[];
  imageSpans: ImageSpan[];
  tokenLogprobs: number[];
  tokenMaxProbs: number[];
  /** One entry per captured layer; images empty when fewer than one row was recorded. */
  attention: LayerAttention[];
  /** exp(-mean(log max p)): the reference method's perplexity. */
  pplMaxProb: number;
  /** exp(-mean(log p(token))): the textbook perplexity of the generated tokens. */
  ppl: number;
  stopReason: 'eos' | 'stop' | 'length';
}

const i32 = (xs: ArrayLike<number>, dims: number[]): ort.Tensor => new ort.Tensor('int32', Int32Array.from(xs), dims);

function disposeGpu(feeds: Record<string, ort.Tensor>): void {
  for (const t of Object.values(feeds)) if (t.location === 'gpu-buffer') t.dispose();
}

/** Generates from a prompt of token ids (with image placeholders) and the images' features [F * D] each. */
export async function generate(runner: LlavaRunner, promptIds: readonly number[], features: readonly Float32Array[], o: GenerateOptions): Promise<GenerateResult> {
  const spec = runner.model.spec;
  const sampling = o.sampling ?? GREEDY;
  checkSampling(sampling);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new AppError('bad-input', `max new tokens = ${o.maxNewTokens} must be an integer >= 1`, { subject: 'max-new-tokens' });
  const d = spec.text.hiddenSize;
  features.forEach((f, i) => {
    if (f.length !== spec.tokensPerImage * d) throw new AppError('bad-input', `image ${i + 1}'s features have ${f.length} values, expected ${spec.tokensPerImage} x ${d}`, { subject: `image ${i + 1}` });
  });
  const p = expandPrompt(promptIds, spec.imageTokenId, features.length, spec.tokensPerImage);
  const t = p.ids.length;
  if (t + o.maxNewTokens > spec.text.maxPositions) {
    throw new AppError('bad-input', `the prompt is ${t} tokens (images expanded) and ${o.maxNewTokens} new tokens were asked for: more than the model's context of ${spec.text.maxPositions}`, { subject: 'prompt' });
  }
  const stacked = new Float32Array(Math.max(1, features.length * spec.tokensPerImage) * d);
  features.forEach((f, i) => stacked.set(f, i * f.length));
  let out = await runner.prefill({
    input_ids: i32(p.ids, [1, t]),
    ...runner.rope(p.ids.map((_, i) => i)),
    attention_bias: new ort.Tensor('float32', causalBias(t, 0), [1, t, t]),
    image_features: new ort.Tensor('float32', stacked, [stacked.length / d, d]),
    feature_index: new ort.Tensor('int32', p.featureIndex, [1, t]),
  });
  const noImage = new ort.Tensor('float32', new Float32Array(d), [1, d]);
  const rows = new Map(runner.captureLayers.map((l) => [l, [] as Float32Array[]]));
  const record = () => {
    for (const l of runner.captureLayers) rows.get(l)!.push(Float32Array.from(out[`attention_${l}`]!.data as Float32Array));
  };
  if (o.includePrefillRow) record();
  const rng = createRng(sampling.seed);
  const history = [...p.ids];
  const tokens: number[] = [];
  const logprobs: number[] = [];
  const maxProbs: number[] = [];
  const eos = new Set(o.eosTokenIds ?? []);
  let stopReason: GenerateResult['stopReason'] = 'length';
  for (;;) {
    const choice = pickToken(out['logits']!.data as Float32Array, history, sampling, rng);
    tokens.push(choice.token);
    history.push(choice.token);
    logprobs.push(choice.logprob);
    maxProbs.push(choice.maxProb);
    if (eos.has(choice.token)) stopReason = 'eos';
    else if (o.shouldStop?.(tokens)) stopReason = 'stop';
    else if (tokens.length >= o.maxNewTokens) stopReason = 'length';
    else {
      const pos = history.length - 1;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: i32([choice.token], [1, 1]),
        ...runner.rope([pos]),
        attention_bias: new ort.Tensor('float32', new Float32Array(pos + 1), [1, 1, pos + 1]),
        image_features: noImage,
        feature_index: new ort.Tensor('int32', Int32Array.of(-1), [1, 1]),
      };
      for (let i = 0; i < spec.text.numLayers; i++) {
        feeds[cacheNames(i, 'past').keyT] = out[cacheNames(i, 'present').keyT]!;
        feeds[cacheNames(i, 'past').value] = out[cacheNames(i, 'present').value]!;
      }
      out = await runner.step(feeds);
      disposeGpu(feeds);
      record();
      continue;
    }
    break;
  }
  disposeGpu(out);
  const attention = runner.captureLayers.map((layer) => {
    const r = rows.get(layer)!;
    return { layer, rows: r, images: r.length ? imageAttention(r, p.spans) : [] };
  });
  return {
    inputIds: p.ids,
    tokens,
    imageSpans: p.spans,
    tokenLogprobs: logprobs,
    tokenMaxProbs: maxProbs,
    attention,
    pplMaxProb: perplexity(maxProbs.map(Math.log)),
    ppl: perplexity(logprobs),
    stopReason,
  };
}
