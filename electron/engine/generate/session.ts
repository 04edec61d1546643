// The programmatic face of the models engine (what the CLI and the pipeline's
// respond job call): a model folder (and adapter) opened once with its
// tokenizer, image processor, feature cache, model id and execution provider;
// its graphs run in the process's session host (engine/runtime, a worker
// thread). Answers prompts with images while recording attention, and scores
// given responses.
import { AppError, isAppError } from '../../../shared/errors';
import type { EpChoice } from '../../../shared/ep';
import { acquireRuntime } from '../runtime/runtime';
import type { ExplicitEp } from '../runtime/local';
import { LLAVA_V0_STOP, templateRenderOptions, type ChatMessage, type PromptTemplate } from '../text/chat-template';
import { encodePrompt } from '../text/encode-prompt';
import { IMAGE_PLACEHOLDER, withImagePlaceholders } from '../text/image-placeholders';
import { IncrementalDecoder } from '../text/incremental-decoder';
import { findStopString, loadGenerationEosIds, stopCriteria } from '../text/stop-tokens';
import { TextTokenizer } from '../text/tokenizer';
import type { ImageInput, RgbImage } from '../vision/decode-image';
import { FeatureCache, imageContentHash } from '../vision/feature-cache';
import {
  preprocessImage,
  preprocessRgb,
  preprocessingId,
  type AspectMode,
  type PixelTensor,
} from '../vision/preprocess';
import { loadPreprocessorConfig, type PreprocessorConfig } from '../vision/preprocessor-config';
import { generate, type GenerateResult } from './generate';
import { loadRunner } from './load';
import { loadLlavaConfig } from '../models/config';
import { availableMemory, assertFits, planGenerate, type MemoryPlan } from './memory-plan';
import { modelId } from './model-id';
import type { WeightBlock, WeightsChoice } from '../../../shared/weights';
import type { LlavaRunner } from './runner';
import { GREEDY, type SamplingOptions } from './sampling';
import { scoreResponses } from './score';

export interface LlavaSessionOptions {
  modelDir: string;
  ep?: EpChoice;
  /** Decoder layers to record attention at (default: the middle layer). */
  attentionLayers?: readonly number[];
  /** A PEFT adapter folder: part of the model's identity. */
  adapter?: { dir: string; merge?: boolean };
  /** The weight format (--weights): part of the model's identity. Absent: fp32 with no memory check. */
  weights?: WeightsChoice;
  /** Weights per scale for int8/int4 (default 32). */
  weightBlock?: WeightBlock;
  /** Where int8/int4 weights are cached (default: load.ts defaultWeightCacheDir()). */
  weightsCacheDir?: string;
  /** Folder of the on-disk image-feature cache; none when absent. */
  featureCacheDir?: string;
  /** 'pad': LLaVA-1.5's square padding with the mean colour before the processor. */
  aspect?: AspectMode;
  /** How chat prompts are rendered: the model's chat template (default) or LLaVA's llava_v0 conversation, which also stops answers at `###`. */
  template?: PromptTemplate;
}

export type { PromptTemplate };

/** An image file, its bytes, or pixels already decoded to 8-bit RGB (e.g. perturbed by the pipeline). */
export type SessionImage = ImageInput | RgbImage;

/** A prompt: the user's question (chat template applied) or, with raw, the full text with `<image>` placeholders. */
export interface PromptInput {
  images: readonly SessionImage[];
  prompt: string | readonly ChatMessage[];
  raw?: boolean;
}

export interface RespondRequest extends PromptInput {
  maxNewTokens?: number;
  sampling?: Partial<SamplingOptions>;
  stopStrings?: readonly string[];
  includePrefillRow?: boolean;
  /** Stops at the next decode step; the call then fails with kind 'cancelled'. */
  signal?: AbortSignal;
  /**
   * true (default): fewer new tokens when the prompt leaves less room in the context.
   * false: a prompt plus `maxNewTokens` over the context is refused (bad-input), as the respond job wants.
   */
  capToContext?: boolean;
}

