// A whole training step as one graph: the forward loss, its gradients
// (autodiff), optional global-norm clipping and AdamW. One session.run takes
// (batch, params, optimizer state, step, lr) and returns (loss, metrics, new
// params, new state). TrainStepSession runs it, keeping params and state on
// the GPU between steps on WebGPU and reading them back only when asked.
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { gradients } from '../autodiff/backward';
import type { Graph, Value } from '../onnx/graph';
import type { LocalSession, LocalSessionOptions, OutputLocation } from '../runtime/local';
import { createLocalSession, toCpuTensor } from '../runtime/local';
import type { AdamWConfig } from './adamw';
import { ADAMW_DEFAULTS, adamwStep, adamwUpdate } from './adamw';
import { clipByGlobalNorm, globalNorm } from './clip';

export interface OptimizerSpec {
  adamw?: Partial<AdamWConfig>;
  /** Clip gradients to this global L2 norm (none when omitted). */
  clipNorm?: number;
  /** Parameters exempt from weight decay, e.g. norms and biases. */
  noDecay?: (name: string) => boolean;
}

export interface TrainStepSpec extends OptimizerSpec {
  /** Scalar loss. */
  loss: Value;
  /** Trainable parameters: graph inputs, fed every step. */
  params: readonly Value[];
  /** Extra scalar outputs reported each step. */
  metrics?: Record<string, Value>;
}

/** Names of one parameter's inputs and outputs in a train-step or apply graph. */
export interface ParamIO {
  name: string;
  out: string;
  m: string;
  mOut: string;
  v: string;
  vOut: string;
}

export interface TrainStepIO {
  step: string;
  lr: string;
  loss: string;
  gradNorm: string;
  metrics: string[];
  params: ParamIO[];
}

export const paramIO = (name: string): ParamIO => ({
  name,
  out: `${name}.new`,
  m: `${name}.adam_m`,
  mOut: `${name}.adam_m.new`,
  v: `${name}.adam_v`,
  vOut: `${name}.adam_v.new`,
});

/**
 * Appends optional clipping and AdamW for `params` given their `grads` to `g`:
 * adds inputs step, lr and the moments, outputs grad_norm (before clipping),
 * new params and new moments.
 */
export function appendOptimizer(g: Graph, params: readonly Value[], grads: readonly Value[], spec: OptimizerSpec): { gradNorm: string; params: ParamIO[] } {
  const cfg = { ...ADAMW_DEFAULTS, ...spec.adamw };
  const step = g.input('step', 'float32', []);
  const lr = g.input('lr', 'float32', []);
  return g.withScope('optimizer', () => {
    const clipped = spec.clipNorm === undefined ? { grads: [...grads], norm: globalNorm(grads) } : clipByGlobalNorm(grads, spec.clipNorm);
    g.output(clipped.norm, 'grad_norm');
    const s = adamwStep(step, lr, cfg);
    const ios = params.map((p, i) => {
      const io = paramIO(p.name);
      const m = g.input(io.m, p.dtype, p.shape);
      const v = g.input(io.v, p.dtype, p.shape);
      const next = g.withScope(p.name, () => adamwUpdate(p, clipped.grads[i]!, m, v, s, cfg, !(spec.noDecay?.(p.name) ?? false)));
      g.output(next.p, io.out);
      g.output(next.m, io.mOut);
      g.output(next.v, io.vOut);
      return io;
    });
    return { gradNorm: 'grad_norm', params: ios };
  });
}

/** Turns the forward graph of `spec.loss` into a train-step graph (in place) and returns its input/output names. */
export function buildTrainStep(spec: TrainStepSpec): TrainStepIO {
  const g = spec.loss.graph;
  if (spec.loss.rank !== 0) throw new AppError('internal', `the loss must be a scalar, got ${spec.loss}`);
  for (const p of spec.params) if (p.kind !== 'input') throw new AppError('internal', `trainable ${p.name} must be a graph input`);
  const grads = gradients(spec.loss, spec.params);
  g.output(spec.loss, 'loss');
  const metrics = Object.entries(spec.metrics ?? {}).map(([name, v]) => g.output(v, name).name);
  const opt = appendOptimizer(g, spec.params, grads, spec);
  return { step: 'step', lr: 'lr', loss: 'loss', gradNorm: opt.gradNorm, metrics, params: opt.params };
}

/** Outputs that carry state from step to step stay on the device with WebGPU. */
export function stateLocations(outputs: readonly string[], ep: LocalSessionOptions['ep']): Record<string, OutputLocation> | undefined {
  if (ep !== 'webgpu') return undefined;
  return Object.fromEntries(outputs.map((n) => [n, 'gpu-buffer' as const]));
}

export function zerosLikeTensor(t: ort.Tensor): ort.Tensor {
  return new ort.Tensor('float32', new Float32Array(t.size), t.dims);
}

