// The graphs of one opened model, run by the process's session host
// (engine/runtime, a worker thread): one text graph per batch size that serves
// prefill and decode steps (with the chosen attention layers as outputs), and
// batched scoring graphs, built lazily; LlavaRunner adds the vision graph. The
// family's text graphs come through `TextFamily` (llava.ts or ixc.ts builders),
// so generate/score drive every family alike. The KV cache never crosses the
// thread: each step keeps its `present_*` outputs in the worker (on the GPU
// with WebGPU) as handles the next step consumes.
import type ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { serializeModel } from '../onnx/serialize';
import type { Graph } from '../onnx/graph';
import type { ExplicitEp, OutputLocation } from '../runtime/local';
import { isHandle, wire, type Feed, type TensorData, type TensorHandle, type WireTensor } from '../runtime/protocol';
import { acquireRuntime, type EngineRuntime, type RuntimeLease } from '../runtime/runtime';
import type { DType } from '../onnx/dtype';
import type { LinearHooks } from '../models/nn';
import { cacheNames, type DecoderDims, type DecoderGraphOptions } from '../models/decoder';
import { buildTextGraph, buildVisionGraph } from '../models/llava';
import type { OpenModel } from '../models/open';
import type { Params } from '../models/params';
import { rotaryTables } from '../models/nn';
import type { ComputeType } from '../weights/external';
import type { WeightsDecision } from './weights-choice';

export interface RunnerOptions {
  /** The EP every graph asks for; a graph the EP cannot run falls back to CPU in the host (with a warning). */
  ep: ExplicitEp;
  /** The session host; default the process's shared one (a lease held until `release()`). */
  runtime?: EngineRuntime;
  /** Decoder layers whose attention rows decode steps output (default: the middle layer). */
  captureLayers?: readonly number[];
  /** LoRA or other graph-level changes to the language model (see lora.ts); `feeds` are sent to the host once. */
  textGraph?: {
    hooks?: (g: Graph) => LinearHooks;
    params?: (g: Graph) => Params;
    feeds?: () => Record<string, ort.Tensor>;
    /** The folder the text graphs' external data lives in when `params` reads another file (quantized weights). */
    weightsDir?: string;
    /** The text graphs dequantize weights at run time: onnxruntime must not fold them into float copies. */
    quantized?: boolean;
  };
  /** CPU: keep weights file-backed instead of prepacked copies (lower peak memory, slower). */
  disablePrepacking?: boolean;
  /** The weight format the text graphs compute in and why (load.ts); absent: fp32, never checked. */
  weights?: WeightsDecision;
  /** onnxruntime intra-op threads (default: its own choice, all cores). */
  threads?: number;
  /** CPU: onnxruntime's arena allocator for this runner's sessions (default: onnxruntime's, on). */
  cpuMemArena?: boolean;
}

/** A step's outputs: `logits` and `attention_<layer>` as values, the `present_*` cache as handles kept in the host. */
export type StepOutputs = Record<string, WireTensor | TensorHandle>;

/** The values of output `name`, which must have come back as values. */
export function valuesOf(out: StepOutputs, name: string): Float32Array {
  const t = out[name];
  if (t === undefined || isHandle(t))
    throw new AppError('internal', `the graph returned no values for "${name}"`, { subject: name });
  return t.data as Float32Array;
}

/** The handles among `out` (the kept KV cache). */
export function handlesOf(out: StepOutputs): string[] {
  return Object.values(out).flatMap((t) => (isHandle(t) ? [t.handle] : []));
}

/** What the runner needs of a model family's language model: sizes, prompt facts, the graph builder, the rotary tables. */
export interface TextFamily {
  /** The model folder (external data, error messages). */
  dir: string;
  dims: DecoderDims;
  /** The longest sequence (prompt with images expanded, plus new tokens) the model takes. */
  maxContext: number;
  /** The id marking an image in prompt ids. */
  imageTokenId: number;
  /** Rows every image contributes (LLaVA), or null when each image has its own count (IXC2.5's HD layouts). */
  tokensPerImage: number | null;
  buildTextGraph(o: DecoderGraphOptions): Graph;
  /** cos/sin [B * T * hd] for queries at positions[b][t]; a row's last position + 1 is its length so far (dynamic NTK). */
  rotary(positions: readonly (readonly number[])[]): { cos: Float32Array; sin: Float32Array };
}

/** LLaVA's language model as a TextFamily. */
export function llavaTextFamily(model: OpenModel): TextFamily {
  const t = model.spec.text;
  return {
    dir: model.dir,
    dims: t,
    maxContext: t.maxPositions,
    imageTokenId: model.spec.imageTokenId,
    tokensPerImage: model.spec.tokensPerImage,
    buildTextGraph: (o) => buildTextGraph(model.spec, model.checkpoint, o),
    rotary: (positions) => rotaryTables(t, positions.flat()),
  };
}

