// Full-parameter SFT of a LLaVA model held in memory (the demo's base model is
// trained from a random init with it, issue 14 item 2): one step graph of a
// fixed shape (graph.ts) run by TrainStepSession, weights and AdamW moments
// kept in the session host between steps and read back on request.
import ort from 'onnxruntime-node';
import { AppError } from '../../../../shared/errors';
import type { LlavaSpec } from '../../models/llava';
import { serializeModel } from '../../onnx/serialize';
import type { AdamWConfig } from '../adamw';
import { TrainStepSession, type StepResult, type TrainerOptions } from '../train-step';
import { packSft, type SftExample, type SftShape } from './batch';
import { buildSftStepGraph } from './graph';

export type { SftExample, SftShape } from './batch';

/** Weights by canonical name, float32. */
export type SftWeights = Map<string, { shape: readonly number[]; values: Float32Array }>;

export interface SftTrainerOptions extends TrainerOptions {
  spec: LlavaSpec;
  /** The initial weights (every tensor of the checkpoint); those the forward does not read stay as given. */
  weights: SftWeights;
  shape: SftShape;
  adamw: AdamWConfig;
  clipNorm?: number;
}

export interface SftStepResult extends StepResult {
  /** Answer tokens the loss averaged over. */
  tokens: number;
}

export class SftTrainer {
  private constructor(
    private readonly options: SftTrainerOptions,
    private readonly session: TrainStepSession,
  ) {}

  static async create(o: SftTrainerOptions): Promise<SftTrainer> {
    const { spec, weights, shape, adamw, clipNorm, ...create } = o;
    for (const [k, v] of Object.entries(shape))
      if (!Number.isInteger(v) || v < 1)
        throw new AppError('bad-input', `SFT step shape: ${k} = ${v} must be a positive integer`, { subject: k });
    const shapes = new Map([...weights].map(([name, t]) => [name, t.shape] as const));
    const { graph, io } = buildSftStepGraph(spec, shapes, shape, {
      adamw,
      ...(clipNorm !== undefined ? { clipNorm } : {}),
    });
    const session = await TrainStepSession.create(serializeModel(graph), io, create);
    const init: Record<string, ort.Tensor> = {};
    for (const p of io.params) {
      const t = weights.get(p.name)!;
      init[p.name] = new ort.Tensor('float32', Float32Array.from(t.values), [...t.shape]);
    }
    session.init(init);
    return new SftTrainer(o, session);
  }

  get stepCount(): number {
    return this.session.stepCount;
  }

  /** Names of the weights the step trains, in the graph's order. */
  get trainable(): string[] {
    return this.session.io.params.map((p) => p.name);
  }

  /** One optimizer step on `examples` (at most `shape.rows`) at learning rate `lr`. */
  async step(examples: readonly SftExample[], lr: number): Promise<SftStepResult> {
    if (examples.length === 0) throw new AppError('bad-input', 'an SFT step needs at least one example');
    const packed = packSft(this.options.spec, examples, this.options.shape);
    const r = await this.session.step(packed.feeds, lr);
    return { ...r, tokens: packed.tokens };
  }

  /** Every weight as it stands now (trained ones read back from the host, the others as given). */
  async weights(): Promise<SftWeights> {
    const trained = await this.session.readParams();
    const out: SftWeights = new Map();
    for (const [name, t] of this.options.weights) {
      const now = trained[name];
      out.set(name, { shape: t.shape, values: now ? (now.data as Float32Array) : t.values });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
