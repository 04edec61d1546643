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
import type { LinearHooks } from '../models/layers';
import type { TextGraphOptions } from '../models/llava';
import { buildTextGraph, buildVisionGraph, cacheNames } from '../models/llava';
import type { OpenModel } from '../models/open';
import type { Params } from '../models/params';
import { rotaryTables } from '../models/rope';

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

  /**
   * Runs a text graph with the runner's extra feeds (unmerged LoRA weights) added. 'prefill'
   * is the decode-step graph on an empty cache: one session, one copy of the weights.
   */
  async runText(kind: 'prefill' | 'decode' | `score${number}`, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const n = this.model.spec.text.numLayers;
    if (kind === 'prefill') {
      const t = this.model.spec.text;
      const empty: Record<string, ort.Tensor> = {};
      for (let i = 0; i < n; i++) {
        empty[cacheNames(i, 'past').keyT] = new ort.Tensor('float32', new Float32Array(0), [1, t.numKvHeads, t.headDim, 0]);
        empty[cacheNames(i, 'past').value] = new ort.Tensor('float32', new Float32Array(0), [1, t.numKvHeads, 0, t.headDim]);
      }
      return this.runText('decode', { ...feeds, ...empty });
    }
    const gpuCache: Record<string, OutputLocation> = {};
    for (let i = 0; i < n; i++) {
      gpuCache[cacheNames(i, 'present').keyT] = 'gpu-buffer';
      gpuCache[cacheNames(i, 'present').value] = 'gpu-buffer';
    }
    const score = kind.startsWith('score') ? Number(kind.slice(5)) : 0;
    const options: TextGraphOptions = score
      ? { batch: score, mode: 'prefill', output: 'targets', cache: false, capture: [] }
      : { batch: 1, mode: 'decode', output: 'last', cache: true, capture: this.captureLayers };
    const tg = this.options.textGraph;
    if (tg?.hooks) options.hooks = tg.hooks;
    if (tg?.params) options.params = tg.params;
    const session = await this.session(kind, () => buildTextGraph(this.model.spec, this.model.checkpoint, options), score ? undefined : { logits: 'cpu', ...gpuCache, ...Object.fromEntries(this.captureLayers.map((l) => [`attention_${l}`, 'cpu' as const])) });
    const extra = this.options.textGraph?.feeds?.() ?? {};
    return session.run({ ...feeds, ...extra });
  }

  /** The rotary-table feeds for queries at `positions`. */
  rope(positions: readonly number[]): Record<string, ort.Tensor> {
    const { cos, sin } = rotaryTables(this.model.spec.text, positions);
    const dims = [1, positions.length, this.model.spec.text.headDim];
    return { rope_cos: new ort.Tensor('float32', cos, dims), rope_sin: new ort.Tensor('float32', sin, dims) };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
  }
}
