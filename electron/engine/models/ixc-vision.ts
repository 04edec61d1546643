// InternLM-XComposer-2.5's vision side as engine graphs: the HD transform's
// crops (engine/vision/hd-transform.ts) through the CLIP tower under `vit.`
// (llava.ts's tower, its weight prefix moved), the last encoder layer's output
// without the class token, the 2x2 token merge, `vision_proj`
// (Linear-GELU-Linear), and the per-image layout with the `plora_glb_GN` /
// `plora_sub_GN` separators (engine/vision/hd-layout.ts), as the official
// `CLIPVisionTower.forward` + `vision_proj` compute it (build_mlp.py,
// modeling_internlm_xcomposer2.py img2emb). vision_proj works row by row, so the
// graph projects each crop's merged tokens and the two separators once, and
// the host lays the projected rows out: one session serves every crop grid
// (decision 0721).
import { AppError } from '../../../shared/errors';
import { Graph, type Value } from '../onnx/graph';
import { serializeModel } from '../onnx/serialize';
import * as op from '../onnx/ops';
import type { ExplicitEp } from '../runtime/local';
import { wire, type WireTensor } from '../runtime/protocol';
import { acquireRuntime, type EngineRuntime, type RuntimeLease } from '../runtime/runtime';
import { decodeImage, type DecodeOptions, type ImageInput } from '../vision/decode-image';
import { imageContentHash, type FeatureCache } from '../vision/feature-cache';
import { hdTokenLayout, type HdGrid, type HdTokenLayout, type TokenRun } from '../vision/hd-layout';
import { hdGeometry, hdTransformImage, type HdGeometry, type HdPixels, type HdVariant } from '../vision/hd-transform';
import type { IxcConfig } from './config-ixc';
import { visionHiddenStates, type VisionSpec } from './llava';
import { gelu, linear, staticDim } from './nn';
import { externalParams, type Params, type WeightSource } from './params';

/** Where IXC2.5 keeps its CLIP tower (`self.vit.vision_tower`, a transformers CLIPVisionModel). */
export const IXC_VIT_PREFIX = 'vit.vision_tower.vision_model.';

export interface IxcVisionSpec {
  tower: VisionSpec;
  /** Pixels per crop side, also the global view's (560). */
  cropSize: number;
  /** ViT patches per crop side (40). */
  patchSide: number;
  /** Merged tokens per crop side (20). */
  side: number;
  /** ViT width C; a merged token has 4C channels. */
  width: number;
  /** vision_proj's output: the language model's hidden size. */
  hidden: number;
  /** hd_num for a prompt with one image, and with several (24 / 6 in the chat code). */
  hdNum: number;
  hdNumMulti: number;
}

export function ixcVisionSpec(c: IxcConfig): IxcVisionSpec {
  const v = c.vision_config;
  if (c.merge !== 2)
    throw new AppError('internal', `the IXC vision graph merges 2x2 tokens, the config says ${c.merge}`);
  return {
    tower: {
      modelType: 'clip_vision_model',
      hiddenSize: v.hidden_size,
      intermediateSize: v.intermediate_size,
      numLayers: v.num_hidden_layers,
      numHeads: v.num_attention_heads,
      imageSize: v.image_size,
      patchSize: v.patch_size,
      layerNormEps: v.layer_norm_eps,
      hiddenAct: v.hidden_act,
    },
    cropSize: v.image_size,
    patchSide: v.grid,
    side: v.merged_side,
    width: v.hidden_size,
    hidden: c.hidden_size,
    hdNum: c.hd_num,
    hdNumMulti: c.hd_num_multi,
  };
}

/** The hd_num a prompt holding `imageCount` images uses (the chat code forces the multi-image one). */
export function ixcHdNum(spec: IxcVisionSpec, imageCount: number): number {
  return imageCount > 1 ? spec.hdNumMulti : spec.hdNum;
}

// ---------------------------------------------------------------- graph pieces

/**
 * 2x2 merge of one crop's patch tokens [N, g*g, C] -> [N, (g/2)^2, 4C]: merged token (i, j) holds
 * the patches (2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1) as consecutive C-channel blocks
 * (build_mlp's reshape(H/2, 2, H/2, 2, C).permute(0, 1, 3, 2, 4, 5)). Written with a rank-4 transpose:
 * [N*g/2, 2 (row in pair), g/2, 2C (column pair)] -> swap the middle axes.
 */
