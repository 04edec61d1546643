// DPO on the LLaVA graph (MIA-DPO, issue 9 item 1): the public API the train
// job and the adapter store build on. One step = chosen and rejected of each
// pair in one padded batch through the production decoder with unmerged LoRA,
// summed response log-probs, the TRL loss, autodiff gradients accumulated in
// the session host and, when applied, global-norm clipping and AdamW, in one
// session.run (graph.ts). LoRA weights, AdamW moments and gradient sums stay
// in the host (on the GPU with WebGPU) between steps (HostState).
import ort from 'onnxruntime-node';
import { AppError } from '../../../../shared/errors';
import { planTrain, type TrainPlan } from '../../generate/memory-plan';
import { openModelSession, type ModelSession } from '../../generate/model-session';
import { ixcTextFamily, openIxcModel } from '../../generate/ixc-session';
import { llavaTextFamily } from '../../generate/runner';
import type { SessionImage } from '../../generate/session';
import { familyOf } from '../../models/arch';
import { readConfigJson } from '../../models/config';
import { ixcLoraModules, type IxcLoraTarget } from '../../models/ixc';
import type { LlavaSpec } from '../../models/llava';
import type { WeightSource } from '../../models/params';
import { IMAGE_INDEX_MARKER } from '../../text/ixc-prompt';
import { createRng } from '../../generate/sampling';
import {
  initLora,
  initLoraModule,
  loraFeeds,
  loraInputNames,
  loraScaleOf,
  type LoraSettings,
  type LoraTarget,
  type LoraWeights,
} from '../../models/lora';
import { openModel, type OpenModel } from '../../models/open';
import { quantizedParams, quantizedWeights, type QuantizedWeights } from '../../models/quantized';
import type { WeightBlock } from '../../../../shared/weights';
import { serializeModel } from '../../onnx/serialize';
import type { ExplicitEp, LocalSessionOptions } from '../../runtime/local';
import type { AdamWConfig } from '../adamw';
import { HostState, fromWire, toWire } from '../host-state';
import { createTrainerSession, initState, paramIO, scalarFeed, type ParamIO } from '../train-step';
import { answerLength, bucketLength, packPairs, pairLength, type PackModel, type PairTokens } from './batch';
import type { DpoConfig } from './config';
import { dropoutSeed } from './dropout';
import {
  buildDpoStepGraph,
  buildLogpsGraph,
  ixcDpoDecoder,
  llavaDpoDecoder,
  type BaseParams,
  type DpoDecoder,
  type DpoStepIO,
} from './graph';

export { DPO_DEFAULTS, DPO_LOSSES, type DpoConfig, type DpoLoss } from './config';

/** One preference pair, already tokenized. */
export interface DpoExample {
  /** Chat-templated prompt ids with one image token per image (as `generate --json` reports input_ids). */
  promptIds: number[];
  /** Projected image features per image ([tokensPerImage * hidden] each), from imageFeatures() or a feature cache. */
  features: Float32Array[];
  /** Response ids, each ending with the EOS token. */
  chosenIds: number[];
  rejectedIds: number[];
  /** Reference policy's summed response log-probs (referenceLogprobs()). */
  refChosen: number;
  refRejected: number;
}

/** Batch means, named as TRL logs them (rewards/chosen, ...). */
export interface DpoStepMetrics {
  loss: number;
  rewardsChosen: number;
  rewardsRejected: number;
  margin: number;
  accuracy: number;
  logpChosen: number;
  logpRejected: number;
  /** Global gradient norm (of the accumulated mean) before clipping; NaN on micro-steps that do not apply. */
  gradNorm: number;
  lr: number;
  /** Response tokens (chosen + rejected) in the micro-batch. */
  tokens: number;
  stepMs: number;
}

/** LoRA settings of a run; `targets` are the family's module names (LLaVA: q_proj, ...; IXC2.5: IXC_LORA_TARGETS). */
export type DpoLoraSettings = Omit<LoraSettings, 'targets'> & {
  targets: readonly (LoraTarget | IxcLoraTarget)[];
  dropout: number;
};

/**
 * A model folder as the trainer uses it, whatever its family: the weights, the decoder the DPO graphs
 * differentiate, the packing facts and the LoRA modules its targets select.
 */
