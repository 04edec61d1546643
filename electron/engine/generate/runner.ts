// Sessions of one opened LLaVA model on one execution provider: the vision
// graph, the prefill and decode-step graphs (with the chosen attention layers
// as outputs) and batched scoring graphs, built lazily and reused. On WebGPU
// the KV cache outputs stay on the GPU (gpu-buffer) between decode steps.
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { serializeModel } from '../onnx/serialize';
import type { Graph } from '../onnx/graph';
import type { ExplicitEp, LocalSession, OutputLocation } from '../runtime/local';
import { createLocalSession } from '../runtime/local';
import type { LinearHooks } from '../models/nn';
import type { TextGraphOptions } from '../models/llava';
import { buildTextGraph, buildVisionGraph, cacheNames } from '../models/llava';
import type { OpenModel } from '../models/open';
import type { Params } from '../models/params';
import { rotaryTables } from '../models/nn';

export interface RunnerOptions {
  ep: ExplicitEp;
  /** Decoder layers whose attention rows decode steps output (default: the middle layer). */
  captureLayers?: readonly number[];
  /** LoRA or other graph-level changes to the language model (see lora.ts). */
  textGraph?: { hooks?: (g: Graph) => LinearHooks; params?: (g: Graph) => Params; feeds?: () => Record<string, ort.Tensor> };
  /** CPU: keep weights file-backed instead of prepacked copies (lower peak memory, slower). */
  disablePrepacking?: boolean;
  /** onnxruntime intra-op threads (default: its own choice, all cores). */
  threads?: number;
}

export class LlavaRunner {
  readonly captureLayers: readonly number[];
  private readonly sessions = new Map<string, Promise<LocalSession>>();

  constructor(
    readonly model: OpenModel,
    readonly options: RunnerOptions,
  ) {
    const n = model.spec.text.numLayers;
    this.captureLayers = options.captureLayers ?? [Math.floor(n / 2)];
    for (const l of this.captureLayers) {
      if (!Number.isInteger(l) || l < 0 || l >= n) throw new AppError('bad-input', `attention layer ${l} does not exist: the model has layers 0-${n - 1}`, { subject: 'attention-layer' });
    }
  }

  get ep(): ExplicitEp {
    return this.options.ep;
  }

  private session(key: string, build: () => Graph, outputs?: Record<string, OutputLocation>): Promise<LocalSession> {
    let s = this.sessions.get(key);
    if (!s) {
      const opts = {
        ep: this.options.ep,
        externalDataFolder: this.model.dir,
        ...(this.options.disablePrepacking ? { disablePrepacking: true } : {}),
        ...(this.options.threads ? { intraOpThreads: this.options.threads } : {}),
      };
      s = createLocalSession(serializeModel(build()), outputs && this.options.ep === 'webgpu' ? { ...opts, preferredOutputLocation: outputs } : opts);
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Image features [F, D] of one preprocessed image (Float32Array [3, S, S]). */
  async imageFeatures(pixels: Float32Array): Promise<Float32Array> {
    const s = this.model.spec.vision.imageSize;
    if (pixels.length !== 3 * s * s) {
      throw new AppError('bad-input', `pixel values have ${pixels.length} elements; this model expects [3, ${s}, ${s}] = ${3 * s * s}`, { subject: 'pixel_values' });
    }
    const session = await this.session('vision', () => buildVisionGraph(this.model.spec, this.model.checkpoint, 1));
    const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, s, s]) });
    return out['image_features']!.data as Float32Array;
  }

  private textOptions(o: TextGraphOptions): TextGraphOptions {
    const tg = this.options.textGraph;
    return { ...o, ...(tg?.hooks ? { hooks: tg.hooks } : {}), ...(tg?.params ? { params: tg.params } : {}) };
  }

  /** Runs a text session with the runner's extra feeds (unmerged LoRA weights) added. */
  private async runText(session: LocalSession, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    return session.run({ ...feeds, ...(this.options.textGraph?.feeds?.() ?? {}) });
  }

  /**
   * One generation step: new tokens (with images) on the cache in `feeds` (`past_*`). The
   * cache outputs (`present_*`) stay on the GPU with WebGPU; logits and attention rows come back.
   */
  async step(feeds: Record<string, ort.Tensor>, batch = 1): Promise<Record<string, ort.Tensor>> {
    const n = this.model.spec.text.numLayers;
    const outputs: Record<string, OutputLocation> = { logits: 'cpu' };
    for (let i = 0; i < n; i++) {
      outputs[cacheNames(i, 'present').keyT] = 'gpu-buffer';
      outputs[cacheNames(i, 'present').value] = 'gpu-buffer';
    }
    for (const l of this.captureLayers) outputs[`attention_${l}`] = 'cpu';
    const options = this.textOptions({ batch, mode: 'decode', output: 'last', cache: true, capture: this.captureLayers });
    const session = await this.session(`step${batch}`, () => buildTextGraph(this.model.spec, this.model.checkpoint, options), outputs);
    return this.runText(session, feeds);
  }

  /** The prefill: a step on an empty cache, so one session (one copy of the weights) serves the whole generation. */
  prefill(feeds: Record<string, ort.Tensor>, batch = 1): Promise<Record<string, ort.Tensor>> {
    const t = this.model.spec.text;
    const empty: Record<string, ort.Tensor> = {};
    for (let i = 0; i < t.numLayers; i++) {
      empty[cacheNames(i, 'past').keyT] = new ort.Tensor('float32', new Float32Array(0), [batch, t.numKvHeads, t.headDim, 0]);
      empty[cacheNames(i, 'past').value] = new ort.Tensor('float32', new Float32Array(0), [batch, t.numKvHeads, 0, t.headDim]);
    }
    return this.step({ ...feeds, ...empty }, batch);
  }

  /** Log-probs of `targets` at every position of a batch of `batch` whole sequences (no cache). */
  async score(batch: number, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const options = this.textOptions({ batch, mode: 'prefill', output: 'targets', cache: false, capture: [] });
    const session = await this.session(`score${batch}`, () => buildTextGraph(this.model.spec, this.model.checkpoint, options));
    return this.runText(session, feeds);
  }

  /** The rotary-table feeds [B, T, hd] for queries at `positions[b][t]` (one row per sequence of the batch). */
  rope(positions: readonly (readonly number[])[]): Record<string, ort.Tensor> {
    const { cos, sin } = rotaryTables(this.model.spec.text, positions.flat());
    const dims = [positions.length, positions[0]!.length, this.model.spec.text.headDim];
    return { rope_cos: new ort.Tensor('float32', cos, dims), rope_sin: new ort.Tensor('float32', sin, dims) };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
