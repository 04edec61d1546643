// The programmatic face of the models engine (what the CLI and the pipeline's
// respond job call): a model folder opened once with its tokenizer, image
// processor, feature cache and chosen execution provider; answers prompts with
// images while recording attention, and scores given responses.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { EpDetector } from '../runtime/ep';
import type { EpChoice } from '../../../shared/ep';
import type { ExplicitEp } from '../runtime/local';
import type { ChatMessage } from '../text/chat-template';
import { encodePrompt } from '../text/encode-prompt';
import { IMAGE_PLACEHOLDER, withImagePlaceholders } from '../text/image-placeholders';
import { IncrementalDecoder } from '../text/incremental-decoder';
import { findStopString, loadGenerationEosIds, stopCriteria } from '../text/stop-tokens';
import { TextTokenizer } from '../text/tokenizer';
import type { ImageInput } from '../vision/decode-image';
import { FeatureCache, imageContentHash } from '../vision/feature-cache';
import { preprocessImage, preprocessingId, type AspectMode } from '../vision/preprocess';
import { loadPreprocessorConfig, type PreprocessorConfig } from '../vision/preprocessor-config';
import { generate, type GenerateResult } from './generate';
import { loadRunner } from './load';
import type { LlavaRunner } from './runner';
import { GREEDY, type SamplingOptions } from './sampling';
import { scoreResponses } from './score';

export interface LlavaSessionOptions {
  modelDir: string;
  ep?: EpChoice;
  /** Decoder layers to record attention at (default: the middle layer). */
  attentionLayers?: readonly number[];
  adapter?: { dir: string; merge?: boolean };
  /** Folder of the on-disk image-feature cache; none when absent. */
  featureCacheDir?: string;
  /** 'pad': LLaVA-1.5's square padding with the mean colour before the processor. */
  aspect?: AspectMode;
}

/** A prompt: the user's question (chat template applied) or, with raw, the full text with `<image>` placeholders. */
export interface PromptInput {
  images: readonly ImageInput[];
  prompt: string | readonly ChatMessage[];
  raw?: boolean;
}

export interface RespondRequest extends PromptInput {
  maxNewTokens?: number;
  sampling?: Partial<SamplingOptions>;
  stopStrings?: readonly string[];
  includePrefillRow?: boolean;
}

export interface AttentionSummary {
  layer: number;
  per_image_mean: number[];
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
  private constructor(
    readonly runner: LlavaRunner,
    readonly tokenizer: TextTokenizer,
    readonly processor: PreprocessorConfig,
    private readonly eosIds: ReadonlySet<number>,
    private readonly cache: { store: FeatureCache; modelId: string } | undefined,
    private readonly options: LlavaSessionOptions,
    /** Why the asked-for EP was not used, when it was not. */
    readonly epFallback: string | undefined,
  ) {}

  static async open(o: LlavaSessionOptions): Promise<LlavaSession> {
    const chosen = await new EpDetector().choose(o.ep ?? 'auto');
    const tokenizer = await TextTokenizer.fromFolder(o.modelDir);
    const processor = await loadPreprocessorConfig(o.modelDir);
    const eos = stopCriteria(tokenizer, await loadGenerationEosIds(o.modelDir)).tokenIds;
    const runner = await loadRunner(o.modelDir, {
      ep: chosen.ep,
      ...(o.attentionLayers ? { captureLayers: o.attentionLayers } : {}),
      ...(o.adapter ? { adapter: o.adapter } : {}),
    });
    const s = runner.model.spec.vision.imageSize;
    const crop = processor.doCenterCrop ? processor.cropSize : undefined;
    if (crop && (crop.width !== s || crop.height !== s)) {
      await runner.model.checkpoint.close();
      throw new AppError('bad-file', `${o.modelDir}: preprocessor_config.json crops to ${crop.width}x${crop.height} but the vision tower takes ${s}x${s}`, { subject: 'preprocessor_config.json' });
    }
    const cache = o.featureCacheDir ? { store: new FeatureCache(o.featureCacheDir), modelId: await visionModelId(o.modelDir, runner) } : undefined;
    return new LlavaSession(runner, tokenizer, processor, eos, cache, o, chosen.fallbackReason);
  }

  get ep(): ExplicitEp {
    return this.runner.ep;
  }

