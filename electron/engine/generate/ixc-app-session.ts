// An InternLM-XComposer-2.5 folder behind the product's session face
// (model-session.ts ModelSession, what `generate`, `score` and the respond job
// call): images through the HD transform and the vision graphs
// (models/ixc-vision.ts IxcVisionEncoder, hd_num 24 for one image and 6 for
// several, as chat() picks it), then IxcSession's prompt, generation and
// scoring on the embedded rows. Attention is read per image over its whole
// span (separators included, `per_image_mean`) and over its ViT tokens only
// (`per_image_content_mean`); the maps are the global view's merged-token grid
// (side x side), what the grid collage and pic-in-pic selection read (decision 0722).
import { AppError } from '../../../shared/errors';
import type { ExplicitEp } from '../runtime/local';
import { acquireRuntime } from '../runtime/runtime';
import type { ChatMessage } from '../text/chat-template';
import { IMAGE_PLACEHOLDER } from '../text/image-placeholders';
import { IXC_IMAGE_PLACEHOLDER, ixcMultiImageQuery, type IxcPromptSource, type IxcTurn } from '../text/ixc-prompt';
import type { TextTokenizer } from '../text/tokenizer';
import type { RgbImage } from '../vision/decode-image';
import { FeatureCache } from '../vision/feature-cache';
import type { HdGrid, HdTokenLayout } from '../vision/hd-layout';
import { hdTransformRgb, type HdGeometry } from '../vision/hd-transform';
import { ixcHdNum, IxcVisionEncoder, type IxcImageEmbedding } from '../models/ixc-vision';
import { IxcSession, type IxcAnswer } from './ixc-session';
import { modelId } from './model-id';
import { emptySelection } from './session';
import type {
  Answer,
  MapPreprocessing,
  SelectionMaps,
  AttentionSummary,
  LlavaSessionOptions,
  PromptInput,
  RespondRequest,
  RespondResult,
  ScoreRequest,
  ScoreResultJson,
  SessionImage,
} from './session';

/** Per recorded layer: each image's means and its global-view map (row-major side x side). */
export interface IxcImageMaps {
  layer: number;
  images: { mean: number; contentMean: number | null; map: Float32Array; side: number }[];
}

/** What IXC2.5 cannot do yet through this path, refused by name rather than ignored. */
function refuseUnsupported(o: LlavaSessionOptions): void {
  const why = (what: string) =>
    new AppError('bad-input', `${o.modelDir}: ${what} is not supported for InternLM-XComposer-2.5 folders yet`, {
      subject: o.modelDir,
    });
  if (o.weights !== undefined && o.weights !== 'fp32' && o.weights !== 'auto')
    throw why(`the ${o.weights} weight format`);
}

/** The prompt as IxcSession takes it: `<image>` / `<ImageHere>` placeholders, or the README's multi-image form. */
export function ixcPromptSource(p: PromptInput): IxcPromptSource {
  if (p.raw) {
    if (typeof p.prompt !== 'string')
      throw new AppError('bad-input', 'a raw prompt must be text', { subject: 'prompt' });
    return { raw: p.prompt };
  }
  if (typeof p.prompt === 'string') {
    const placed = p.prompt.includes(IMAGE_PLACEHOLDER) || p.prompt.includes(IXC_IMAGE_PLACEHOLDER);
    return { query: !placed && p.images.length > 1 ? ixcMultiImageQuery(p.prompt, p.images.length) : p.prompt };
  }
  return messagesSource(p.prompt);
}

/** Chat messages: a leading system message is the meta instruction, user/assistant pairs the history, the last user message the query. */
function messagesSource(messages: readonly ChatMessage[]): IxcPromptSource {
  const text = (m: ChatMessage): string => {
    if (typeof m.content !== 'string')
      throw new AppError('bad-input', 'InternLM-XComposer-2.5 prompts take text messages only', { subject: 'prompt' });
    return m.content;
  };
  let rest = [...messages];
  let meta: string | undefined;
  if (rest[0]?.role === 'system') {
    meta = text(rest[0]);
    rest = rest.slice(1);
  }
  const last = rest.pop();
  if (!last || last.role !== 'user')
    throw new AppError('bad-input', 'the conversation must end with a user message', { subject: 'prompt' });
  const history: IxcTurn[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const u = rest[i]!;
    const a = rest[i + 1];
    if (u.role !== 'user' || a?.role !== 'assistant')
      throw new AppError('bad-input', 'the conversation must alternate user and assistant messages', {
        subject: 'prompt',
      });
    history.push({ user: text(u), assistant: text(a) });
  }
  return { query: text(last), render: { ...(meta !== undefined ? { meta } : {}), history } };
}

