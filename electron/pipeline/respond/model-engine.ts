// The ResponseEngine over the models engine: a thin adapter on the model
// folder's session (engine/generate/model-session.ts: LlavaSession for llava-hf,
// IxcAppSession for InternLM-XComposer-2.5; prompt encoding, preprocessing of
// the raw RGB images, the generation loop, end-token handling, the model id and
// the per-image maps selection reads all live there). What it adds is the
// respond contract's shape: the end token left out of the tokens. The session's graphs run in the engine's
// session worker, so a generation never blocks the server or the UI.
import { AppError } from '../../../shared/errors';
import { openModelSession, type ModelSession } from '../../engine/generate/model-session';
import type { PromptTemplate } from '../../engine/generate/session';
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
  private constructor(private readonly session: ModelSession) {}

  static async open(o: ModelEngineOptions): Promise<ModelEngine> {
    const aspect = o.aspect ?? 'pad';
    const session = await openModelSession({
      modelDir: o.modelDir,
      ep: o.ep ?? 'auto',
      ...(o.weights === undefined ? {} : { weights: o.weights }),
      ...(o.weightBlock === undefined ? {} : { weightBlock: o.weightBlock }),
      aspect,
      template: o.template ?? 'model',
      ...(o.adapter === undefined ? {} : { adapter: { dir: o.adapter } }),
      ...(o.layer === undefined ? {} : { attentionLayers: [o.layer] }),
    });
    return new ModelEngine(session);
  }

  /** Base weights, adapter and weight format (engine/generate/model-id.ts). */
  get modelId(): string {
    return this.session.modelId;
  }

  get layer(): number {
    return this.session.captureLayers[0]!;
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
    const answer = await this.session.answer({
      prompt: r.prompt,
      images: r.images,
      maxNewTokens: r.maxNewTokens,
      sampling: { temperature: r.temperature, seed: r.seed },
      capToContext: false,
      ...(r.signal ? { signal: r.signal } : {}),
    });
    const { generation: res, text, timing } = answer;
    const maps = answer.selection;
    return {
      text,
      tokens: res.stopReason === 'eos' ? res.tokens.slice(0, -1) : res.tokens,
      // Per generation step, the end token's step included: the reference's perplexity runs over every output score.
      maxProbs: Float32Array.from(res.tokenMaxProbs),
      logProbs: Float32Array.from(res.tokenLogprobs),
      perImageMean: maps.means,
      attentionMaps: maps.maps,
      patchSide: maps.side,
      preprocessing: maps.preprocessing,
      ...(maps.coverage ? { mapCoverage: maps.coverage } : {}),
      timing,
    };
  }

  /** Releases the model's sessions once any run in flight is over (the session worker is never stopped mid-run). */
  async close(): Promise<void> {
    await this.session.close();
  }
}