/**
 * How an attention map's grid lies on the image given: `crop` (CLIPImageProcessor: shortest edge to `size`, centre
 * crop) or `pad` (LLaVA-1.5's expand-to-square, then resize) of a `size` px input; `hd` (IXC2.5's global view): the
 * image scaled by `scale` (input px per image px, per axis) with its top-left corner at the view's.
 */
export type MapPreprocessing =
  { mode: 'crop' | 'pad'; size: number } | { mode: 'hd'; size: number; scale: { x: number; y: number } };

/** What MIA-DPO's selection reads of one answer, one entry per image given, at the first recorded layer. */
export interface SelectionMaps {
  /** Row-major side x side maps over the image's patch grid (LLaVA: its patches; IXC2.5: its global view's tokens). */
  maps: Float32Array[];
  /** The mean the sequence format compares: the map's mean (LLaVA), the whole span's, separators included (IXC2.5). NaN without a decode step. */
  means: number[];
  side: number;
  preprocessing: MapPreprocessing;
  /**
   * Per image, the part of its square map the image's pixels fill from the top-left, as fractions of the side (IXC2.5:
   * the global view is the HD canvas, the image resized at its top-left and white padding below or to the right,
   * squeezed to a square). Absent: the map lies over the image as `preprocessing` says (LLaVA's pad or crop).
   */
  coverage?: { x: number; y: number }[];
}

/** A generation with its decoded text and where its time went. */
export interface Answer {
  generation: GenerateResult;
  /** The generated text, stop strings cut, trimmed. */
  text: string;
  /** Prefill ends at the first token (image features included); decode is the rest. */
  timing: { prefillMs: number; decodeMs: number };
  /** The per-image maps and means selection reads. */
  selection: SelectionMaps;
}

/** Maps and means of NaN for `count` images: an answer without a decode step recorded no attention. */
export function emptySelection(count: number, side: number, preprocessing: MapPreprocessing): SelectionMaps {
  return {
    maps: Array.from({ length: count }, () => new Float32Array(side * side).fill(NaN)),
    means: new Array<number>(count).fill(NaN),
    side,
    preprocessing,
  };
}

export interface AttentionSummary {
  layer: number;
  /** Per image: the mean over its whole span (IXC2.5: separators included). */
  per_image_mean: number[];
  /** IXC2.5: per image, the mean over its ViT tokens only (separators left out). */
  per_image_content_mean?: number[];
  /** Per image: side x side rows of the step-averaged attention (a single row when the span is not square). */
  maps: number[][][];
}

export interface RespondResult {
  input_ids: number[];
  tokens: number[];
  text: string;
  image_spans: { start: number; end: number }[];
  /** The first recorded layer; all layers are in `attention_layers`. */
  attention: AttentionSummary;
  attention_layers: AttentionSummary[];
  ppl_maxprob: number;
  ppl: number;
  token_logprobs: number[];
  token_max_probs: number[];
  stop_reason: GenerateResult['stopReason'];
  /** Wall time: prefill (images included) and decode as in Answer.timing; `sessions_ms` of the prefill went to creating the model's sessions (the first answer of a session). */
  timing: { prefill_ms: number; decode_ms: number; sessions_ms: number };
}

export interface ScoreRequest extends PromptInput {
  responses: readonly string[];
}

export interface ScoreResultJson {
  input_ids: number[];
  response_ids: number[][];
  token_logprobs: number[][];
  sum_logprob: number[];
}

function toMaps(layer: GenerateResult['attention'][number]): AttentionSummary {
  return {
    layer: layer.layer,
    per_image_mean: layer.images.map((i) => i.mean),
    maps: layer.images.map((i) => {
      const flat = Array.from(i.map);
      const side = i.side;
      return side === null ? [flat] : Array.from({ length: side }, (_, y) => flat.slice(y * side, (y + 1) * side));
    }),
  };
}

export class LlavaSession {
  readonly family = 'llava' as const;