export class IxcAppSession {
  readonly family = 'ixc' as const;

  private constructor(
    readonly session: IxcSession,
    readonly encoder: IxcVisionEncoder,
    readonly modelId: string,
    private readonly cache: FeatureCache | undefined,
    readonly epFallback: string | undefined,
    private readonly releaseRuntime: () => Promise<void>,
  ) {}

  static async open(o: LlavaSessionOptions): Promise<IxcAppSession> {
    refuseUnsupported(o);
    const lease = acquireRuntime();
    let session: IxcSession | undefined;
    try {
      const chosen = await lease.runtime.choose(o.ep ?? 'auto');
      session = await IxcSession.open(o.modelDir, {
        ep: chosen.ep,
        runtime: lease.runtime,
        ...(o.attentionLayers ? { captureLayers: o.attentionLayers } : {}),
        ...(o.adapter ? { adapter: o.adapter } : {}),
      });
      const checkpoint = session.model.checkpoint;
      const encoder = new IxcVisionEncoder(checkpoint, { ep: chosen.ep, runtime: lease.runtime });
      const id = await modelId({
        modelDir: o.modelDir,
        weightFiles: [...new Set(checkpoint.names().map((n) => checkpoint.get(n).location))],
        format: 'fp32',
        ...(o.adapter ? { adapterDir: o.adapter.dir } : {}),
      });
      const cache = o.featureCacheDir ? new FeatureCache(o.featureCacheDir) : undefined;
      return new IxcAppSession(session, encoder, id, cache, chosen.fallbackReason, () => lease.release());
    } catch (e) {
      try {
        await session?.close();
      } finally {
        await lease.release();
      }
      throw e;
    }
  }

  get ep(): ExplicitEp {
    return this.session.runner.ep;
  }

  get weights(): string {
    return 'fp32: InternLM-XComposer-2.5 runs in fp32';
  }

  get tokenizer(): TextTokenizer {
    return this.session.tokenizer;
  }

  get captureLayers(): readonly number[] {
    return this.session.runner.captureLayers;
  }

  /** Side of the global view the attention maps cover, in pixels (560 for IXC2.5). */
  get mapImageSize(): number {
    return this.encoder.spec.cropSize;
  }

  /** Each image's embedded rows: hd_num from the prompt's image count; files and buffers through the feature cache. */
  async embed(images: readonly SessionImage[]): Promise<IxcImageEmbedding[]> {
    const hdNum = ixcHdNum(this.encoder.spec, images.length);
    const out: IxcImageEmbedding[] = [];
    for (const [i, image] of images.entries()) {
      if (typeof image === 'string' || Buffer.isBuffer(image)) {
        const cache = this.cache ? { cache: this.cache, modelId: this.modelId } : undefined;
        out.push(
          ...(await this.encoder.embedImages([image], {
            hdNum,
            ...(cache ? { cache } : {}),
            ...(typeof image === 'string' ? {} : { label: `image ${i + 1}` }),
          })),
        );
      } else {
        checkRgb(image, i);
        out.push(
          await this.encoder.embedPixels(hdTransformRgb(image, hdNum, { cropSize: this.encoder.spec.cropSize }), hdNum),
        );
      }
    }
    return out;
  }

  /** Each image's embedded rows [length * hidden] (what the DPO trainer feeds), as embed() gives them. */
  async features(images: readonly SessionImage[]): Promise<Float32Array[]> {
    return (await this.embed(images)).map((e) => e.rows);
  }

  /** One generation (greedy by default) with its IXC read-out: per-image means and the global-view maps. */
  async answer(
    r: RespondRequest,
  ): Promise<Answer & { ixc: IxcAnswer; imageMaps: IxcImageMaps[]; geometries: HdGeometry[] }> {
    const source = ixcPromptSource(r);
    const embedded = await this.embed(r.images);
    const res = await this.session.answer({
      prompt: source,
      images: embedded.map((e) => e.rows),
      grids: embedded.map((e): HdGrid => e.layout.grid),
      ...(r.maxNewTokens !== undefined ? { maxNewTokens: r.maxNewTokens } : {}),
      ...(r.sampling ? { sampling: r.sampling } : {}),
      ...(r.stopStrings ? { stopStrings: r.stopStrings } : {}),
      ...(r.includePrefillRow !== undefined ? { includePrefillRow: r.includePrefillRow } : {}),
      ...(r.signal ? { signal: r.signal } : {}),
    });
    const imageMaps = res.generation.attention.map((a, k) => ({
      layer: a.layer,
      images: a.images.map((img, i) => {
        const layout = embedded[i]!.layout;
        return {
          mean: img.mean,
          contentMean: res.imageMeans[k]!.images[i]!.content,
          map: globalMap(img.map, layout),
          side: layout.side,
        };
      }),
    }));
    const geometries = embedded.map((e) => e.geometry);
    return {
      generation: res.generation,
      text: res.text,
      timing: res.timing,
      selection: this.selection(imageMaps[0], geometries),
      ixc: res,
      imageMaps,
      geometries,
    };
  }

