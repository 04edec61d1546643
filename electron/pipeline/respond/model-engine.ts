// The ResponseEngine over the models engine: a thin adapter on LlavaSession
// (prompt encoding, preprocessing of the raw RGB images, the generation loop,
// end-token handling and the model id all live there). What it adds is the
// respond contract's shape: the end token left out of the tokens, and one
// square patch map per image. The session's graphs run in the engine's
// session worker, so a generation never blocks the server or the UI.
import { AppError } from '../../../shared/errors';
import { LlavaSession, type PromptTemplate } from '../../engine/generate/session';
import type { EpChoice } from '../../../shared/ep';
import type { WeightBlock, WeightsChoice } from '../../../shared/weights';
import type { AspectMode } from '../../engine/vision/preprocess';
import type { ResponseEngine, ResponseRequest, ResponseResult } from './engine-interface';

export interface ModelEngineOptions {
  modelDir: string;
  /** A PEFT adapter folder on the model: another model id, so its answers never mix with the base model's. */
  adapter?: string;
  ep?: EpChoice;
  /** The weight format (default: fp32, not checked against memory). */
  weights?: WeightsChoice;
  weightBlock?: WeightBlock;
  /** Decoder layer to record attention at; default the middle one (16 of 32, the reference's). */
  layer?: number;
  /** 'pad': LLaVA-1.5's expand-to-square before the processor; 'crop': the processor as configured. */
  aspect?: AspectMode;
  /** 'model': the model's chat template; 'llava_v0': the reference's conversation format. */
  template?: PromptTemplate;
}

export class ModelEngine implements ResponseEngine {
  private constructor(
    private readonly session: LlavaSession,
    private readonly aspect: AspectMode,
  ) {}

  static async open(o: ModelEngineOptions): Promise<ModelEngine> {
    const aspect = o.aspect ?? 'pad';
    const session = await LlavaSession.open({
      modelDir: o.modelDir,
      ep: o.ep ?? 'auto',
      ...(o.weights === undefined ? {} : { weights: o.weights }),
      ...(o.weightBlock === undefined ? {} : { weightBlock: o.weightBlock }),
      aspect,
      template: o.template ?? 'model',
      ...(o.adapter === undefined ? {} : { adapter: { dir: o.adapter } }),
      ...(o.layer === undefined ? {} : { attentionLayers: [o.layer] }),
    });
    return new ModelEngine(session, aspect);
  }

  /** Base weights, adapter and weight format (engine/generate/model-id.ts). */
  get modelId(): string {
    return this.session.modelId;
  }

  get layer(): number {
    return this.session.runner.captureLayers[0]!;
  }

  /** The weight format in use and why. */
  get weights(): string {
    return this.session.weights;
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
      throw new AppError(
        'bad-input',
        `attention layer ${r.layer} was asked for, but ${this.modelId} was opened to record layer ${this.layer}`,
        { subject: 'layer' },
      );
    }
    const {
      generation: res,
      text,
      timing,
    } = await this.session.answer({
      prompt: r.prompt,
      images: r.images,
      maxNewTokens: r.maxNewTokens,
      sampling: { temperature: r.temperature, seed: r.seed },
      capToContext: false,
      ...(r.signal ? { signal: r.signal } : {}),
    });
    const maps = this.imageMaps(res.attention[0]?.images ?? [], r.images.length);
    return {
      text,
      tokens: res.stopReason === 'eos' ? res.tokens.slice(0, -1) : res.tokens,
      // Per generation step, the end token's step included: the reference's perplexity runs over every output score.
      maxProbs: Float32Array.from(res.tokenMaxProbs),
      logProbs: Float32Array.from(res.tokenLogprobs),
      perImageMean: maps.means,
      attentionMaps: maps.maps,
      patchSide: maps.side,
      preprocessing: { mode: this.aspect, size: this.session.runner.model.spec.vision.imageSize },
      timing,
    };
  }

  /**
   * Square patch maps from the step-averaged spans. A vision tower that keeps
   * its class token (strategy 'full') has one token more than the grid: it is
   * left out of the map. Without a decode step there is no attention: NaN.
   */
  private imageMaps(
    images: readonly { map: Float64Array }[],
    count: number,
  ): { maps: Float32Array[]; means: number[]; side: number } {
    const v = this.session.runner.model.spec.vision;
    const side = v.imageSize / v.patchSize;
    if (images.length === 0)
      return {
        maps: Array.from({ length: count }, () => new Float32Array(side * side).fill(NaN)),
        means: new Array<number>(count).fill(NaN),
        side,
      };
    const maps = images.map((im, i) => {
      const skip = im.map.length - side * side;
      if (skip !== 0 && skip !== 1)
        throw new AppError(
          'internal',
          `image ${i + 1} has ${im.map.length} attention values; a ${side}x${side} patch grid needs ${side * side}`,
        );
      return Float32Array.from(im.map.subarray(skip));
    });
    return { maps, means: maps.map((m) => m.reduce((a, b) => a + b, 0) / m.length), side };
  }

  /** Releases the model's sessions once any run in flight is over (the session worker is never stopped mid-run). */
  async close(): Promise<void> {
    await this.session.close();
  }
}