  private constructor(
    readonly runner: LlavaRunner,
    readonly tokenizer: TextTokenizer,
    readonly processor: PreprocessorConfig,
    private readonly eosIds: ReadonlySet<number>,
    /** Keys generations, the feature cache and evaluations: base weights, adapter and format (model-id.ts). */
    readonly modelId: string,
    private readonly cache: FeatureCache | undefined,
    private readonly options: LlavaSessionOptions,
    /** Why the asked-for EP was not used, when it was not. */
    readonly epFallback: string | undefined,
    private readonly releaseRuntime: () => Promise<void>,
  ) {}

  static async open(o: LlavaSessionOptions): Promise<LlavaSession> {
    const lease = acquireRuntime();
    let runner: LlavaRunner | undefined;
    try {
      // The model folder's family first (config.json), so a folder this path cannot run says why before its tokenizer is read.
      await loadLlavaConfig(o.modelDir);
      const chosen = await lease.runtime.choose(o.ep ?? 'auto');
      const tokenizer = await TextTokenizer.fromFolder(o.modelDir);
      const processor = await loadPreprocessorConfig(o.modelDir);
      const eos = stopCriteria(tokenizer, await loadGenerationEosIds(o.modelDir)).tokenIds;
      runner = await loadRunner(o.modelDir, {
        ep: chosen.ep,
        runtime: lease.runtime,
        ...(o.attentionLayers ? { captureLayers: o.attentionLayers } : {}),
        ...(o.adapter ? { adapter: o.adapter } : {}),
        ...(o.weights
          ? {
              weights: {
                choice: o.weights,
                ...(o.weightBlock ? { block: o.weightBlock } : {}),
                ...(o.weightsCacheDir ? { cacheDir: o.weightsCacheDir } : {}),
              },
            }
          : {}),
      });
      const s = runner.model.spec.vision.imageSize;
      const crop = processor.doCenterCrop ? processor.cropSize : undefined;
      if (crop && (crop.width !== s || crop.height !== s)) {
        throw new AppError(
          'bad-file',
          `${o.modelDir}: preprocessor_config.json crops to ${crop.width}x${crop.height} but the vision tower takes ${s}x${s}`,
          { subject: 'preprocessor_config.json' },
        );
      }
      const checkpoint = runner.model.checkpoint;
      const id = await modelId({
        modelDir: o.modelDir,
        weightFiles: [...new Set(checkpoint.names().map((n) => checkpoint.get(n).location))],
        ...(o.adapter ? { adapterDir: o.adapter.dir } : {}),
        format: runner.options.weights?.format ?? 'fp32',
        ...(runner.options.weights ? { block: runner.options.weights.block } : {}),
      });
      const cache = o.featureCacheDir ? new FeatureCache(o.featureCacheDir) : undefined;
      return new LlavaSession(runner, tokenizer, processor, eos, id, cache, o, chosen.fallbackReason, () =>
        lease.release(),
      );
    } catch (e) {
      if (runner) await closeRunner(runner);
      await lease.release();
      throw e;
    }
  }

  get ep(): ExplicitEp {
    return this.runner.ep;
  }

  get captureLayers(): readonly number[] {
    return this.runner.captureLayers;
  }

  /** The memory planner's estimate for one generation of `seq` tokens (prompt and answer) in this session's format. */
  plan(seq: number, format = this.runner.options.weights?.format ?? 'fp32'): MemoryPlan {
    const c = this.runner.model.checkpoint;
    return planGenerate({
      spec: this.runner.model.spec,
      tensors: c.names().map((name) => ({ name, shape: c.get(name).shape, dtype: c.get(name).dtype })),
      format,
      block: this.runner.options.weights?.block ?? 32,
      seq,
      ep: this.runner.ep,
    });
  }

  /** Refuses (bad-input) a generation of `seq` tokens that would not fit in memory, when a format was asked for. */
  private checkMemory(seq: number): void {
    const w = this.runner.options.weights;
    if (!w) return;
    const budget = availableMemory() + process.memoryUsage.rss();
    const shorter = Math.max(1, Math.floor(seq / 2));
    const alternatives = (['fp32', 'int8', 'int4'] as const).flatMap((f) => [this.plan(seq, f), this.plan(shorter, f)]);
    assertFits(this.plan(seq), budget, alternatives, this.runner.model.dir);
  }

