// The generation loop: one prefill over the prompt with its images, then one
// decode step per new token on the KV cache. Each decode step also returns
// the head-averaged attention of the new token at the captured layers, so
// MIA-DPO's selection needs no second pass over the sequence.
import { AppError } from '../../../shared/errors';
import { cacheNames } from '../models/decoder';
import type { ImageAttention, ImageSpan } from './attention';
import { imageAttention, perplexity } from './attention';
import { expandPromptRows, type ExpandedPrompt } from './prompt';
import { wire, type Feed, type WireTensor } from '../runtime/protocol';
import { handlesOf, valuesOf, type DecoderRunner, type StepOutputs } from './runner';
import type { SamplingOptions } from './sampling';
import { GREEDY, checkSampling, createRng, pickToken } from './sampling';

export interface GenerateOptions {
  maxNewTokens: number;
  sampling?: SamplingOptions;
  /** Token ids that end generation (not included in the result's tokens' text, but recorded). */
  eosTokenIds?: readonly number[];
  /** Called after each token with all generated tokens of a prompt (its index in a batch); true stops it (stop strings). */
  shouldStop?: (tokens: readonly number[], prompt: number) => boolean;
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

const i32 = (xs: ArrayLike<number>, dims: number[]): WireTensor => wire('int32', Int32Array.from(xs), dims);

export interface BatchPrompt {
  /** Token ids with image placeholders. */
  ids: readonly number[];
  /** The images' rows [F * D] each (features, or IXC2.5's embedded HD layout), in placeholder order. */
  features: readonly Float32Array[];
}

/** Generates from one prompt (a batch of one). */
export async function generate(
  runner: DecoderRunner,
  promptIds: readonly number[],
  features: readonly Float32Array[],
  o: GenerateOptions,
): Promise<GenerateResult> {
  return (await generateBatch(runner, [{ ids: promptIds, features }], o))[0]!;
}

interface Row {
  p: ExpandedPrompt;
  /** Left padding of this row in the batch. */
  pad: number;
  history: number[];
  tokens: number[];
  logprobs: number[];
  maxProbs: number[];
  rows: Map<number, Float32Array[]>;
  rng: () => number;
  stopReason: GenerateResult['stopReason'] | undefined;
}

function checkPrompt(runner: DecoderRunner, prompt: BatchPrompt, maxNewTokens: number): ExpandedPrompt {
  const p = expandPromptRows(prompt.ids, runner.text.imageTokenId, imageRowCounts(runner, prompt.features));
  const context = runner.text.maxContext;
  if (p.ids.length + maxNewTokens > context) {
    throw new AppError(
      'bad-input',
      `the prompt is ${p.ids.length} tokens (images expanded) and ${maxNewTokens} new tokens were asked for: more than the model's context of ${context}`,
      { subject: 'prompt' },
    );
  }
  return p;
}

/** Each image's row count, checked against the model's (fixed for LLaVA; whole rows of the hidden size for IXC2.5). */
export function imageRowCounts(runner: DecoderRunner, features: readonly Float32Array[]): number[] {
  const { dims, tokensPerImage } = runner.text;
  const d = dims.hiddenSize;
  return features.map((f, i) => {
    const rows = f.length / d;
    if (tokensPerImage !== null ? rows !== tokensPerImage : !Number.isInteger(rows) || rows < 1)
      throw new AppError(
        'bad-input',
        `image ${i + 1}'s features have ${f.length} values, expected ${tokensPerImage ?? 'rows'} x ${d}`,
        { subject: `image ${i + 1}` },
      );
    return rows;
  });
}

/** Prefill feeds for left-padded prompts: pads attend only to themselves and are never attended to. */
function prefillFeeds(
  runner: DecoderRunner,
  batch: Row[],
  features: readonly (readonly Float32Array[])[],
): Record<string, WireTensor> {
  const d = runner.text.dims.hiddenSize;
  const b = batch.length;
  const t = Math.max(...batch.map((r) => r.p.ids.length));
  const ids = new Int32Array(b * t);
  const featureIndex = new Int32Array(b * t).fill(-1);
  const bias = new Float32Array(b * t * t).fill(-1e30);
  const positions: number[][] = [];
  const rowsPerPrompt = features.map((f) => f.reduce((a, x) => a + x.length / d, 0));
  const stacked = new Float32Array(
    Math.max(
      1,
      rowsPerPrompt.reduce((a, x) => a + x, 0),
    ) * d,
  );
  let rowBase = 0;
  batch.forEach((r, i) => {
    ids.set(r.p.ids, i * t + r.pad);
    featureIndex.set(
      r.p.featureIndex.map((x) => (x < 0 ? -1 : x + rowBase)),
      i * t + r.pad,
    );
    let at = rowBase * d;
    for (const f of features[i]!) {
      stacked.set(f, at);
      at += f.length;
    }
    rowBase += rowsPerPrompt[i]!;
    positions.push(Array.from({ length: t }, (_, q) => Math.max(0, q - r.pad)));
    for (let q = 0; q < t; q++) {
      const from = q < r.pad ? q : r.pad;
      bias.fill(0, (i * t + q) * t + from, (i * t + q) * t + q + 1);
    }
  });
  return {
    input_ids: wire('int32', ids, [b, t]),
    ...runner.rope(positions),
    attention_bias: wire('float32', bias, [b, t, t]),
    image_features: wire('float32', stacked, [stacked.length / d, d]),
    feature_index: wire('int32', featureIndex, [b, t]),
  };
}

/**
 * NaN or Inf weights otherwise run to an empty answer (argmax of NaNs picks token 0 and
 * decodes to nothing): refuse on the first step, naming the model folder.
 */
function checkFinite(runner: DecoderRunner, logits: Float32Array): void {
  if (logits.every(Number.isFinite)) return;
  const dir = runner.text.dir;
  throw new AppError(
    'bad-file',
    `the model ${dir} computed non-finite logits (NaN or Inf) on the first generation step: its weights contain NaN/Inf values or overflow`,
    {
      subject: dir,
    },
  );
}

/**
 * Generates for several prompts at once (left-padded, one decode step for all
 * rows: the weights are read once per step for the whole batch). Rows that
 * stopped keep being fed but their results end at their stop.
 */
export async function generateBatch(
  runner: DecoderRunner,
  prompts: readonly BatchPrompt[],
  o: GenerateOptions,
): Promise<GenerateResult[]> {
  const dims = runner.text.dims;
  const sampling = o.sampling ?? GREEDY;
  checkSampling(sampling);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1)
    throw new AppError('bad-input', `max new tokens = ${o.maxNewTokens} must be an integer >= 1`, {
      subject: 'max-new-tokens',
    });
  if (prompts.length === 0) return [];
  const expanded = prompts.map((pr) => checkPrompt(runner, pr, o.maxNewTokens));
  const t = Math.max(...expanded.map((p) => p.ids.length));
  const batch: Row[] = expanded.map((p, i) => ({
    p,
    pad: t - p.ids.length,
    history: [...p.ids],
    tokens: [],
    logprobs: [],
    maxProbs: [],
    rows: new Map(runner.captureLayers.map((l) => [l, [] as Float32Array[]])),
    rng: createRng(sampling.seed + i),
    stopReason: undefined,
  }));
  const b = batch.length;
  const d = dims.hiddenSize;
  const v = dims.vocabSize;
  let out: StepOutputs = await runner.prefill(
    prefillFeeds(
      runner,
      batch,
      prompts.map((pr) => pr.features),
    ),
    b,
  );
  // The cache of the last step, kept in the host until the next step consumes it or the generation ends.
  let live = handlesOf(out);
  try {
    let keys = t;
    const record = () => {
      for (const l of runner.captureLayers) {
        const all = valuesOf(out, `attention_${l}`);
        batch.forEach((r, i) => {
          if (!r.stopReason) r.rows.get(l)!.push(all.slice(i * keys + r.pad, (i + 1) * keys));
        });
      }
    };
    if (o.includePrefillRow) record();
    const eos = new Set(o.eosTokenIds ?? []);
    const noImage = wire('float32', new Float32Array(d), [1, d]);
    for (;;) {
      const logits = valuesOf(out, 'logits');
      if (keys === t) checkFinite(runner, logits);
      const next = batch.map((r, i) => {
        if (r.stopReason) return r.tokens[r.tokens.length - 1]!;
        const choice = pickToken(logits.subarray(i * v, (i + 1) * v), r.history, sampling, r.rng);
        r.tokens.push(choice.token);
        r.history.push(choice.token);
        r.logprobs.push(choice.logprob);
        r.maxProbs.push(choice.maxProb);
        if (eos.has(choice.token)) r.stopReason = 'eos';
        else if (o.shouldStop?.(r.tokens, i)) r.stopReason = 'stop';
        else if (r.tokens.length >= o.maxNewTokens) r.stopReason = 'length';
        return choice.token;
      });
      if (batch.every((r) => r.stopReason)) break;
      const bias = new Float32Array(b * (keys + 1));
      batch.forEach((r, i) => bias.fill(-1e30, i * (keys + 1), i * (keys + 1) + r.pad));
      const feeds: Record<string, Feed> = {
        input_ids: i32(next, [b, 1]),
        ...runner.rope(batch.map((r) => [keys - r.pad])),
        attention_bias: wire('float32', bias, [b, 1, keys + 1]),
        image_features: noImage,
        feature_index: wire('int32', new Int32Array(b).fill(-1), [b, 1]),
      };
      for (let i = 0; i < dims.numLayers; i++) {
        feeds[cacheNames(i, 'past').keyT] = out[cacheNames(i, 'present').keyT]!;
        feeds[cacheNames(i, 'past').value] = out[cacheNames(i, 'present').value]!;
      }
      // The step consumes the cache fed to it, whether it works or not.
      live = [];
      out = await runner.step(feeds, b);
      live = handlesOf(out);
      keys += 1;
      record();
    }
  } finally {
    await runner.free(live);
  }
  return batch.map((r) => ({
    inputIds: r.p.ids,
    tokens: r.tokens,
    imageSpans: r.p.spans,
    tokenLogprobs: r.logprobs,
    tokenMaxProbs: r.maxProbs,
    attention: runner.captureLayers.map((layer) => {
      const rows = r.rows.get(layer)!;
      return { layer, rows, images: rows.length ? imageAttention(rows, r.p.spans) : [] };
    }),
    pplMaxProb: perplexity(r.maxProbs.map(Math.log)),
    ppl: perplexity(r.logprobs),
    stopReason: r.stopReason ?? 'length',
  }));
}