/** Runs one model's text graphs (generation steps, scoring) in the session host. */
export class DecoderRunner {
  readonly captureLayers: readonly number[];
  readonly runtime: EngineRuntime;
  private lease: RuntimeLease | undefined;
  private readonly sessions = new Map<string, Promise<string>>();
  private extraFeeds: Promise<Record<string, Feed>> | undefined;
  private released = false;
  /** Wall time spent creating onnxruntime sessions so far (graph build, weight loading, optimization), in ms. */
  sessionMs = 0;

  constructor(
    readonly text: TextFamily,
    readonly options: RunnerOptions,
  ) {
    const n = text.dims.numLayers;
    this.captureLayers = options.captureLayers ?? [Math.floor(n / 2)];
    for (const l of this.captureLayers) {
      if (!Number.isInteger(l) || l < 0 || l >= n)
        throw new AppError('bad-input', `attention layer ${l} does not exist: the model has layers 0-${n - 1}`, {
          subject: 'attention-layer',
        });
    }
    this.lease = options.runtime ? undefined : acquireRuntime();
    this.runtime = options.runtime ?? this.lease!.runtime;
  }

  /** Takes over a lease on `options.runtime` taken before this runner existed (released with it). */
  adoptLease(lease: RuntimeLease): void {
    if (this.lease || lease.runtime !== this.runtime)
      throw new AppError('internal', 'a runner adopts one lease, on the runtime it runs in');
    this.lease = lease;
  }

  get ep(): ExplicitEp {
    return this.options.ep;
  }

  /** The type the graphs compute in: float16 for the fp16 format (weights as stored, fp16 KV cache), else float32. */
  get compute(): ComputeType {
    return this.options.weights?.format === 'fp16' ? 'float16' : 'float32';
  }

  /** The KV cache's type: fp16 for the fp16 format and for the CPU's int8/int4 (llama.cpp's default), else float32. */
  get cacheType(): ComputeType {
    const format = this.options.weights?.format;
    return format === 'fp16' || (this.ep === 'cpu' && (format === 'int8' || format === 'int4')) ? 'float16' : 'float32';
  }