  /** The weight format in use and why ('fp32: ...' when none was asked for). */
  get weights(): string {
    return this.runner.options.weights?.reason ?? 'fp32: the default';
  }

  private async pixels(image: SessionImage, i: number): Promise<PixelTensor> {
    const pre = { aspect: this.options.aspect ?? 'crop' };
    if (typeof image === 'string' || Buffer.isBuffer(image))
      return preprocessImage(image, this.processor, {
        ...pre,
        label: typeof image === 'string' ? image : `image ${i + 1}`,
      });
    if (image.data.length !== image.width * image.height * 3) {
      throw new AppError(
        'bad-input',
        `image ${i + 1} has ${image.data.length} bytes; ${image.width}x${image.height} RGB needs ${image.width * image.height * 3}`,
        { subject: `image ${i + 1}` },
      );
    }
    return preprocessRgb(image, this.processor, pre);
  }

  /** Vision features of each image ([tokensPerImage * hidden]), from the cache when there (files and buffers only). */
  async features(images: readonly SessionImage[]): Promise<Float32Array[]> {
    const pre = { aspect: this.options.aspect ?? 'crop' };
    const out: Float32Array[] = [];
    for (const [i, image] of images.entries()) {
      const cached = this.cache && (typeof image === 'string' || Buffer.isBuffer(image)) ? this.cache : undefined;
      const key = cached
        ? {
            imageSha256: await imageContentHash(image as ImageInput),
            modelId: this.modelId,
            preprocessingId: preprocessingId(this.processor, pre),
          }
        : undefined;
      const hit = key && (await cached!.get(key));
      if (hit) {
        out.push(hit.data);
        continue;
      }
      const f = await this.runner.imageFeatures((await this.pixels(image, i)).data);
      if (key)
        await cached!.put(key, {
          data: f,
          dims: [this.runner.model.spec.tokensPerImage, this.runner.model.spec.text.hiddenSize],
        });
      out.push(f);
    }
    return out;
  }

  private encode(p: PromptInput, extraTokens: number): number[] {
    const spec = this.runner.model.spec;
    const image = this.tokenizer.special.image?.token ?? IMAGE_PLACEHOLDER;
    const render = templateRenderOptions(this.options.template ?? 'model');
    let source: Parameters<typeof encodePrompt>[1];
    if (p.raw) {
      if (typeof p.prompt !== 'string')
        throw new AppError('bad-input', 'a raw prompt must be text', { subject: 'prompt' });
      source = { raw: p.prompt };
    } else if (typeof p.prompt === 'string') {
      source = {
        messages: [{ role: 'user', content: withImagePlaceholders(p.prompt, p.images.length, image) }],
        render,
      };
    } else {
      source = { messages: p.prompt, render };
    }
    const encoded = encodePrompt(this.tokenizer, source, {
      featureTokens: p.images.map(() => spec.tokensPerImage),
      maxLength: spec.text.maxPositions - extraTokens,
    });
    return encoded.ids;
  }

  /**
   * One generation with its text and timing: what `respond` reports and the pipeline's ModelEngine adapts.
   * The end token, when generation stopped at one, is the last of `generation.tokens`.
   */
  async answer(r: RespondRequest): Promise<Answer> {
    throwIfCancelled(r.signal);
    const started = performance.now();
    // The prompt must fit with room for one token; the new tokens are then capped by what is left of the context
    // (or, without capToContext, generate() refuses a prompt plus maxNewTokens over it, naming both numbers).
    const ids = this.encode(r, 1);
    const asked = r.maxNewTokens ?? 512;
    const maxNewTokens =
      r.capToContext === false ? asked : Math.min(asked, this.runner.model.spec.text.maxPositions - ids.length);
    this.checkMemory(ids.length + maxNewTokens);
    const features = await this.features(r.images);
    const stops = [
      ...(r.stopStrings ?? []),
      ...(this.options.template === 'llava_v0' && !r.raw ? [LLAVA_V0_STOP] : []),
    ].filter((s) => s.length > 0);
    const decoder = new IncrementalDecoder(this.tokenizer, { skipSpecialTokens: true });
    let text = '';
    // The first stop check runs right after the prefill's token: it splits prefill (images included) from decode.
    let prefillEnd: number | null = null;
    const generation = await generate(this.runner, ids, features, {
      maxNewTokens,
      sampling: { ...GREEDY, ...r.sampling },
      eosTokenIds: [...this.eosIds],
      includePrefillRow: r.includePrefillRow ?? false,
      shouldStop: (tokens) => {
        prefillEnd ??= performance.now();
        if (r.signal?.aborted) return true;
        const before = text.length;
        text += decoder.push(tokens[tokens.length - 1]!);
        return stops.length > 0 && findStopString(text, stops, before) !== undefined;
      },
    });
    const ended = performance.now();
    throwIfCancelled(r.signal);
    text += decoder.flush();
    const stop = findStopString(text, stops);
    if (stop) text = text.slice(0, stop.index);
    return {
      generation,
      text: text.trim(),
      timing: { prefillMs: (prefillEnd ?? ended) - started, decodeMs: ended - (prefillEnd ?? ended) },
      selection: this.selection(generation.attention[0]?.images ?? [], r.images.length),
    };
  }