interface DpoModel {
  dir: string;
  checkpoint: WeightSource & { close(): Promise<void> };
  decoder: DpoDecoder;
  pack: PackModel;
  /** The llava-hf model (memory planning and quantized bases); undefined for IXC2.5. */
  llava?: OpenModel;
  /**
   * The rotary tables depend on the batch's longest row (IXC2.5's dynamic NTK): reference log-probs are then taken
   * one pair at a time, as a one-pair step sees it, so the fresh policy equals the reference.
   */
  lengthDependentRotary: boolean;
  initLora(s: DpoLoraSettings, rng: () => number): LoraWeights;
}

/**
 * config.json's family picks the decoder: llava-hf (prompt ids mark images by the image token) or IXC2.5 (images
 * marked by -200, as `generate --json` reports them; each image its own row count; LoRA on IXC_LORA_TARGETS with
 * the checkpoint's PLoRA frozen at image rows).
 */
async function openDpoModel(dir: string): Promise<DpoModel> {
  let family;
  try {
    family = familyOf((await readConfigJson(dir)).json);
  } catch {
    family = 'llava' as const; // openModel names the folder and the problem
  }
  if (family === 'ixc') {
    const m = await openIxcModel(dir);
    return {
      dir,
      checkpoint: m.checkpoint,
      decoder: ixcDpoDecoder(m.spec),
      pack: ixcTextFamily(m, IMAGE_INDEX_MARKER),
      lengthDependentRotary: m.spec.ropeScaling.type === 'dynamic',
      initLora: (s, rng) => ({
        rank: s.rank,
        scale: loraScaleOf(s),
        modules: new Map(ixcLoraModules(m.spec, s.targets).map((x) => [x.module, initLoraModule(x, s.rank, rng)])),
      }),
    };
  }
  const model = await openModel(dir);
  return {
    dir,
    checkpoint: model.checkpoint,
    decoder: llavaDpoDecoder(model.spec),
    llava: model,
    pack: llavaTextFamily(model),
    lengthDependentRotary: false,
    initLora: (s, rng) => initLora(model.spec.text, { ...s, targets: s.targets as readonly LoraTarget[] }, rng),
  };
}

export interface DpoTrainerOptions {
  modelDir: string;
  ep: ExplicitEp;
  lora: DpoLoraSettings;
  /** Start from these adapters (e.g. --init-adapter); default PEFT's init from `seed`. */
  init?: LoraWeights;
  dpo: DpoConfig;
  adamw: AdamWConfig;
  clipNorm?: number;
  /** Seeds the LoRA init and the per-step dropout masks. */
  seed: number;
  /** onnxruntime intra-op threads (default: its own choice). */
  threads?: number;
  /** Sequence and answer lengths of train graphs are rounded up to this multiple (one graph per pair; default 32). */
  seqMultiple?: number;
  /** Pairs per reference-log-prob run (default 4). */
  referenceBatch?: number;
  /** Fail session creation when a node would fall back to the CPU (tests prove GPU coverage with it). */
  strict?: boolean;
  /**
   * Session memory settings; the defaults (file-backed weights, no arena, no memory pattern) cut the 47.6M
   * bench's peak RSS by about 420 MiB at no measured cost in step time (decision 0600, "Memory").
   * CPU: keep weights file-backed instead of prepacked copies (default true).
   */
  disablePrepacking?: boolean;
  /** onnxruntime's CPU arena allocator (default false: freed activations go back to the system allocator). */
  cpuMemArena?: boolean;
  /** onnxruntime's memory-pattern planning, one block for the planned peak (default false). */
  memPattern?: boolean;
  /**
   * The frozen base's format (decision 0660): int8/int4 read the quantized cache inference uses (decision 0650),
   * dequantized per layer in the forward and again in the backward; LoRA, moments and sums stay fp32.
   * Default fp32.
   */
  weights?: { format: 'fp32' | 'int8' | 'int4'; block: WeightBlock; cacheDir: string };
  /** Recompute each decoder layer in the backward from its input (gradient checkpointing; default false). */
  checkpointing?: boolean;
}