export function mergeTokens2x2(x: Value, patchSide: number): Value {
  const [n, c, h] = [staticDim(x, 0), staticDim(x, 2), patchSide / 2];
  if (staticDim(x, 1) !== patchSide * patchSide || patchSide % 2 !== 0)
    throw new AppError('internal', `2x2 merge of ${x}: expected ${patchSide}^2 tokens with an even side`);
  const pairs = op.transpose(op.reshape(x, [n * h, 2, h, 2 * c]), [0, 2, 1, 3]); // [N*h, h, 2, 2C]
  return op.reshape(pairs, [n, h * h, 4 * c]);
}

/** vision_proj: Linear(4C, H) -> GELU (exact erf, nn.GELU()) -> Linear(H, H) over x [B, T, 4C]. */
export function visionProj(p: Params, x: Value): Value {
  const lin = (i: number, v: Value): Value =>
    linear(v, p.get(`vision_proj.${i}.weight`), p.get(`vision_proj.${i}.bias`), `vision_proj.${i}`);
  return lin(2, gelu(lin(0, x)));
}

/**
 * Crops [N, 3, S, S] (global views and sub crops alike) -> projected merged tokens [N, side^2, H]:
 * `hidden_states[-1]` (every encoder layer, no post_layernorm), class token dropped, 2x2 merge, vision_proj.
 */
export function ixcCropEmbeddings(p: Params, spec: IxcVisionSpec, pixels: Value): Value {
  const [last] = visionHiddenStates(p, spec.tower, pixels, [spec.tower.numLayers], IXC_VIT_PREFIX);
  const patches = op.slice(last!, [1], [Number.MAX_SAFE_INTEGER], [1]); // [N, g*g, C]
  return visionProj(p, mergeTokens2x2(patches, spec.patchSide));
}

/** [2, H]: vision_proj(plora_glb_GN), vision_proj(plora_sub_GN). */
export function ixcSeparatorEmbeddings(p: Params, spec: IxcVisionSpec): Value {
  const d = 4 * spec.width;
  const seps = op.concat(
    [op.reshape(p.get('plora_glb_GN'), [1, 1, d]), op.reshape(p.get('plora_sub_GN'), [1, 1, d])],
    1,
  );
  return op.reshape(visionProj(p, seps), [2, spec.hidden]);
}

/**
 * The vision graph: `pixel_values` [crops, 3, S, S] -> `crop_embeddings` [crops, side^2, H] and
 * `separator_embeddings` [2, H] (glb, sub; constant, folded by onnxruntime at session creation).
 * `crops` is static (the tower's builders need it); the encoder runs one crop per call by default.
 */
export function buildIxcVisionGraph(spec: IxcVisionSpec, source: WeightSource, crops = 1): Graph {
  const g = new Graph('ixc_vision');
  const p = externalParams(g, source);
  const s = spec.cropSize;
  const pixels = g.input('pixel_values', 'float32', [crops, 3, s, s]);
  g.output(ixcCropEmbeddings(p, spec, pixels), 'crop_embeddings');
  g.output(ixcSeparatorEmbeddings(p, spec), 'separator_embeddings');
  return g;
}

// ---------------------------------------------------------------- layout

/**
 * One image's rows in sequence order, from its projected crop tokens `crops` [1 + rows*cols, side^2, H]
 * (global view first, then the crops row-major) and `separators` [2, H] (glb, sub): the global view's
 * rows each followed by sub, then glb, then the stitched crop grid's rows each followed by sub
 * (hd-layout.ts's map of the official forward). Returns [layout.length, H].
 */
export function ixcLayoutRows(
  crops: Float32Array,
  separators: Float32Array,
  grid: HdGrid,
  side: number,
  hidden: number,
): { rows: Float32Array; layout: HdTokenLayout } {
  const layout = hdTokenLayout(grid, side);
  const n = 1 + grid.rows * grid.cols;
  const perCrop = side * side * hidden;
  if (crops.length !== n * perCrop)
    throw new AppError('internal', `crop embeddings hold ${crops.length} values, expected ${n * perCrop}`);
  if (separators.length !== 2 * hidden)
    throw new AppError('internal', `separator embeddings hold ${separators.length} values, expected ${2 * hidden}`);
  const rows = new Float32Array(layout.length * hidden);
  const put = (k: number, i: number, j: number, t: number): void => {
    const from = k * perCrop + (i * side + j) * hidden;
    rows.set(crops.subarray(from, from + hidden), t * hidden);
  };
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) put(0, i, j, layout.globalMap[i * side + j] as number);
  const hdCols = side * grid.cols;
  for (let i = 0; i < side * grid.rows; i++) {
    for (let j = 0; j < hdCols; j++) {
      const k = 1 + Math.floor(i / side) * grid.cols + Math.floor(j / side);
      put(k, i % side, j % side, layout.hdMap[i * hdCols + j] as number);
    }
  }
  const glb = separators.subarray(0, hidden);
  const sub = separators.subarray(hidden, 2 * hidden);
  for (const s of layout.separators) rows.set(s === layout.glbSeparator ? glb : sub, s * hidden);
  return { rows, layout };
}

