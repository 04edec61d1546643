// Generation and scoring on an InternLM-XComposer-2.5 folder, given each
// image's embedded rows (the HD layout after vision_proj, separators included:
// ixc-vision.ts's output, or any precomputed [rows, hidden]). The prompt is
// rendered and encoded as the official chat() does (text/ixc-prompt.ts), the
// decoder is ixc.ts's through the shared runner (runner.ts DecoderRunner), so
// generate/score, attention capture and the KV cache are the llava ones.
// Stops: the config's / generation_config's EOS and `[UNUSED_TOKEN_145]`.
import { AppError, isAppError } from '../../../shared/errors';
import { IxcCheckpoint } from '../models/checkpoint-ixc';
import { buildIxcTextGraph, ixcRotaryTables, ixcSpec, type IxcSpec } from '../models/ixc';
import { loadIxcAdapter } from '../models/ixc-peft';
import { mergedLora, unmergedLora } from '../models/lora';
import { externalParams } from '../models/params';
import {
  IMAGE_INDEX_MARKER,
  encodeIxcPrompt,
  ixcResponseIds,
  ixcReplyText,
  ixcStopCriteria,
  type IxcPromptSource,
} from '../text/ixc-prompt';
import { IncrementalDecoder } from '../text/incremental-decoder';
import { findStopString, loadGenerationEosIds, type StopCriteria } from '../text/stop-tokens';
import { TextTokenizer } from '../text/tokenizer';
import { hdSpanMeans, hdTokenCount, hdTokenLayout, type HdGrid, type HdTokenLayout } from '../vision/hd-layout';
import { generate, imageRowCounts, type GenerateResult } from './generate';
import { DecoderRunner, type RunnerOptions, type TextFamily } from './runner';
import type { SamplingOptions } from './sampling';
import { GREEDY } from './sampling';
import { scoreResponses, type ScoreResult } from './score';

export interface OpenIxcModel {
  dir: string;
  checkpoint: IxcCheckpoint;
  spec: IxcSpec;
}

export async function openIxcModel(dir: string): Promise<OpenIxcModel> {
  const checkpoint = await IxcCheckpoint.open(dir);
  return { dir, checkpoint, spec: ixcSpec(checkpoint.config, checkpoint.ploraRank) };
}

/**
 * IXC2.5's language model as a TextFamily. Rotary tables per row from its length so far (dynamic NTK: the
 * base of a call depends on cache + new tokens). With dynamic NTK no context limit applies (the base grows
 * instead); otherwise max_position_embeddings.
 */
export function ixcTextFamily(m: OpenIxcModel, imageTokenId: number): TextFamily {
  const s = m.spec;
  return {
    dir: m.dir,
    dims: s,
    maxContext: s.ropeScaling.type === 'dynamic' ? Number.POSITIVE_INFINITY : s.maxPositions,
    imageTokenId,
    tokensPerImage: null,
    buildTextGraph: (o) => buildIxcTextGraph(s, m.checkpoint, o),
    rotary(positions) {
      const hd = s.headDim;
      const t = positions[0]?.length ?? 0;
      const cos = new Float32Array(positions.length * t * hd);
      const sin = new Float32Array(positions.length * t * hd);
      positions.forEach((row, b) => {
        const r = ixcRotaryTables(s, row, Math.max(...row) + 1);
        cos.set(r.cos, b * t * hd);
        sin.set(r.sin, b * t * hd);
      });
      return { cos, sin };
    },
  };
}

export interface IxcSessionOptions extends RunnerOptions {
  /** A PEFT LoRA adapter folder trained on this model; `merge` folds it into the weights. */
  adapter?: { dir: string; merge?: boolean };
}

export interface IxcGenerateRequest {
  prompt: IxcPromptSource;
  /** Each image's embedded rows [rows * hidden], in placeholder order. */
  images: readonly Float32Array[];
  /** Each image's crop grid, when known: gives the content-only attention mean (separators left out). */
  grids?: readonly HdGrid[];
  maxNewTokens?: number;
  sampling?: Partial<SamplingOptions>;
  /** Also average the prefill's last attention row into the maps. */
  includePrefillRow?: boolean;
  /** Stop when the decoded answer contains one of these (cut there). */
  stopStrings?: readonly string[];
  /** Checked after each token: generation stops and the call fails with kind 'cancelled'. */
  signal?: AbortSignal;
}

export interface IxcAnswer {
  generation: GenerateResult;
  /** The reply as chat() returns it: special tokens skipped, cut at the end of turn. */
  text: string;
  /**
   * Per captured layer and image: the step-averaged attention's mean over the image's whole span
   * (separators included: `per_image_mean`) and, with its grid, over its ViT tokens only.
   */
  imageMeans: { layer: number; images: { whole: number; content: number | null }[] }[];
  /** Each image's token layout, when its grid was given. */
  layouts: (HdTokenLayout | undefined)[];
  /** Prefill ends at the first token; decode is the rest. */
  timing: { prefillMs: number; decodeMs: number };
}

export class IxcSession {
  private constructor(
    readonly model: OpenIxcModel,
    readonly runner: DecoderRunner,
    readonly tokenizer: TextTokenizer,
    readonly stops: StopCriteria,
  ) {}

