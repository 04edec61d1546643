// A whole training step as one graph: the forward loss, its gradients
// (autodiff), optional global-norm clipping and AdamW. One session.run takes
// (batch, params, optimizer state, step, lr) and returns (loss, metrics, new
// params, new state). TrainStepSession runs it in the process's session host
// (engine/runtime), keeping params and state there between steps (on the GPU
// with WebGPU) and reading them back only when asked.
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { gradients } from '../autodiff/backward';
import type { Graph, Value } from '../onnx/graph';
import type { CreateOptions } from '../runtime/protocol';
import type { EngineRuntime } from '../runtime/runtime';
import { HostState, onDevice, type StateLocation } from './host-state';
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
export function appendOptimizer(
  g: Graph,
  params: readonly Value[],
  grads: readonly Value[],
  spec: OptimizerSpec,
): { gradNorm: string; params: ParamIO[] } {
  const cfg = { ...ADAMW_DEFAULTS, ...spec.adamw };
  const step = g.input('step', 'float32', []);
  const lr = g.input('lr', 'float32', []);
  return g.withScope('optimizer', () => {
    const clipped =
      spec.clipNorm === undefined
        ? { grads: [...grads], norm: globalNorm(grads) }
        : clipByGlobalNorm(grads, spec.clipNorm);
    g.output(clipped.norm, 'grad_norm');
    const s = adamwStep(step, lr, cfg);
    const ios = params.map((p, i) => {
      const io = paramIO(p.name);
      const m = g.input(io.m, p.dtype, p.shape);
      const v = g.input(io.v, p.dtype, p.shape);
      const next = g.withScope(p.name, () =>
        adamwUpdate(p, clipped.grads[i]!, m, v, s, cfg, !(spec.noDecay?.(p.name) ?? false)),
      );
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
  for (const p of spec.params)
    if (p.kind !== 'input') throw new AppError('internal', `trainable ${p.name} must be a graph input`);
  const grads = gradients(spec.loss, spec.params);
  g.output(spec.loss, 'loss');
  const metrics = Object.entries(spec.metrics ?? {}).map(([name, v]) => g.output(v, name).name);
  const opt = appendOptimizer(g, spec.params, grads, spec);
  return { step: 'step', lr: 'lr', loss: 'loss', gradNorm: opt.gradNorm, metrics, params: opt.params };
}

/** How a trainer's sessions are created: EP choice and session options as the host takes them. */
export interface TrainerOptions extends Omit<CreateOptions, 'preferredOutputLocation'> {
  /** The session host; default the process's shared one (a lease held until `release()`). */
  runtime?: EngineRuntime;
}

/** Creates a trainer graph's session in the host with its carried outputs kept on the device. */
export async function createTrainerSession(
  state: HostState,
  model: Uint8Array,
  carried: readonly string[],
  opts: TrainerOptions,
): Promise<string> {
  const { runtime: _runtime, ...create } = opts;
  return (await state.runtime.createSession(model, { ...create, preferredOutputLocation: onDevice(carried) })).id;
}

/** Everything needed to resume training exactly: saved with a checkpoint. */
export interface OptimizerState {
  /** Optimizer steps taken so far. */
  step: number;
  params: Record<string, ort.Tensor>;
  m: Record<string, ort.Tensor>;
  v: Record<string, ort.Tensor>;
}

/** Sets `state` for `init`: the given params, moments from `resume` or zeros. */
export function initState(
  state: HostState,
  ios: readonly ParamIO[],
  params: Record<string, ort.Tensor>,
  resume?: OptimizerState,
): void {
  const updates: [string, ort.Tensor][] = [];
  for (const p of ios) {
    const t = params[p.name];
    if (!t) throw new AppError('bad-input', `no initial value for parameter ${p.name}`, { subject: p.name });
    const zeros = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(t.size), t.dims);
    const m = resume ? resume.m[p.name] : zeros();
    const v = resume ? resume.v[p.name] : zeros();
    if (!m || !v)
      throw new AppError('bad-input', `the saved optimizer state has no moments for ${p.name}`, { subject: p.name });
    updates.push([p.name, t], [p.m, m], [p.v, v]);
  }
  state.set(updates);
}

/** Reads params and moments back to CPU tensors. */
export async function readOptimizerState(
  ios: readonly ParamIO[],
  state: HostState,
  step: number,
): Promise<OptimizerState> {
  const out: OptimizerState = { step, params: {}, m: {}, v: {} };
  for (const p of ios) {
    out.params[p.name] = await state.read(p.name);
    out.m[p.name] = await state.read(p.m);
    out.v[p.name] = await state.read(p.v);
  }
  return out;
}

/** Current parameters as CPU tensors (copied back from the GPU on WebGPU). */
export async function readParams(ios: readonly ParamIO[], state: HostState): Promise<Record<string, ort.Tensor>> {
  const out: Record<string, ort.Tensor> = {};
  for (const p of ios) out[p.name] = await state.read(p.name);
  return out;
}

/** The optimizer graph's inputs fed from state and the outputs that replace it. */
export function optimizerRun(ios: readonly ParamIO[]): { from: Record<string, string>; into: Record<string, string> } {
  return {
    from: Object.fromEntries(ios.flatMap((p) => [p.name, p.m, p.v].map((n) => [n, n]))),
    into: Object.fromEntries(
      ios.flatMap((p) => [
        [p.name, p.out],
        [p.m, p.mOut],
        [p.v, p.vOut],
      ]),
    ),
  };
}

export const scalarFeed = (x: number): ort.Tensor => new ort.Tensor('float32', new Float32Array([x]), []);

export interface StepResult {
  loss: number;
  gradNorm: number;
  metrics: Record<string, number>;
}

/** Runs a train-step graph step after step; params and moments stay in the session host between steps. */
export class TrainStepSession {
  private steps = 0;

  private constructor(
    private readonly state: HostState,
    private readonly session: string,
    readonly io: TrainStepIO,
  ) {}

  static async create(model: Uint8Array, io: TrainStepIO, opts: TrainerOptions): Promise<TrainStepSession> {
    const state = new HostState(opts.runtime);
    try {
      const session = await createTrainerSession(
        state,
        model,
        io.params.flatMap((p) => [p.out, p.mOut, p.vOut]),
        opts,
      );
      return new TrainStepSession(state, session, io);
    } catch (e) {
      await state.release([]);
      throw e;
    }
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Sets the parameters (CPU tensors); moments and step count come from `resume` or start at zero. */
  init(params: Record<string, ort.Tensor>, resume?: OptimizerState): void {
    initState(this.state, this.io.params, params, resume);
    this.steps = resume?.step ?? 0;
  }

  async step(batch: Record<string, ort.Tensor>, lr: number): Promise<StepResult> {
    const feeds = { ...batch, [this.io.step]: scalarFeed(this.steps + 1), [this.io.lr]: scalarFeed(lr) };
    const scalars = [this.io.loss, this.io.gradNorm, ...this.io.metrics];
    const out = await this.state.run(this.session, feeds, { ...optimizerRun(this.io.params), scalars });
    this.steps++;
    const metrics = Object.fromEntries(this.io.metrics.map((m) => [m, out[m]!]));
    return { loss: out[this.io.loss]!, gradNorm: out[this.io.gradNorm]!, metrics };
  }

  /** Current parameters as CPU tensors (copied back from the GPU on WebGPU), e.g. to save a checkpoint. */
  readParams(): Promise<Record<string, ort.Tensor>> {
    return readParams(this.io.params, this.state);
  }

  /** Parameters, moments and step count as CPU tensors, to save with a checkpoint. */
  readState(): Promise<OptimizerState> {
    return readOptimizerState(this.io.params, this.state, this.steps);
  }

  /** Where each parameter and moment lives now ('gpu-buffer' after a step on WebGPU). */
  stateLocations(): Record<string, StateLocation> {
    return this.state.locations();
  }

  async release(): Promise<void> {
    await this.state.release([this.session]);
  }
}
