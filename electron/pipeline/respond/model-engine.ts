// The ResponseEngine over the models engine (issue #4, step 3): a llava-hf
// folder opened once through LlavaSession; each request's raw RGB images go
// through the model's own preprocessing and vision tower, then the generation
// loop records the chosen layer's attention, turned here into per-image maps.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, isAppError } from '../../../shared/errors';
import { generate } from '../../engine/generate/generate';
import { GREEDY } from '../../engine/generate/sampling';
import { LlavaSession } from '../../engine/generate/session';
import type { EpChoice } from '../../../shared/ep';
import { encodePrompt } from '../../engine/text/encode-prompt';
import { loadGenerationEosIds, stopCriteria } from '../../engine/text/stop-tokens';
import { preprocessRgb, type AspectMode } from '../../engine/vision/preprocess';
import type { ResponseEngine, ResponseRequest, ResponseResult } from './engine-interface';

export interface ModelEngineOptions {
  modelDir: string;
  ep?: EpChoice;
  /** Decoder layer to record attention at; default the middle one (16 of 32, the reference's). */
  layer?: number;
  /** 'pad': LLaVA-1.5's expand-to-square before the processor; 'crop': the processor as configured. */
  aspect?: AspectMode;
}

/**
 * Model id recorded with generations: the folder's name and a hash of its
 * location, config and weight files (name, size, modification time), so other
 * weights under the same name count as another model.
 */
async function modelIdOf(dir: string, weightFiles: readonly string[]): Promise<string> {
  const abs = path.resolve(dir);
  const h = createHash('sha256').update(abs).update(await readFile(path.join(abs, 'config.json')));
  for (const f of [...weightFiles].sort()) {
    const s = await stat(path.join(abs, f));
    h.update(`\0${f}:${s.size}:${s.mtimeMs}`);
  }
  return `${path.basename(abs)}@${h.digest('hex').slice(0, 12)}`;
}

export class ModelEngine implements ResponseEngine {
  private constructor(
    readonly modelId: string,
    readonly layer: number,
    private readonly session: LlavaSession,
    private readonly eosIds: readonly number[],
    private readonly aspect: AspectMode,
  ) {}

  static async open(o: ModelEngineOptions): Promise<ModelEngine> {
    const session = await LlavaSession.open({ modelDir: o.modelDir, ep: o.ep ?? 'auto', ...(o.layer === undefined ? {} : { attentionLayers: [o.layer] }), aspect: o.aspect ?? 'crop' });
    try {
      const checkpoint = session.runner.model.checkpoint;
      const files = new Set(checkpoint.names().map((n) => checkpoint.get(n).location));
      const eos = stopCriteria(session.tokenizer, await loadGenerationEosIds(o.modelDir)).tokenIds;
      return new ModelEngine(await modelIdOf(o.modelDir, [...files]), session.runner.captureLayers[0]!, session, [...eos], o.aspect ?? 'crop');
    } catch (e) {
      await session.close();
      throw e;
    }
  }

  /** The execution provider in use, and why the asked-for one was not used (if so). */
  get ep(): { ep: string; fallback: string | undefined } {
    return { ep: this.session.ep, fallback: this.session.epFallback };
  }

  /** Token ids of plain text (no special tokens): token edit distances use them. */
  tokenize(text: string): number[] {
    return this.session.tokenizer.encode(text, { addSpecialTokens: false });
  }

  async generate(r: ResponseRequest): Promise<ResponseResult> {
    if (r.layer !== this.layer) {
      throw new AppError('bad-input', `attention layer ${r.layer} was asked for, but ${this.modelId} was opened to record layer ${this.layer}`, { subject: 'layer' });
    }
    throwIfCancelled(r.signal);
    const spec = this.session.runner.model.spec;
    const started = performance.now();
    // generate() checks prompt + new tokens against the context, with both numbers in its message.
    const encoded = encodePrompt(this.session.tokenizer, { messages: [{ role: 'user', content: r.prompt }] }, { featureTokens: r.images.map(() => spec.tokensPerImage) });
    const features: Float32Array[] = [];
    for (const [i, image] of r.images.entries()) {
      if (image.data.length !== image.width * image.height * 3) {
        throw new AppError('bad-input', `image ${i + 1} has ${image.data.length} bytes; ${image.width}x${image.height} RGB needs ${image.width * image.height * 3}`, { subject: `image ${i + 1}` });
      }
      const pixels = await preprocessRgb(image, this.session.processor, { aspect: this.aspect });
      features.push(await this.session.runner.imageFeatures(pixels.data));
    }
    // The first stop check runs right after the prefill's token: it splits prefill (images included) from decode.
    let prefillEnd: number | null = null;
    const res = await generate(this.session.runner, encoded.ids, features, {
      maxNewTokens: r.maxNewTokens,
      sampling: { ...GREEDY, temperature: r.temperature, seed: r.seed },
      eosTokenIds: this.eosIds,
      shouldStop: () => {
        prefillEnd ??= performance.now();
        return r.signal?.aborted ?? false;
      },
    });
    const ended = performance.now();
    throwIfCancelled(r.signal);
    const tokens = res.stopReason === 'eos' ? res.tokens.slice(0, -1) : res.tokens;
    const maps = this.imageMaps(res.attention[0]?.images ?? [], r.images.length);
    return {
      text: this.session.tokenizer.decode(tokens, { skipSpecialTokens: true }).trim(),
      tokens,
      // Per generation step, the end token's step included: the reference's perplexity runs over every output score.
      maxProbs: Float32Array.from(res.tokenMaxProbs),
      logProbs: Float32Array.from(res.tokenLogprobs),
      perImageMean: maps.means,
      attentionMaps: maps.maps,
      patchSide: maps.side,
      preprocessing: { mode: this.aspect, size: spec.vision.imageSize },
      timing: { prefillMs: (prefillEnd ?? ended) - started, decodeMs: ended - (prefillEnd ?? ended) },
    };
  }

  /**
   * Square patch maps from the step-averaged spans. A vision tower that keeps
   * its class token (strategy 'full') has one token more than the grid: it is
   * left out of the map. Without a decode step there is no attention: NaN.
   */
  private imageMaps(images: readonly { map: Float64Array }[], count: number): { maps: Float32Array[]; means: number[]; side: number } {
    const v = this.session.runner.model.spec.vision;
    const side = v.imageSize / v.patchSize;
    if (images.length === 0) return { maps: Array.from({ length: count }, () => new Float32Array(side * side).fill(NaN)), means: new Array<number>(count).fill(NaN), side };
    const maps = images.map((im, i) => {
      const skip = im.map.length - side * side;
      if (skip !== 0 && skip !== 1) throw new AppError('internal', `image ${i + 1} has ${im.map.length} attention values; a ${side}x${side} patch grid needs ${side * side}`);
      return Float32Array.from(im.map.subarray(skip));
    });
    return { maps, means: maps.map((m) => m.reduce((a, b) => a + b, 0) / m.length), side };
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

/** An aborted request ends as a `cancelled` AppError, whatever reason the caller aborted with (a bare abort() gives a DOMException). */
function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw isAppError(reason) ? reason : new AppError('cancelled', 'the answer was cancelled', { cause: reason });
}