  /**
   * Square patch maps from the step-averaged spans. A vision tower that keeps its class token (strategy 'full') has
   * one token more than the grid: it is left out of the map. Without a decode step there is no attention: NaN.
   */
  private selection(images: readonly { map: Float64Array }[], count: number): SelectionMaps {
    const v = this.runner.model.spec.vision;
    const side = v.imageSize / v.patchSize;
    const preprocessing = { mode: this.options.aspect ?? 'crop', size: v.imageSize };
    if (images.length === 0) return emptySelection(count, side, preprocessing);
    const maps = images.map((im, i) => {
      const skip = im.map.length - side * side;
      if (skip !== 0 && skip !== 1)
        throw new AppError(
          'internal',
          `image ${i + 1} has ${im.map.length} attention values; a ${side}x${side} patch grid needs ${side * side}`,
        );
      return Float32Array.from(im.map.subarray(skip));
    });
    return { maps, means: maps.map((m) => m.reduce((a, b) => a + b, 0) / m.length), side, preprocessing };
  }

  async respond(r: RespondRequest): Promise<RespondResult> {
    const sessionsBefore = this.runner.sessionMs;
    const { generation: res, text, timing } = await this.answer(r);
    const layers = res.attention.map(toMaps);
    return {
      input_ids: res.inputIds,
      tokens: res.tokens,
      text,
      image_spans: res.imageSpans,
      attention: layers[0]!,
      attention_layers: layers,
      ppl_maxprob: res.pplMaxProb,
      ppl: res.ppl,
      token_logprobs: res.tokenLogprobs,
      token_max_probs: res.tokenMaxProbs,
      stop_reason: res.stopReason,
      timing: {
        prefill_ms: timing.prefillMs,
        decode_ms: timing.decodeMs,
        sessions_ms: this.runner.sessionMs - sessionsBefore,
      },
    };
  }

  async score(r: ScoreRequest): Promise<ScoreResultJson> {
    const responseIds = r.responses.map((t) => this.tokenizer.encode(t, { addSpecialTokens: false }));
    const ids = this.encode(r, Math.max(0, ...responseIds.map((x) => x.length)));
    const res = await scoreResponses(this.runner, ids, await this.features(r.images), responseIds);
    return {
      input_ids: res.inputIds,
      response_ids: responseIds,
      token_logprobs: res.tokenLogprobs,
      sum_logprob: res.sumLogprobs,
    };
  }

  /** Releases this model's sessions in the host (after any run in flight) and its checkpoint. */
  async close(): Promise<void> {
    try {
      await closeRunner(this.runner);
    } finally {
      await this.releaseRuntime();
    }
  }
}

async function closeRunner(runner: LlavaRunner): Promise<void> {
  try {
    await runner.release();
  } finally {
    await runner.model.checkpoint.close();
  }
}

/** An aborted request ends as a `cancelled` AppError, whatever reason the caller aborted with (a bare abort() gives a DOMException). */
function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw isAppError(reason) ? reason : new AppError('cancelled', 'the answer was cancelled', { cause: reason });
}