/** What a checkpoint holds of the trainer: LoRA weights, AdamW moments by parameter name, optimizer steps taken. */
export interface DpoTrainerState {
  lora: LoraWeights;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
  step: number;
}

function validate(o: DpoTrainerOptions): void {
  const bad = (subject: string, msg: string): never => {
    throw new AppError('bad-input', msg, { subject });
  };
  const c = o.dpo;
  if (!(c.beta > 0)) bad('beta', `DPO beta = ${c.beta} must be > 0`);
  if (!(c.labelSmoothing >= 0 && c.labelSmoothing < 0.5))
    bad('label-smoothing', `label smoothing ${c.labelSmoothing} must be in [0, 0.5)`);
  if (!(c.sftWeight >= 0)) bad('sft-weight', `SFT weight ${c.sftWeight} must be >= 0`);
  if (!(o.lora.dropout >= 0 && o.lora.dropout < 1))
    bad('lora-dropout', `LoRA dropout ${o.lora.dropout} must be in [0, 1)`);
  if (o.clipNorm !== undefined && !(o.clipNorm > 0)) bad('clip-norm', `clip norm ${o.clipNorm} must be > 0`);
}

interface StepSession {
  id: string;
  io: DpoStepIO;
}

export class DpoTrainer {
  private readonly sessions = new Map<string, Promise<StepSession>>();
  private readonly refSessions = new Map<string, Promise<string>>();
  private features: Promise<ModelSession> | undefined;
  private readonly ios: ParamIO[];
  private micro = 0;
  private steps = 0;
  private closed = false;

  private constructor(
    readonly options: DpoTrainerOptions,
    private readonly model: DpoModel,
    private readonly state: HostState,
    /** Rank, scale and module sizes of the adapters being trained. */
    readonly lora: LoraWeights,
    /** The quantized base (--weights int8/int4), else undefined: the checkpoint in fp32. */
    private readonly quantized: QuantizedWeights | undefined,
  ) {
    this.ios = [...lora.modules.keys()].flatMap((m) => {
      const n = loraInputNames(m);
      return [paramIO(n.a), paramIO(n.b)];
    });
    initState(state, this.ios, loraFeeds(lora));
    this.resetAccumulators();
  }

  static async create(o: DpoTrainerOptions): Promise<DpoTrainer> {
    validate(o);
    const model = await openDpoModel(o.modelDir);
    try {
      const lora = o.init ?? model.initLora(o.lora, createRng(o.seed));
      const w = o.weights;
      if (w && w.format !== 'fp32' && !model.llava)
        throw new AppError(
          'unsupported',
          `${o.modelDir}: --weights ${w.format} training is built for llava-hf models only`,
          {
            subject: o.modelDir,
          },
        );
      const quantized =
        w && w.format !== 'fp32'
          ? await quantizedWeights(
              model.llava!.checkpoint,
              { bits: w.format === 'int8' ? 8 : 4, block: w.block },
              w.cacheDir,
            )
          : undefined;
      return new DpoTrainer(o, model, new HostState(), lora, quantized);
    } catch (e) {
      await model.checkpoint.close();
      throw e;
    }
  }

  /** Optimizer steps taken (restored by importState). */
  get stepCount(): number {
    return this.steps;
  }

  private resetAccumulators(): void {
    this.micro = 0;
    for (const p of this.ios) this.state.zerosLike(`${p.name}.grad_acc`, p.name);
  }

  private checkOpen(): void {
    if (this.closed) throw new AppError('conflict', 'the DPO trainer has been closed');
  }

  /** Images -> projected features (frozen tower + projector); callers cache them per pair. */
  async imageFeatures(images: readonly SessionImage[]): Promise<Float32Array[]> {
    this.checkOpen();
    this.features ??= openModelSession({ modelDir: this.options.modelDir, ep: this.options.ep });
    return (await this.features).features(images);
  }

  /** The model's shapes (the trainer's checkpoint). */
  get spec(): LlavaSpec {
    return this.llava().spec;
  }

  /** The llava-hf model; memory planning is built for that family only. */
  private llava(): OpenModel {
    const m = this.model.llava;
    if (!m)
      throw new AppError('unsupported', `${this.model.dir}: memory planning is built for llava-hf models only`, {
        subject: this.model.dir,
      });
    return m;
  }

