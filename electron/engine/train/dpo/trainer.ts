// DPO on the LLaVA graph (MIA-DPO, issue 9 item 1): the public API the train
// job and the adapter store build on. One step = chosen and rejected of each
// pair in one padded batch through the production decoder with unmerged LoRA,
// summed response log-probs, the TRL loss, autodiff gradients accumulated in
// the session host and, when applied, global-norm clipping and AdamW.
import type { ExplicitEp } from '../../runtime/local';
import type { SessionImage } from '../../generate/session';
import type { LoraSettings, LoraWeights } from '../../models/lora';
import type { AdamWConfig } from '../adamw';

/** TRL's DPOTrainer loss_type values implemented here. */
export type DpoLoss = 'sigmoid' | 'ipo' | 'hinge' | 'robust';

export interface DpoConfig {
  /** beta: temperature of the implicit reward (TRL default 0.1). */
  beta: number;
  loss: DpoLoss;
  /** Label smoothing epsilon (sigmoid: conservative DPO; robust: rDPO); 0 for ipo and hinge. */
  labelSmoothing: number;
  /** gamma: weight of the SFT term (mean negative log-prob per chosen token, per pair); 0 = none. */
  sftWeight: number;
}

export const DPO_DEFAULTS: DpoConfig = { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 };

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
  /** Global gradient norm before clipping (NaN on micro-steps that do not apply). */
  gradNorm: number;
  lr: number;
  /** Response tokens (chosen + rejected) in the micro-batch. */
  tokens: number;
  stepMs: number;
}

export interface DpoTrainerOptions {
  modelDir: string;
  ep: ExplicitEp;
  lora: LoraSettings & { dropout: number };
  /** Start from these adapters (e.g. --init-adapter); default PEFT's init from `seed`. */
  init?: LoraWeights;
  dpo: DpoConfig;
  adamw: AdamWConfig;
  clipNorm?: number;
  /** Seeds the LoRA init and the per-step dropout masks. */
  seed: number;
  /** onnxruntime intra-op threads (default: its own choice). */
  threads?: number;
}

/** What a checkpoint holds of the trainer: LoRA weights, AdamW moments by parameter name, optimizer steps taken. */
export interface DpoTrainerState {
  lora: LoraWeights;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
  step: number;
}

export class DpoTrainer {
  private constructor(readonly options: DpoTrainerOptions) {}

  static create(o: DpoTrainerOptions): Promise<DpoTrainer> {
    return Promise.resolve(new DpoTrainer(o));
  }

  /** Images -> projected features (frozen tower + projector); callers cache them per pair. */
  imageFeatures(_images: readonly SessionImage[]): Promise<Float32Array[]> {
    throw new Error('not implemented yet');
  }

  /** Summed response log-probs of chosen and rejected under the base model (no adapter) or base + `ref`. */
  referenceLogprobs(
    _examples: readonly Omit<DpoExample, 'refChosen' | 'refRejected'>[],
    _ref?: LoraWeights,
  ): Promise<{ chosen: number[]; rejected: number[] }> {
    throw new Error('not implemented yet');
  }

  /** One micro-batch: forward + backward, gradients accumulated; with `apply` also clip + AdamW at `lr`, then zero the sums. */
  step(_batch: readonly DpoExample[], _o: { lr: number; apply: boolean; stepIndex: number }): Promise<DpoStepMetrics> {
    throw new Error('not implemented yet');
  }

  exportState(): Promise<DpoTrainerState> {
    throw new Error('not implemented yet');
  }

  importState(_s: DpoTrainerState): Promise<void> {
    throw new Error('not implemented yet');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