export async function scalar(t: ort.Tensor | undefined, name: string): Promise<number> {
  if (!t) throw new AppError('internal', `output ${name} is missing`);
  return Number((await toCpuTensor(t)).data[0]);
}

/** Replaces tensors in `store`, freeing the GPU buffers they replace. */
export function swapTensors(store: Map<string, ort.Tensor>, updates: readonly [string, ort.Tensor][]): void {
  for (const [name, t] of updates) {
    const old = store.get(name);
    if (old && old !== t && old.location === 'gpu-buffer') old.dispose();
    store.set(name, t);
  }
}

/** Everything needed to resume training exactly: saved with a checkpoint. */
export interface OptimizerState {
  /** Optimizer steps taken so far. */
  step: number;
  params: Record<string, ort.Tensor>;
  m: Record<string, ort.Tensor>;
  v: Record<string, ort.Tensor>;
}

/** Tensors for `init`: the given params, moments from `resume` or zeros. */
export function initialTensors(ios: readonly ParamIO[], params: Record<string, ort.Tensor>, resume?: OptimizerState): [string, ort.Tensor][] {
  const updates: [string, ort.Tensor][] = [];
  for (const p of ios) {
    const t = params[p.name];
    if (!t) throw new AppError('bad-input', `no initial value for parameter ${p.name}`, { subject: p.name });
    const m = resume ? resume.m[p.name] : zerosLikeTensor(t);
    const v = resume ? resume.v[p.name] : zerosLikeTensor(t);
    if (!m || !v) throw new AppError('bad-input', `the saved optimizer state has no moments for ${p.name}`, { subject: p.name });
    updates.push([p.name, t], [p.m, m], [p.v, v]);
  }
  return updates;
}

/** Reads params and moments back to CPU tensors. */
export async function readOptimizerState(ios: readonly ParamIO[], state: Map<string, ort.Tensor>, step: number): Promise<OptimizerState> {
  const out: OptimizerState = { step, params: {}, m: {}, v: {} };
  for (const p of ios) {
    out.params[p.name] = await toCpuTensor(state.get(p.name)!);
    out.m[p.name] = await toCpuTensor(state.get(p.m)!);
    out.v[p.name] = await toCpuTensor(state.get(p.v)!);
  }
  return out;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

/** Runs a train-step graph step after step; params and moments live in the session's tensors. */
export class TrainStepSession {
  private readonly state = new Map<string, ort.Tensor>();
  private steps = 0;

  private constructor(
    private readonly session: LocalSession,
    readonly io: TrainStepIO,
  ) {}

  static async create(model: Uint8Array, io: TrainStepIO, opts: LocalSessionOptions): Promise<TrainStepSession> {
    const carried = io.params.flatMap((p) => [p.out, p.mOut, p.vOut]);
    const where = stateLocations(carried, opts.ep);
    const session = await createLocalSession(model, where ? { ...opts, preferredOutputLocation: where } : opts);
    return new TrainStepSession(session, io);
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Sets the parameters (CPU tensors); moments and step count come from `resume` or start at zero. */
  init(params: Record<string, ort.Tensor>, resume?: OptimizerState): void {
    swapTensors(this.state, initialTensors(this.io.params, params, resume));
    this.steps = resume?.step ?? 0;
  }

  async step(batch: Record<string, ort.Tensor>, lr: number): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = { ...batch, ...Object.fromEntries(this.state) };
    feeds[this.io.step] = new ort.Tensor('float32', new Float32Array([this.steps + 1]), []);
    feeds[this.io.lr] = new ort.Tensor('float32', new Float32Array([lr]), []);
    const out = await this.session.run(feeds);
    this.steps++;
    swapTensors(
      this.state,
      this.io.params.flatMap((p) => [
        [p.name, out[p.out]!],
        [p.m, out[p.mOut]!],
        [p.v, out[p.vOut]!],
      ]),
    );
    const metrics: Record<string, number> = {};
    for (const m of this.io.metrics) metrics[m] = await scalar(out[m], m);
    return { loss: await scalar(out[this.io.loss], 'loss'), gradNorm: await scalar(out[this.io.gradNorm], 'grad_norm'), metrics };
  }

  /** Current parameters as CPU tensors (copied back from the GPU on WebGPU), e.g. to save a checkpoint. */
  async readParams(): Promise<Record<string, ort.Tensor>> {
    const out: Record<string, ort.Tensor> = {};
    for (const p of this.io.params) out[p.name] = await toCpuTensor(this.state.get(p.name)!);
    return out;
  }

  /** Parameters, moments and step count as CPU tensors, to save with a checkpoint. */
  readState(): Promise<OptimizerState> {
    return readOptimizerState(this.io.params, this.state, this.steps);
  }

  async release(): Promise<void> {
    for (const t of this.state.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.state.clear();
    await this.session.release();
  }
}