  /** The step graph's static sequence and answer lengths for a batch (rounded up to `seqMultiple`). */
  private graphLengths(batch: readonly PairTokens[]): { seq: number; answer: number } {
    const spec = this.model.pack;
    const longest = Math.max(...batch.map((e, i) => pairLength(spec, e, `pair ${i + 1} of the batch`)));
    const multiple = this.options.seqMultiple ?? 32;
    const seq = bucketLength(spec, longest, multiple);
    return { seq, answer: Math.min(seq, Math.ceil(answerLength(batch) / multiple) * multiple) };
  }

  /** The memory planner's estimate for a step on `batch` with this trainer's format and checkpointing. */
  plan(batch: readonly PairTokens[]): TrainPlan {
    const c = this.llava().checkpoint;
    return planTrain({
      spec: this.spec,
      tensors: c.names().map((name) => ({ name, shape: c.get(name).shape, dtype: c.get(name).dtype })),
      format: this.options.weights?.format ?? 'fp32',
      block: this.options.weights?.block ?? 32,
      pairs: batch.length,
      ...this.graphLengths(batch),
      loraParams: [...this.lora.modules.values()].reduce((n, m) => n + m.a.length + m.b.length, 0),
      rank: this.lora.rank,
      dropout: this.options.lora.dropout > 0,
      checkpointing: this.options.checkpointing ?? false,
      vision: this.features !== undefined,
      ep: this.options.ep,
    });
  }

  /**
   * Session options shared by the step and log-prob sessions: the trainer's memory defaults (decision 0600), and
   * for a quantized base its folder and no constant folding (it would fold the dequantization into float copies).
   */
  private sessionOptions(): Omit<LocalSessionOptions, 'ep'> & { externalDataFolder: string } {
    const o = this.options;
    return {
      externalDataFolder: this.quantized?.dir ?? o.modelDir,
      ...(this.quantized ? { disableConstantFolding: true } : {}),
      ...(o.threads ? { intraOpThreads: o.threads } : {}),
      ...(o.strict ? { strict: true } : {}),
      disablePrepacking: o.disablePrepacking ?? true,
      cpuMemArena: o.cpuMemArena ?? false,
      memPattern: o.memPattern ?? false,
    };
  }

  /** The base's weights in a graph: the quantized cache's (dequantized as each layer runs) or the checkpoint's. */
  private baseParams(): BaseParams | undefined {
    const q = this.quantized;
    const ep = this.options.ep;
    return q ? (g) => quantizedParams(g, q, ep) : undefined;
  }