  /**
   * Opens the folder: checkpoint, tokenizer (tokenizer.model), stop ids, and a PEFT adapter trained on it when
   * given (ixc-peft.ts; unmerged: its branch beside the frozen weights and PLoRA on every row, or merged into W);
   * the runner's sessions start on first use.
   */
  static async open(dir: string, options: IxcSessionOptions): Promise<IxcSession> {
    const model = await openIxcModel(dir);
    try {
      const { adapter, ...runnerOptions } = options;
      if (adapter) {
        const lora = await loadIxcAdapter(adapter.dir, model.checkpoint);
        runnerOptions.textGraph = adapter.merge
          ? { params: mergedLora(lora, (g) => externalParams(g, model.checkpoint)) }
          : unmergedLora(lora);
      }
      const tokenizer = await TextTokenizer.fromFolder(dir);
      const stops = ixcStopCriteria(tokenizer, [
        ...model.checkpoint.config.eos_token_id,
        ...(await loadGenerationEosIds(dir)),
      ]);
      // The id encodeIxcPrompt marks images with.
      const marker = tokenizer.special.image?.id ?? IMAGE_INDEX_MARKER;
      return new IxcSession(model, new DecoderRunner(ixcTextFamily(model, marker), runnerOptions), tokenizer, stops);
    } catch (e) {
      await model.checkpoint.close();
      throw e;
    }
  }

  private encode(prompt: IxcPromptSource, images: readonly Float32Array[]): number[] {
    const featureTokens = imageRowCounts(this.runner, images);
    return encodeIxcPrompt(this.tokenizer, prompt, { images: images.length, featureTokens }).inputIds;
  }

  /** Greedy by default (MIA-DPO); stops at EOS, the end of turn or a stop string. */
  async answer(r: IxcGenerateRequest): Promise<IxcAnswer> {
    throwIfCancelled(r.signal);
    const started = performance.now();
    const ids = this.encode(r.prompt, r.images);
    const layouts = this.layouts(r);
    const stops = (r.stopStrings ?? []).filter((x) => x.length > 0);
    const decoder = new IncrementalDecoder(this.tokenizer, { skipSpecialTokens: true });
    let streamed = '';
    let prefillEnd: number | null = null;
    const generation = await generate(this.runner, ids, r.images, {
      maxNewTokens: r.maxNewTokens ?? 512,
      sampling: { ...GREEDY, ...r.sampling },
      eosTokenIds: [...this.stops.tokenIds],
      includePrefillRow: r.includePrefillRow ?? false,
      shouldStop: (tokens) => {
        prefillEnd ??= performance.now();
        if (r.signal?.aborted) return true;
        if (stops.length === 0) return false;
        const before = streamed.length;
        streamed += decoder.push(tokens[tokens.length - 1]!);
        return findStopString(streamed, stops, before) !== undefined;
      },
    });
    const ended = performance.now();
    throwIfCancelled(r.signal);
    let text = ixcReplyText(this.tokenizer.decode(generation.tokens, { skipSpecialTokens: true }));
    const stop = findStopString(text, stops);
    if (stop) text = text.slice(0, stop.index);
    const imageMeans = generation.attention.map((a) => ({
      layer: a.layer,
      images: a.images.map((img, i) => {
        const layout = layouts[i];
        return { whole: img.mean, content: layout ? hdSpanMeans(img.map, 0, layout).content : null };
      }),
    }));
    return {
      generation,
      text: text.trim(),
      imageMeans,
      layouts,
      timing: { prefillMs: (prefillEnd ?? ended) - started, decodeMs: ended - (prefillEnd ?? ended) },
    };
  }

  /** Each image's token layout when its grid is given, checked against its row count. */
  private layouts(r: IxcGenerateRequest): (HdTokenLayout | undefined)[] {
    const side = this.model.checkpoint.config.vision_config.merged_side;
    return r.images.map((f, i) => {
      const grid = r.grids?.[i];
      if (!grid) return undefined;
      const rows = f.length / this.model.spec.hiddenSize;
      if (hdTokenCount(grid, side) !== rows)
        throw new AppError(
          'bad-input',
          `image ${i + 1}: a ${grid.rows}x${grid.cols} crop grid has ${hdTokenCount(grid, side)} rows, its embedding ${rows}`,
          { subject: `image ${i + 1}` },
        );
      return hdTokenLayout(grid, side);
    });
  }

  /**
   * Log-probs of each response after the prompt, the response followed by the end-of-turn token (what a
   * finished answer is in IXC2.5's chat format), as DPO scores chosen and rejected.
   */
  async score(
    prompt: IxcPromptSource,
    images: readonly Float32Array[],
    responses: readonly string[],
  ): Promise<ScoreResult> {
    const ids = responses.map((t) => this.responseIds(t));
    return scoreResponses(this.runner, this.encode(prompt, images), images, ids);
  }

  /** A response's ids as score() scores them: the text then the end-of-turn token. */
  responseIds(response: string): number[] {
    return ixcResponseIds(this.tokenizer, response);
  }

  async close(): Promise<void> {
    try {
      await this.runner.release();
    } finally {
      await this.model.checkpoint.close();
    }
  }
}

/** An aborted request ends as a `cancelled` AppError, whatever reason the caller aborted with. */
function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw isAppError(reason) ? reason : new AppError('cancelled', 'the answer was cancelled', { cause: reason });
}