// ---------------------------------------------------------------- encoder

/** One image as the language model takes it. */
export interface IxcImageEmbedding {
  /** [length, hidden], in sequence order, separators included (all of it is im_mask = 1). */
  rows: Float32Array;
  length: number;
  hidden: number;
  /** Content runs, separator offsets, global / crop-grid token maps, as offsets from the image's first row. */
  layout: HdTokenLayout;
  /** Where the image's pixels went (resize, padding, grid). */
  geometry: HdGeometry;
  hdNum: number;
}

/** Spans of images laid out one after another (e.g. `image_features` rows), for attention read-out. */
export interface IxcImageSpan {
  /** First row of the image. */
  start: number;
  length: number;
  /** Runs of ViT tokens, absolute. */
  content: TokenRun[];
  /** Separator rows (sub_GN and the one glb_GN), absolute. */
  separators: Int32Array;
}

/** The images' rows concatenated [sum of lengths, H], with each image's span in them (or from `starts`). */
export function concatIxcImages(
  images: readonly IxcImageEmbedding[],
  starts?: readonly number[],
): { rows: Float32Array; spans: IxcImageSpan[] } {
  const hidden = images[0]?.hidden ?? 0;
  const rows = new Float32Array(images.reduce((n, e) => n + e.rows.length, 0));
  const spans: IxcImageSpan[] = [];
  let at = 0;
  images.forEach((e, i) => {
    rows.set(e.rows, at * hidden);
    const start = starts?.[i] ?? at;
    spans.push({
      start,
      length: e.length,
      content: e.layout.content.map((r) => ({ start: start + r.start, length: r.length })),
      separators: e.layout.separators.map((s) => s + start),
    });
    at += e.length;
  });
  return { rows, spans };
}

/** The on-disk feature cache and the id of the weights the rows come from (generate/model-id.ts). */
export interface IxcFeatureCacheUse {
  cache: FeatureCache;
  modelId: string;
}

/** What the encoder reads: IxcCheckpoint is one. */
export interface IxcVisionSource extends WeightSource {
  readonly dir: string;
  readonly config: IxcConfig;
}

export interface IxcVisionOptions {
  ep: ExplicitEp;
  /** The session host; default the process's shared one (a lease held until `release()`). */
  runtime?: EngineRuntime;
  /** Crops per graph run (static in the graph; the last run of an image is padded). Default 1. */
  batch?: number;
  threads?: number;
  disablePrepacking?: boolean;
}

/**
 * Images -> embedding rows: the HD transform (hd_num from the prompt's image count), the vision graph
 * on every crop, the layout on the host. Each image is encoded on its own, as the chat code does.
 */
export class IxcVisionEncoder {
  readonly spec: IxcVisionSpec;
  readonly runtime: EngineRuntime;
  readonly batch: number;
  private readonly lease: RuntimeLease | undefined;
  private session: Promise<string> | undefined;
  private separators: Float32Array | undefined;
  private released = false;

  constructor(
    readonly source: IxcVisionSource,
    readonly options: IxcVisionOptions,
  ) {
    this.spec = ixcVisionSpec(source.config);
    this.batch = options.batch ?? 1;
    if (!Number.isInteger(this.batch) || this.batch < 1)
      throw new AppError('bad-input', `vision batch must be a positive integer, got ${this.batch}`);
    this.lease = options.runtime ? undefined : acquireRuntime();
    this.runtime = options.runtime ?? this.lease!.runtime;
  }

  private sessionId(): Promise<string> {
    if (this.released)
      return Promise.reject(
        new AppError('conflict', `the model ${this.source.dir} has been closed`, { subject: this.source.dir }),
      );
    if (!this.session) {
      const o = this.options;
      const s = this.runtime
        .createSession(serializeModel(buildIxcVisionGraph(this.spec, this.source, this.batch)), {
          ep: o.ep,
          externalDataFolder: this.source.dir,
          ...(o.disablePrepacking ? { disablePrepacking: true } : {}),
          ...(o.threads ? { intraOpThreads: o.threads } : {}),
        })
        .then((info) => info.id);
      s.catch(() => {
        if (this.session === s) this.session = undefined;
      });
      this.session = s;
    }
    return this.session;
  }

