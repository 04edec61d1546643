// Gradient accumulation over micro-batches as two graphs: a grad graph that
// adds each micro-batch's gradients into accumulators (inputs -> outputs, kept
// on the GPU with WebGPU), and an apply graph that scales the sum, clips and
// runs AdamW. AccumulatingTrainer drives both.
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import { gradients } from '../autodiff/backward';
import type { DType } from '../onnx/dtype';
import { Graph } from '../onnx/graph';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { Shape } from '../onnx/shape';
import type { LocalSession, LocalSessionOptions } from '../runtime/local';
import { createLocalSession, toCpuTensor } from '../runtime/local';
import type { OptimizerSpec, OptimizerState, ParamIO } from './train-step';
import { appendOptimizer, initialTensors, readOptimizerState, scalar, stateLocations, swapTensors, zerosLikeTensor } from './train-step';

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
export function buildGradGraph(spec: { loss: Value; params: readonly Value[]; metrics?: Record<string, Value> }): GradGraphIO {
  const g = spec.loss.graph;
  if (spec.loss.rank !== 0) throw new AppError('internal', `the loss must be a scalar, got ${spec.loss}`);
  const grads = gradients(spec.loss, spec.params);
  g.output(spec.loss, 'loss');
  const metrics = Object.entries(spec.metrics ?? {}).map(([name, v]) => g.output(v, name).name);
  const ios = spec.params.map((p, i) => {
    const io = accIO(p.name);
    const acc = g.input(io.acc, p.dtype, p.shape);
    g.output(g.withScope('accumulate', () => op.add(acc, grads[i]!)), io.accOut);
    return io;
  });
  return { loss: 'loss', metrics, grads: ios };
}

/** The apply graph: params, summed grads and moments in; clipped, scaled AdamW step out. */
export function buildApplyGraph(params: readonly { name: string; dtype: DType; shape: Shape }[], spec: OptimizerSpec): { graph: Graph; io: ApplyIO } {
  const g = new Graph('apply');
  const scale = g.input('grad_scale', 'float32', []);
  const ps = params.map((p) => g.input(p.name, p.dtype, p.shape));
  const grads = params.map((p) => op.mul(g.input(`${p.name}.grad`, p.dtype, p.shape), scale));
  const opt = appendOptimizer(g, ps, grads, spec);
  return {
    graph: g,
    io: { step: 'step', lr: 'lr', gradScale: 'grad_scale', gradNorm: opt.gradNorm, params: opt.params.map((p) => ({ ...p, grad: `${p.name}.grad` })) },
  };
}

/** Micro-steps add gradients; apply() takes one optimizer step with their mean. */
export class AccumulatingTrainer {
  private readonly state = new Map<string, ort.Tensor>();
  private micro = 0;
  private steps = 0;

  private constructor(
    private readonly gradSession: LocalSession,
    private readonly applySession: LocalSession,
    private readonly gradIO: GradGraphIO,
    private readonly applyIO: ApplyIO,
  ) {}

  static async create(grad: { model: Uint8Array; io: GradGraphIO }, apply: { model: Uint8Array; io: ApplyIO }, opts: LocalSessionOptions): Promise<AccumulatingTrainer> {
    const gradWhere = stateLocations(grad.io.grads.map((a) => a.accOut), opts.ep);
    const applyWhere = stateLocations(apply.io.params.flatMap((p) => [p.out, p.mOut, p.vOut]), opts.ep);
    const gs = await createLocalSession(grad.model, gradWhere ? { ...opts, preferredOutputLocation: gradWhere } : opts);
    const as = await createLocalSession(apply.model, applyWhere ? { ...opts, preferredOutputLocation: applyWhere } : opts);
    return new AccumulatingTrainer(gs, as, grad.io, apply.io);
  }

  /** Sets the parameters (CPU tensors); moments and step count come from `resume` or start at zero. */
  init(params: Record<string, ort.Tensor>, resume?: OptimizerState): void {
    swapTensors(this.state, initialTensors(this.applyIO.params, params, resume));
    this.steps = resume?.step ?? 0;
    this.resetAccumulators();
  }

  private resetAccumulators(): void {
    this.micro = 0;
    swapTensors(
      this.state,
      this.gradIO.grads.map((a) => [a.acc, zerosLikeTensor(this.state.get(a.name)!)]),
    );
  }

  async microStep(batch: Record<string, ort.Tensor>): Promise<{ loss: number; metrics: Record<string, number> }> {
    const feeds: Record<string, ort.Tensor> = { ...batch };
    for (const a of this.gradIO.grads) {
      feeds[a.name] = this.state.get(a.name)!;
      feeds[a.acc] = this.state.get(a.acc)!;
    }
    const out = await this.gradSession.run(feeds);
    this.micro++;
    swapTensors(this.state, this.gradIO.grads.map((a) => [a.acc, out[a.accOut]!]));
    const metrics: Record<string, number> = {};
    for (const m of this.gradIO.metrics) metrics[m] = await scalar(out[m], m);
    return { loss: await scalar(out[this.gradIO.loss], 'loss'), metrics };
  }

  /** One AdamW step with the mean of the accumulated gradients; returns the gradient norm before clipping. */
  async apply(lr: number): Promise<{ gradNorm: number }> {
    if (this.micro === 0) throw new AppError('conflict', 'apply() needs at least one micro-step since the last apply');
    const feeds: Record<string, ort.Tensor> = {
      [this.applyIO.gradScale]: new ort.Tensor('float32', new Float32Array([1 / this.micro]), []),
      [this.applyIO.step]: new ort.Tensor('float32', new Float32Array([this.steps + 1]), []),
      [this.applyIO.lr]: new ort.Tensor('float32', new Float32Array([lr]), []),
    };
    for (const p of this.applyIO.params) {
      feeds[p.name] = this.state.get(p.name)!;
      feeds[p.m] = this.state.get(p.m)!;
      feeds[p.v] = this.state.get(p.v)!;
      feeds[p.grad] = this.state.get(`${p.name}.grad_acc`)!;
    }
    const out = await this.applySession.run(feeds);
    this.steps++;
    swapTensors(
      this.state,
      this.applyIO.params.flatMap((p) => [
        [p.name, out[p.out]!],
        [p.m, out[p.mOut]!],
        [p.v, out[p.vOut]!],
      ]),
    );
    this.resetAccumulators();
    return { gradNorm: await scalar(out[this.applyIO.gradNorm], 'grad_norm') };
  }

  async readParams(): Promise<Record<string, ort.Tensor>> {
    const out: Record<string, ort.Tensor> = {};
    for (const p of this.applyIO.params) out[p.name] = await toCpuTensor(this.state.get(p.name)!);
    return out;
  }

  /** Parameters, moments and step count as CPU tensors (accumulators not included: save between apply() calls). */
  readState(): Promise<OptimizerState> {
    return readOptimizerState(this.applyIO.params, this.state, this.steps);
  }

  async release(): Promise<void> {
    for (const t of this.state.values()) if (t.location === 'gpu-buffer') t.dispose();
    this.state.clear();
    await this.gradSession.release();
    await this.applySession.release();
  }
}
