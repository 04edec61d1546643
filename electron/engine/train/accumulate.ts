// Gradient accumulation over micro-batches as two graphs: a grad graph that
// adds each micro-batch's gradients into accumulators (inputs -> outputs, kept
// in the session host, on the GPU with WebGPU), and an apply graph that scales
// the sum, clips and runs AdamW. AccumulatingTrainer drives both through the
// process's session host (engine/runtime).
import type ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { gradients } from '../autodiff/backward';
import type { DType } from '../onnx/dtype';
import { Graph } from '../onnx/graph';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { Shape } from '../onnx/shape';
import { HostState, type StateLocation } from './host-state';
import type { OptimizerSpec, OptimizerState, ParamIO, TrainerOptions } from './train-step';
import {
  appendOptimizer,
  createTrainerSession,
  initState,
  optimizerRun,
  readOptimizerState,
  readParams,
  scalarFeed,
} from './train-step';

export interface AccumulatorIO {
  name: string;
  acc: string;
  accOut: string;
}

export interface GradGraphIO {
  loss: string;
  metrics: string[];
  grads: AccumulatorIO[];
}

export interface ApplyIO {
  step: string;
  lr: string;
  gradScale: string;
  gradNorm: string;
  params: (ParamIO & { grad: string })[];
}

const accIO = (name: string): AccumulatorIO => ({ name, acc: `${name}.grad_acc`, accOut: `${name}.grad_acc.new` });

/** Turns the forward graph of `loss` into a grad graph (in place): acc_out = acc_in + d loss / d param. */
export function buildGradGraph(spec: {
  loss: Value;
  params: readonly Value[];
  metrics?: Record<string, Value>;
}): GradGraphIO {
  const g = spec.loss.graph;
  if (spec.loss.rank !== 0) throw new AppError('internal', `the loss must be a scalar, got ${spec.loss}`);
  const grads = gradients(spec.loss, spec.params);
  g.output(spec.loss, 'loss');
  const metrics = Object.entries(spec.metrics ?? {}).map(([name, v]) => g.output(v, name).name);
  const ios = spec.params.map((p, i) => {
    const io = accIO(p.name);
    const acc = g.input(io.acc, p.dtype, p.shape);
    g.output(
      g.withScope('accumulate', () => op.add(acc, grads[i]!)),
      io.accOut,
    );
    return io;
  });
  return { loss: 'loss', metrics, grads: ios };
}

/** The apply graph: params, summed grads and moments in; clipped, scaled AdamW step out. */
export function buildApplyGraph(
  params: readonly { name: string; dtype: DType; shape: Shape }[],
  spec: OptimizerSpec,
): { graph: Graph; io: ApplyIO } {
  const g = new Graph('apply');
  const scale = g.input('grad_scale', 'float32', []);
  const ps = params.map((p) => g.input(p.name, p.dtype, p.shape));
  const grads = params.map((p) => op.mul(g.input(`${p.name}.grad`, p.dtype, p.shape), scale));
  const opt = appendOptimizer(g, ps, grads, spec);
  return {
    graph: g,
    io: {
      step: 'step',
      lr: 'lr',
      gradScale: 'grad_scale',
      gradNorm: opt.gradNorm,
      params: opt.params.map((p) => ({ ...p, grad: `${p.name}.grad` })),
    },
  };
}

/** Micro-steps add gradients; apply() takes one optimizer step with their mean. Parameters, moments and sums stay in the host. */
export class AccumulatingTrainer {
  private micro = 0;
  private steps = 0;

  private constructor(
    private readonly state: HostState,
    private readonly gradSession: string,
    private readonly applySession: string,
    private readonly gradIO: GradGraphIO,
    private readonly applyIO: ApplyIO,
  ) {}

  static async create(
    grad: { model: Uint8Array; io: GradGraphIO },
    apply: { model: Uint8Array; io: ApplyIO },
    opts: TrainerOptions,
  ): Promise<AccumulatingTrainer> {
    const state = new HostState(opts.runtime);
    const sessions: string[] = [];
    try {
      sessions.push(
        await createTrainerSession(
          state,
          grad.model,
          grad.io.grads.map((a) => a.accOut),
          opts,
        ),
      );
      sessions.push(
        await createTrainerSession(
          state,
          apply.model,
          apply.io.params.flatMap((p) => [p.out, p.mOut, p.vOut]),
          opts,
        ),
      );
      return new AccumulatingTrainer(state, sessions[0]!, sessions[1]!, grad.io, apply.io);
    } catch (e) {
      await state.release(sessions);
      throw e;
    }
  }

  /** Sets the parameters (CPU tensors); moments and step count come from `resume` or start at zero. */
  init(params: Record<string, ort.Tensor>, resume?: OptimizerState): void {
    initState(this.state, this.applyIO.params, params, resume);
    this.steps = resume?.step ?? 0;
    this.resetAccumulators();
  }

  private resetAccumulators(): void {
    this.micro = 0;
    for (const a of this.gradIO.grads) this.state.zerosLike(a.acc, a.name);
  }

  async microStep(batch: Record<string, ort.Tensor>): Promise<{ loss: number; metrics: Record<string, number> }> {
    const from = Object.fromEntries(
      this.gradIO.grads.flatMap((a) => [
        [a.name, a.name],
        [a.acc, a.acc],
      ]),
    );
    const into = Object.fromEntries(this.gradIO.grads.map((a) => [a.acc, a.accOut]));
    const out = await this.state.run(this.gradSession, batch, {
      from,
      into,
      scalars: [this.gradIO.loss, ...this.gradIO.metrics],
    });
    this.micro++;
    return { loss: out[this.gradIO.loss]!, metrics: Object.fromEntries(this.gradIO.metrics.map((m) => [m, out[m]!])) };
  }

  /** One AdamW step with the mean of the accumulated gradients; returns the gradient norm before clipping. */
  async apply(lr: number): Promise<{ gradNorm: number }> {
    if (this.micro === 0) throw new AppError('conflict', 'apply() needs at least one micro-step since the last apply');
    const feeds = {
      [this.applyIO.gradScale]: scalarFeed(1 / this.micro),
      [this.applyIO.step]: scalarFeed(this.steps + 1),
      [this.applyIO.lr]: scalarFeed(lr),
    };
    const opt = optimizerRun(this.applyIO.params);
    const from = { ...opt.from, ...Object.fromEntries(this.applyIO.params.map((p) => [p.grad, accIO(p.name).acc])) };
    const out = await this.state.run(this.applySession, feeds, {
      from,
      into: opt.into,
      scalars: [this.applyIO.gradNorm],
    });
    this.steps++;
    this.resetAccumulators();
    // The summed gradients are spent: free them now rather than hold them until the next micro-step.
    await this.state.flush();
    return { gradNorm: out[this.applyIO.gradNorm]! };
  }

  readParams(): Promise<Record<string, ort.Tensor>> {
    return readParams(this.applyIO.params, this.state);
  }

  /** Parameters, moments and step count as CPU tensors (accumulators not included: save between apply() calls). */
  readState(): Promise<OptimizerState> {
    return readOptimizerState(this.applyIO.params, this.state, this.steps);
  }

  /** Where each parameter, moment and gradient sum lives now ('gpu-buffer' once computed on WebGPU). */
  stateLocations(): Record<string, StateLocation> {
    return this.state.locations();
  }

  async release(): Promise<void> {
    await this.state.release([this.gradSession, this.applySession]);
  }
}