  /**
   * Projected merged tokens [count, side^2, H] of views 0..count-1, `view(k)` giving view k's pixels
   * [3, S, S]: `batch` views per graph run, the last run zero-padded.
   */
  private async runViews(view: (k: number) => Float32Array, count: number): Promise<Float32Array> {
    const s = this.spec.cropSize;
    const plane = 3 * s * s;
    const b = this.batch;
    const session = await this.sessionId();
    const per = this.spec.side * this.spec.side * this.spec.hidden;
    const out = new Float32Array(count * per);
    const packed = b > 1 ? new Float32Array(b * plane) : undefined;
    for (let at = 0; at < count; at += b) {
      const n = Math.min(b, count - at);
      let pixels: Float32Array;
      if (packed) {
        packed.fill(0);
        for (let k = 0; k < n; k++) packed.set(view(at + k), k * plane);
        pixels = packed;
      } else pixels = view(at);
      const result = await this.runtime.run(session, { pixel_values: wire('float32', pixels, [b, 3, s, s]) });
      const tokens = (result.crop_embeddings as WireTensor).data as Float32Array;
      this.separators ??= Float32Array.from((result.separator_embeddings as WireTensor).data as Float32Array);
      out.set(tokens.subarray(0, n * per), at * per);
    }
    return out;
  }

  /** One transformed image -> its rows: the global view and the crops through the graph, then the layout. */
  async embedPixels(pixels: HdPixels, hdNum: number): Promise<IxcImageEmbedding> {
    const s = this.spec.cropSize;
    const { rows: gr, cols: gc } = pixels.geometry;
    const plane = 3 * s * s;
    if (pixels.global.data.length !== plane || pixels.crops.data.length !== gr * gc * plane)
      throw new AppError(
        'internal',
        `HD pixels do not match the model's ${s} px crops (global ${pixels.global.dims.join('x')}, crops ${pixels.crops.dims.join('x')})`,
      );
    const view = (k: number): Float32Array =>
      k === 0 ? pixels.global.data : pixels.crops.data.subarray((k - 1) * plane, k * plane);
    const tokens = await this.runViews(view, 1 + gr * gc);
    const { rows, layout } = ixcLayoutRows(
      tokens,
      this.separators!,
      { rows: gr, cols: gc },
      this.spec.side,
      this.spec.hidden,
    );
    return { rows, length: layout.length, hidden: this.spec.hidden, layout, geometry: pixels.geometry, hdNum };
  }

  /**
   * The images of one prompt, in order. `imageCount` (default: the number of inputs) is the prompt's
   * image count, which picks hd_num (config hd_num for one, hd_num_multi for several) unless `hdNum` is given.
   * With `cache`, rows are read from and written to the on-disk feature cache, keyed by the image's
   * bytes, `cache.modelId` and the HD settings; a hit decodes the image only for its geometry.
   */
  async embedImages(
    inputs: readonly ImageInput[],
    o: { imageCount?: number; hdNum?: number; variant?: HdVariant; cache?: IxcFeatureCacheUse } & DecodeOptions = {},
  ): Promise<IxcImageEmbedding[]> {
    const hdNum = o.hdNum ?? ixcHdNum(this.spec, o.imageCount ?? inputs.length);
    const hd = { cropSize: this.spec.cropSize, ...(o.variant ? { variant: o.variant } : {}) };
    const decode: DecodeOptions = {
      applyExif: o.applyExif ?? false, // the official code's plain Image.open
      ...(o.label !== undefined ? { label: o.label } : {}),
    };
    const out: IxcImageEmbedding[] = [];
    for (const input of inputs) {
      const key = o.cache
        ? {
            imageSha256: await imageContentHash(input),
            modelId: o.cache.modelId,
            preprocessingId: `ixc-hd/${o.variant ?? 'chat'}/hd${hdNum}/crop${this.spec.cropSize}/exif${decode.applyExif ? 1 : 0}`,
          }
        : undefined;
      const hit = key && (await o.cache!.cache.get(key));
      if (hit) {
        const image = await decodeImage(input, decode);
        const geometry = hdGeometry(image.width, image.height, hdNum, hd);
        const layout = hdTokenLayout({ rows: geometry.rows, cols: geometry.cols }, this.spec.side);
        if (hit.dims.length === 2 && hit.dims[0] === layout.length && hit.dims[1] === this.spec.hidden) {
          out.push({ rows: hit.data, length: layout.length, hidden: this.spec.hidden, layout, geometry, hdNum });
          continue;
        }
      }
      const e = await this.embedPixels(await hdTransformImage(input, hdNum, { ...hd, ...decode }), hdNum);
      if (key) await o.cache!.cache.put(key, { data: e.rows, dims: [e.length, e.hidden] });
      out.push(e);
    }
    return out;
  }

  /** Releases the session and the runtime lease; later calls are refused. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const s = this.session;
    this.session = undefined;
    try {
      if (s) await this.runtime.release(await s).catch(() => undefined);
    } finally {
      await this.lease?.release();
    }
  }
}