  /** Vision features of each image ([tokensPerImage * hidden]), from the cache when there. */
  async features(images: readonly ImageInput[]): Promise<Float32Array[]> {
    const pre = { aspect: this.options.aspect ?? 'crop' };
    const out: Float32Array[] = [];
    for (const [i, image] of images.entries()) {
      const key = this.cache ? { imageSha256: await imageContentHash(image), modelId: this.cache.modelId, preprocessingId: preprocessingId(this.processor, pre) } : undefined;
      const hit = key && (await this.cache!.store.get(key));
      if (hit) {
        out.push(hit.data);
        continue;
      }
      const pixels = await preprocessImage(image, this.processor, { ...pre, label: typeof image === 'string' ? image : `image ${i + 1}` });
      const f = await this.runner.imageFeatures(pixels.data);
      if (key) await this.cache!.store.put(key, { data: f, dims: [this.runner.model.spec.tokensPerImage, this.runner.model.spec.text.hiddenSize] });
      out.push(f);
    }
    return out;
  }

  private encode(p: PromptInput, extraTokens: number): number[] {
    const spec = this.runner.model.spec;
    const image = this.tokenizer.special.image?.token ?? IMAGE_PLACEHOLDER;
    let source: Parameters<typeof encodePrompt>[1];
    if (p.raw) {
      if (typeof p.prompt !== 'string') throw new AppError('bad-input', 'a raw prompt must be text', { subject: 'prompt' });
      source = { raw: p.prompt };
    } else if (typeof p.prompt === 'string') {
      source = { messages: [{ role: 'user', content: withImagePlaceholders(p.prompt, p.images.length, image) }] };
    } else {
      source = { messages: p.prompt };
    }
    const encoded = encodePrompt(this.tokenizer, source, { featureTokens: p.images.map(() => spec.tokensPerImage), maxLength: spec.text.maxPositions - extraTokens });
    return encoded.ids;
  }

  async respond(r: RespondRequest): Promise<RespondResult> {
    // The prompt must fit with room for one token; the new tokens are then capped by what is left of the context.
    const ids = this.encode(r, 1);
    const maxNewTokens = Math.min(r.maxNewTokens ?? 512, this.runner.model.spec.text.maxPositions - ids.length);
    const features = await this.features(r.images);
    const stops = (r.stopStrings ?? []).filter((s) => s.length > 0);
    const decoder = new IncrementalDecoder(this.tokenizer, { skipSpecialTokens: true });
    let text = '';
    const res = await generate(this.runner, ids, features, {
      maxNewTokens,
      sampling: { ...GREEDY, ...r.sampling },
      eosTokenIds: [...this.eosIds],
      includePrefillRow: r.includePrefillRow ?? false,
      shouldStop: (tokens) => {
        const before = text.length;
        text += decoder.push(tokens[tokens.length - 1]!);
        return stops.length > 0 && findStopString(text, stops, before) !== undefined;
      },
    });
    text += decoder.flush();
    const stop = findStopString(text, stops);
    if (stop) text = text.slice(0, stop.index);
    const layers = res.attention.map(toMaps);
    return {
      input_ids: res.inputIds,
      tokens: res.tokens,
      text: text.trim(),
      image_spans: res.imageSpans,
      attention: layers[0]!,
      attention_layers: layers,
      ppl_maxprob: res.pplMaxProb,
      ppl: res.ppl,
      token_logprobs: res.tokenLogprobs,
      token_max_probs: res.tokenMaxProbs,
      stop_reason: res.stopReason,
    };
  }

  async score(r: ScoreRequest): Promise<ScoreResultJson> {
    const responseIds = r.responses.map((t) => this.tokenizer.encode(t, { addSpecialTokens: false }));
    const ids = this.encode(r, Math.max(0, ...responseIds.map((x) => x.length)));
    const res = await scoreResponses(this.runner, ids, await this.features(r.images), responseIds);
    return { input_ids: res.inputIds, response_ids: responseIds, token_logprobs: res.tokenLogprobs, sum_logprob: res.sumLogprobs };
  }

  async close(): Promise<void> {
    await this.runner.release();
    await this.runner.model.checkpoint.close();
  }
}

/** Identifies the vision weights for cache keys: config plus the weight files' names, sizes and modification times. */
async function visionModelId(dir: string, runner: LlavaRunner): Promise<string> {
  const h = createHash('sha256');
  h.update(await readFile(path.join(dir, 'config.json')));
  const files = new Set(runner.model.checkpoint.names().map((n) => runner.model.checkpoint.get(n).location));
  for (const f of [...files].sort()) {
    const s = await stat(path.join(dir, f));
    h.update(`${f}:${s.size}:${s.mtimeMs}`);
  }
  return h.digest('hex');
}