  /**
   * Selection reads the global view (issue 16: "the pic-in-pic / grid maps taken from the global view"): its
   * side x side tokens are the maps; the sequence format's means are the whole spans'. The global view is the padded
   * canvas resized to the crop size, the image at its top-left: `hd` preprocessing of the first image (grid and
   * pic-in-pic show one).
   */
  private selection(layer: IxcImageMaps | undefined, geometries: readonly HdGeometry[]): SelectionMaps {
    const size = this.encoder.spec.cropSize;
    const side = this.encoder.spec.side;
    const g = geometries[0];
    const preprocessing: MapPreprocessing = g
      ? {
          mode: 'hd',
          size,
          scale: {
            x: ((g.resized.width / g.source.width) * size) / g.padded.width,
            y: ((g.resized.height / g.source.height) * size) / g.padded.height,
          },
        }
      : { mode: 'hd', size, scale: { x: 1, y: 1 } };
    const coverage = geometries.map((e) => ({
      x: e.resized.width / e.padded.width,
      y: e.resized.height / e.padded.height,
    }));
    if (!layer || layer.images.length === 0)
      return { ...emptySelection(geometries.length, side, preprocessing), coverage };
    return {
      maps: layer.images.map((i) => i.map),
      means: layer.images.map((i) => i.mean),
      side,
      preprocessing,
      coverage,
    };
  }

  async respond(r: RespondRequest): Promise<RespondResult> {
    const sessionsBefore = this.session.runner.sessionMs;
    const { generation: res, text, imageMaps, timing } = await this.answer(r);
    const layers: AttentionSummary[] = imageMaps.map((l) => ({
      layer: l.layer,
      per_image_mean: l.images.map((i) => i.mean),
      per_image_content_mean: l.images.map((i) => i.contentMean ?? Number.NaN),
      maps: l.images.map((i) =>
        Array.from({ length: i.side }, (_, y) => Array.from(i.map.subarray(y * i.side, (y + 1) * i.side))),
      ),
    }));
    return {
      input_ids: res.inputIds,
      tokens: res.tokens,
      text,
      image_spans: res.imageSpans,
      attention: layers[0] ?? { layer: this.captureLayers[0]!, per_image_mean: [], maps: [] },
      attention_layers: layers,
      ppl_maxprob: res.pplMaxProb,
      ppl: res.ppl,
      token_logprobs: res.tokenLogprobs,
      token_max_probs: res.tokenMaxProbs,
      stop_reason: res.stopReason,
      timing: {
        prefill_ms: timing.prefillMs,
        decode_ms: timing.decodeMs,
        sessions_ms: this.session.runner.sessionMs - sessionsBefore,
      },
    };
  }

  /** Each response followed by the end of turn, as IxcSession.score does. */
  async score(r: ScoreRequest): Promise<ScoreResultJson> {
    const embedded = await this.embed(r.images);
    const res = await this.session.score(
      ixcPromptSource(r),
      embedded.map((e) => e.rows),
      r.responses,
    );
    return {
      input_ids: res.inputIds,
      response_ids: r.responses.map((t) => this.session.responseIds(t)),
      token_logprobs: res.tokenLogprobs,
      sum_logprob: res.sumLogprobs,
    };
  }

  async close(): Promise<void> {
    try {
      await this.encoder.release();
    } finally {
      try {
        await this.session.close();
      } finally {
        await this.releaseRuntime();
      }
    }
  }
}

/** The global view's side x side map, row-major, from an image's attention over its whole span. */
export function globalMap(span: ArrayLike<number>, layout: HdTokenLayout): Float32Array {
  const out = new Float32Array(layout.globalMap.length);
  layout.globalMap.forEach((offset, k) => (out[k] = span[offset] as number));
  return out;
}

function checkRgb(image: RgbImage, i: number): void {
  if (image.data.length !== image.width * image.height * 3)
    throw new AppError(
      'bad-input',
      `image ${i + 1} has ${image.data.length} bytes; ${image.width}x${image.height} RGB needs ${image.width * image.height * 3}`,
      { subject: `image ${i + 1}` },
    );
}