  /** The host's session id for graph `key`, created on first use. */
  protected session(
    key: string,
    build: () => Graph,
    outputs?: Record<string, OutputLocation>,
    weightsDir = this.text.dir,
    quantized = false,
  ): Promise<string> {
    if (this.released)
      return Promise.reject(
        new AppError('conflict', `the model ${this.text.dir} has been closed`, { subject: this.text.dir }),
      );
    let s = this.sessions.get(key);
    if (!s) {
      const opts = {
        ep: this.options.ep,
        externalDataFolder: weightsDir,
        ...(this.options.disablePrepacking ? { disablePrepacking: true } : {}),
        ...(quantized ? { disableConstantFolding: true } : {}),
        ...(this.options.threads ? { intraOpThreads: this.options.threads } : {}),
        ...(this.options.cpuMemArena !== undefined ? { cpuMemArena: this.options.cpuMemArena } : {}),
        // The host applies output locations only to sessions that really run on WebGPU.
        ...(outputs ? { preferredOutputLocation: outputs } : {}),
      };
      const started = performance.now();
      s = this.runtime.createSession(serializeModel(build()), opts).then((info) => {
        this.sessionMs += performance.now() - started;
        return info.id;
      });
      // A failed creation is not cached: the next call tries again and reports its own error.
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  private get textWeightsDir(): string {
    return this.options.textGraph?.weightsDir ?? this.text.dir;
  }

  private textOptions(o: DecoderGraphOptions): DecoderGraphOptions {
    const tg = this.options.textGraph;
    return {
      ...o,
      compute: this.compute,
      cacheType: this.cacheType,
      ...(tg?.hooks ? { hooks: tg.hooks } : {}),
      ...(tg?.params ? { params: tg.params } : {}),
    };
  }

  /** The text graphs' extra inputs (unmerged LoRA weights), kept in the host after their first use. */
  private extras(): Promise<Record<string, Feed>> {
    const feeds = this.options.textGraph?.feeds;
    if (!feeds) return Promise.resolve({});
    this.extraFeeds ??= (async () => {
      const out: Record<string, Feed> = {};
      for (const [name, t] of Object.entries(feeds()))
        out[name] = { handle: (await this.runtime.put(wire(t.type as DType, t.data as TensorData, t.dims))).handle };
      return out;
    })();
    return this.extraFeeds;
  }

  /**
   * One generation step: new tokens (with images) on the cache in `feeds` (`past_*`, handles of the
   * previous step's outputs, consumed: freed by the host once the step is over, even when it fails).
   * The new cache (`present_*`) comes back as handles; logits and attention rows as values.
   */
  async step(feeds: Record<string, Feed>, batch = 1): Promise<StepOutputs> {
    const n = this.text.dims.numLayers;
    const outputs: Record<string, OutputLocation> = { logits: 'cpu' };
    const keep: string[] = [];
    for (let i = 0; i < n; i++) keep.push(cacheNames(i, 'present').keyT, cacheNames(i, 'present').value);
    for (const name of keep) outputs[name] = 'gpu-buffer';
    for (const l of this.captureLayers) outputs[`attention_${l}`] = 'cpu';
    const consumed = Object.values(feeds).flatMap((f) => ('handle' in f ? [f.handle] : []));
    const options = this.textOptions({
      batch,
      mode: 'decode',
      output: 'last',
      cache: true,
      capture: this.captureLayers,
    });
    try {
      const session = await this.session(
        `step${batch}`,
        () => this.text.buildTextGraph(options),
        outputs,
        this.textWeightsDir,
        this.options.textGraph?.quantized,
      );
      return await this.runtime.run(session, { ...feeds, ...(await this.extras()) }, { keep, free: consumed });
    } catch (e) {
      // The run frees what it consumed; a failure before it must not leak the cache either.
      await this.free(consumed).catch(() => undefined);
      throw e;
    }
  }

  /** The prefill: a step on an empty cache, so one session (one copy of the weights) serves the whole generation. */
  prefill(feeds: Record<string, Feed>, batch = 1): Promise<StepOutputs> {
    const t = this.text.dims;
    const empty: Record<string, Feed> = {};
    // An empty cache of the graphs' cache type (a float16 tensor's data is a Uint16Array in the Node binding).
    const none = (dims: number[]): WireTensor =>
      this.cacheType === 'float16'
        ? wire('float16', new Uint16Array(0), dims)
        : wire('float32', new Float32Array(0), dims);
    for (let i = 0; i < t.numLayers; i++) {
      empty[cacheNames(i, 'past').keyT] = none([batch, t.numKvHeads, t.headDim, 0]);
      empty[cacheNames(i, 'past').value] = none([batch, t.numKvHeads, 0, t.headDim]);
    }
    return this.step({ ...feeds, ...empty }, batch);
  }

  /** Frees kept tensors (the cache of a generation that ended or failed); unknown handles are an error. */
  async free(handles: readonly string[]): Promise<void> {
    if (handles.length > 0) await this.runtime.free(...handles);
  }

  /** Log-probs of `targets` at every position of a batch of `batch` whole sequences (no cache). */
  async score(batch: number, feeds: Record<string, WireTensor>): Promise<StepOutputs> {
    const options = this.textOptions({ batch, mode: 'prefill', output: 'targets', cache: false, capture: [] });
    const session = await this.session(
      `score${batch}`,
      () => this.text.buildTextGraph(options),
      undefined,
      this.textWeightsDir,
      this.options.textGraph?.quantized,
    );
    return this.runtime.run(session, { ...feeds, ...(await this.extras()) });
  }

  /** The rotary-table feeds [B, T, hd] for queries at `positions[b][t]` (one row per sequence of the batch). */
  rope(positions: readonly (readonly number[])[]): Record<string, WireTensor> {
    const { cos, sin } = this.text.rotary(positions);
    const dims = [positions.length, positions[0]!.length, this.text.dims.headDim];
    return { rope_cos: wire('float32', cos, dims), rope_sin: wire('float32', sin, dims) };
  }

  /** Releases this model's sessions and kept tensors in the host (and its lease on the shared host). */
  async release(): Promise<void> {
    this.released = true;
    const sessions = await Promise.allSettled([...this.sessions.values()]);
    this.sessions.clear();
    const extras = this.extraFeeds;
    this.extraFeeds = undefined;
    try {
      if (extras) await this.free(Object.values(await extras).flatMap((f) => ('handle' in f ? [f.handle] : [])));
      for (const s of sessions) if (s.status === 'fulfilled') await this.runtime.release(s.value);
    } finally {
      await this.lease?.release();
    }
  }
}

/** A LLaVA model's runner: the text graphs, plus the vision tower. */
export class LlavaRunner extends DecoderRunner {
  constructor(
    readonly model: OpenModel,
    options: RunnerOptions,
  ) {
    super(llavaTextFamily(model), options);
  }

  /** Image features [F, D] of one preprocessed image (Float32Array [3, S, S]). */
  async imageFeatures(pixels: Float32Array): Promise<Float32Array> {
    const s = this.model.spec.vision.imageSize;
    if (pixels.length !== 3 * s * s) {
      throw new AppError(
        'bad-input',
        `pixel values have ${pixels.length} elements; this model expects [3, ${s}, ${s}] = ${3 * s * s}`,
        { subject: 'pixel_values' },
      );
    }
    // The CPU's quantized formats keep the tower's fp16 weights as stored and cast them layer by layer.
    const format = this.options.weights?.format;
    const layerwise = this.ep === 'cpu' && (format === 'int8' || format === 'int4');
    const session = await this.session(
      'vision',
      () => buildVisionGraph(this.model.spec, this.model.checkpoint, 1, this.compute, layerwise),
      undefined,
      this.text.dir,
      layerwise,
    );
    return valuesOf(
      await this.runtime.run(session, { pixel_values: wire('float32', pixels, [1, 3, s, s]) }),
      'image_features',
    );
  }
}