  private stepSession(pairs: number, seq: number, answer: number): Promise<StepSession> {
    const key = `${pairs}x${seq}x${answer}`;
    let s = this.sessions.get(key);
    if (!s) {
      const o = this.options;
      const { graph, io } = buildDpoStepGraph(this.model.decoder, this.model.checkpoint, {
        pairs,
        seq,
        answer,
        lora: this.lora,
        dropout: o.lora.dropout,
        dpo: o.dpo,
        optimizer: { adamw: o.adamw, ...(o.clipNorm !== undefined ? { clipNorm: o.clipNorm } : {}) },
        ...(this.baseParams() ? { base: this.baseParams()! } : {}),
        ...(o.checkpointing ? { checkpointing: true } : {}),
      });
      const carried = io.params.flatMap((p) => [p.out, p.mOut, p.vOut, p.accOut]);
      s = createTrainerSession(this.state, serializeModel(graph), carried, {
        ep: o.ep,
        ...this.sessionOptions(),
      }).then((id) => ({ id, io }));
      s.catch(() => this.sessions.delete(key));
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Summed response log-probs of chosen and rejected under the base model (no adapter) or base + `ref`. */
  async referenceLogprobs(
    examples: readonly Omit<DpoExample, 'refChosen' | 'refRejected'>[],
    ref?: LoraWeights,
  ): Promise<{ chosen: number[]; rejected: number[] }> {
    this.checkOpen();
    if (examples.length === 0) return { chosen: [], rejected: [] };
    const spec = this.model.pack;
    const n = this.model.lengthDependentRotary
      ? 1
      : Math.max(1, Math.min(this.options.referenceBatch ?? 4, examples.length));
    const chosen: number[] = [];
    const rejected: number[] = [];
    const key = `${n}:${ref ? `${ref.rank}/${ref.scale}/${[...ref.modules.keys()].join(',')}` : 'base'}`;
    let session = this.refSessions.get(key);
    if (!session) {
      session = this.state.runtime
        .createSession(
          serializeModel(buildLogpsGraph(this.model.decoder, this.model.checkpoint, 2 * n, ref, this.baseParams())),
          {
            ep: this.options.ep,
            ...this.sessionOptions(),
          },
        )
        .then((info) => info.id);
      session.catch(() => this.refSessions.delete(key));
      this.refSessions.set(key, session);
    }
    const id = await session;
    const extra = ref ? Object.fromEntries(Object.entries(loraFeeds(ref)).map(([k, t]) => [k, toWire(t)])) : {};
    for (let i = 0; i < examples.length; i += n) {
      const chunk: PairTokens[] = examples.slice(i, i + n);
      const real = chunk.length;
      while (chunk.length < n) chunk.push(chunk[chunk.length - 1]!); // the graph's batch is static
      const seq = Math.max(...chunk.map((e, j) => pairLength(spec, e, `pair ${i + j + 1}`)));
      const packed = packPairs(spec, chunk, seq, answerLength(chunk));
      const feeds = Object.fromEntries(Object.entries(packed.feeds).map(([k, t]) => [k, toWire(t)]));
      const out = await this.state.runtime.run(id, { ...feeds, ...extra });
      const lp = out['logps'];
      if (!lp || 'handle' in lp) throw new AppError('internal', 'the log-prob graph returned no logps');
      const v = fromWire(lp).data as Float32Array;
      for (let j = 0; j < real; j++) {
        chosen.push(v[j]!);
        rejected.push(v[n + j]!);
      }
    }
    return { chosen, rejected };
  }

  /** One micro-batch: forward + backward, gradients accumulated; with `apply` also clip + AdamW at `lr`, then zero the sums. */
  async step(
    batch: readonly DpoExample[],
    o: { lr: number; apply: boolean; stepIndex: number },
  ): Promise<DpoStepMetrics> {
    this.checkOpen();
    const t0 = performance.now();
    if (batch.length === 0) throw new AppError('bad-input', 'a DPO step needs at least one pair', { subject: 'batch' });
    const spec = this.model.pack;
    const longest = Math.max(...batch.map((e, i) => pairLength(spec, e, `pair ${i + 1} of the batch`)));
    const multiple = this.options.seqMultiple ?? 32;
    const seq = bucketLength(spec, longest, multiple);
    const answer = Math.min(seq, Math.ceil(answerLength(batch) / multiple) * multiple);
    const s = await this.stepSession(batch.length, seq, answer);
    const packed = packPairs(spec, batch, seq, answer);
    const p = batch.length;
    const ref = new Float32Array(2 * p);
    batch.forEach((e, i) => {
      ref[i] = e.refChosen;
      ref[p + i] = e.refRejected;
    });
    const feeds: Record<string, ort.Tensor> = {
      ...packed.feeds,
      ref_logps: new ort.Tensor('float32', ref, [2 * p]),
      [s.io.gradScale]: scalarFeed(1 / (this.micro + 1)),
      [s.io.step]: scalarFeed(this.steps + 1),
      [s.io.lr]: scalarFeed(o.lr),
    };
    if (s.io.dropoutSeed) feeds[s.io.dropoutSeed] = scalarFeed(dropoutSeed(this.options.seed, o.stepIndex, this.micro));
    const from = Object.fromEntries(s.io.params.flatMap((q) => [q.name, q.m, q.v, q.acc].map((n) => [n, n])));
    const scalars = [s.io.loss, ...s.io.metrics, ...(o.apply ? [s.io.gradNorm] : [])];
    const into = o.apply
      ? Object.fromEntries(
          s.io.params.flatMap((q) => [
            [q.name, q.out],
            [q.m, q.mOut],
            [q.v, q.vOut],
          ]),
        )
      : Object.fromEntries(s.io.params.map((q) => [q.acc, q.accOut]));
    const out = await this.state.run(s.id, feeds, {
      from,
      into,
      scalars,
      outputs: [...scalars, ...Object.values(into)],
    });
    if (o.apply) {
      this.steps++;
      this.resetAccumulators();
      await this.state.flush();
    } else {
      this.micro++;
    }
    return {
      loss: out[s.io.loss]!,
      rewardsChosen: out['rewards_chosen']!,
      rewardsRejected: out['rewards_rejected']!,
      margin: out['margin']!,
      accuracy: out['accuracy']!,
      logpChosen: out['logp_chosen']!,
      logpRejected: out['logp_rejected']!,
      gradNorm: o.apply ? out[s.io.gradNorm]! : Number.NaN,
      lr: o.lr,
      tokens: packed.tokens,
      stepMs: performance.now() - t0,
    };
  }

  /** LoRA weights, AdamW moments (by parameter name, `lora.<module>.A|B`) and the step count, as CPU copies. */
  async exportState(): Promise<DpoTrainerState> {
    this.checkOpen();
    const modules = new Map<string, LoraWeights['modules'] extends Map<string, infer M> ? M : never>();
    const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const [module, w] of this.lora.modules) {
      const n = loraInputNames(module);
      const a = (await this.state.read(n.a)).data as Float32Array;
      const b = (await this.state.read(n.b)).data as Float32Array;
      modules.set(module, { a, b, inFeatures: w.inFeatures, outFeatures: w.outFeatures });
      for (const name of [n.a, n.b]) {
        const io = paramIO(name);
        moments.set(name, {
          m: (await this.state.read(io.m)).data as Float32Array,
          v: (await this.state.read(io.v)).data as Float32Array,
        });
      }
    }
    return { lora: { rank: this.lora.rank, scale: this.lora.scale, modules }, moments, step: this.steps };
  }

  /** Restores a checkpoint's state (the same modules, rank and scale); pending gradient sums are dropped. */
  async importState(s: DpoTrainerState): Promise<void> {
    this.checkOpen();
    const want = [...this.lora.modules.keys()].sort().join(',');
    if ([...s.lora.modules.keys()].sort().join(',') !== want || s.lora.rank !== this.lora.rank)
      throw new AppError(
        'bad-input',
        `the saved state has LoRA rank ${s.lora.rank} on ${s.lora.modules.size} modules; this trainer has rank ${this.lora.rank} on ${this.lora.modules.size}`,
        { subject: 'state' },
      );
    if (Math.abs(s.lora.scale - this.lora.scale) > 1e-12 * Math.abs(this.lora.scale))
      throw new AppError('bad-input', `the saved state's LoRA scale ${s.lora.scale} is not ${this.lora.scale}`, {
        subject: 'state',
      });
    const params = loraFeeds(s.lora);
    const tensor = (name: string, data: Float32Array): ort.Tensor => {
      const dims = params[name]!.dims;
      if (data.length !== params[name]!.size)
        throw new AppError(
          'bad-input',
          `the saved moments of ${name} have ${data.length} values, not ${params[name]!.size}`,
          {
            subject: name,
          },
        );
      return new ort.Tensor('float32', data, dims);
    };
    const m: Record<string, ort.Tensor> = {};
    const v: Record<string, ort.Tensor> = {};
    for (const p of this.ios) {
      const mv = s.moments.get(p.name);
      if (!mv) throw new AppError('bad-input', `the saved state has no moments for ${p.name}`, { subject: p.name });
      m[p.name] = tensor(p.name, mv.m);
      v[p.name] = tensor(p.name, mv.v);
    }
    initState(this.state, this.ios, params, { step: s.step, params, m, v });
    this.steps = s.step;
    this.resetAccumulators();
    await this.state.flush();
  }

  /** Releases the sessions, kept tensors, the feature session and the model's files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const settled = await Promise.allSettled([...this.sessions.values()]);
    const refs = await Promise.allSettled([...this.refSessions.values()]);
    const ids = [
      ...settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : [])),
      ...refs.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
    ];
    try {
      await this.state.release(ids);
      if (this.features) await (await this.features).close();
    } finally {
      await this.model.checkpoint.close();
    }
  }
}
