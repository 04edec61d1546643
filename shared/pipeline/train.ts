// LoRA-DPO training (issue 9): the parameters of a run, defined once with the
// reference run's defaults (MIA-DPO.md step 6: LoRA r128 alpha256 dropout 0.05
// on q/k/v/o/gate/up/down, sigmoid DPO beta 0.1, lr 5e-5 linear with 10%
// warm-up, no weight decay, one epoch), and the API commands the UI uses. The
// `train.start` request, the train job's stored params and `mia-dpo train`'s
// options all derive from TrainOptions.
import { z } from 'zod';
import { Id, Timestamp } from '../api/domain';
import { EpChoice } from '../ep';
import { WeightBlock, WeightsChoice } from '../weights';

export const DPO_LOSSES = ['sigmoid', 'ipo', 'hinge', 'robust'] as const;
export const LR_SCHEDULES = ['constant', 'linear', 'cosine'] as const;
/** The language model's linear layers LoRA may adapt (engine/models/lora.ts LORA_TARGETS, never the vision tower). */
export const TRAIN_LORA_TARGETS = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

/**
 * InternLM-XComposer-2.5's LoRA targets (engine/models/ixc.ts IXC_LORA_TARGETS): the official finetune.py's
 * attention.wqkv, attention.wo, feed_forward.w1, w2, w3.
 */
export const IXC_TRAIN_LORA_TARGETS = ['wqkv', 'wo', 'w1', 'w2', 'w3'] as const;
/** Every name `loraTargets` accepts; train.start checks them against the model's family. */
export const ALL_TRAIN_LORA_TARGETS = [...TRAIN_LORA_TARGETS, ...IXC_TRAIN_LORA_TARGETS] as const;
export type TrainLoraTarget = (typeof ALL_TRAIN_LORA_TARGETS)[number];

/** The LoRA targets each model family takes; the first is a fresh adapter's default. */
export const FAMILY_LORA_TARGETS = {
  llava: TRAIN_LORA_TARGETS,
  ixc: IXC_TRAIN_LORA_TARGETS,
} as const;

/** The LoRA shape of a fresh adapter (the reference run's; the targets are the family's, llava-hf's here). */
export const LORA_DEFAULTS = {
  loraR: 128,
  loraAlpha: 256,
  rslora: false,
  loraTargets: [...TRAIN_LORA_TARGETS],
} as const;

export const TrainOptions = z.strictObject({
  /** The base model folder: llava-hf or InternLM-XComposer-2.5 (config.json's architecture). */
  model: z.string().min(1),
  /** A JSONL pairs file (images, prompt, chosen, rejected); absent: the open project's kept pairs. */
  pairs: z.string().min(1).optional(),
  /** Folder of the final PEFT adapter (its root) and the checkpoints (`checkpoints/`). */
  out: z.string().min(1),
  /** A PEFT adapter to start from instead of a fresh LoRA. */
  initAdapter: z.string().min(1).optional(),
  /** A PEFT adapter that makes base + adapter the reference policy (an SFT adapter); default the bare base. */
  refAdapter: z.string().min(1).optional(),
  /** Optimizer steps; exclusive with epochs. Default: one epoch. */
  steps: z.int().positive().optional(),
  /** Passes over the pairs (may be fractional); exclusive with steps. */
  epochs: z.number().positive().optional(),
  lr: z.number().positive().default(5e-5),
  beta: z.number().positive().default(0.1),
  loss: z.enum(DPO_LOSSES).default('sigmoid'),
  /** Weight gamma of the SFT (NLL of the chosen answer) term; 0 = pure DPO. */
  sftWeight: z.number().min(0).default(0),
  /** Label smoothing epsilon of the robust (and sigmoid) loss, as TRL's label_smoothing. */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
  /** Pairs per micro-batch (each pair is two rows: chosen and rejected). */
  batch: z.int().positive().default(1),
  /**
   * Micro-batches per optimizer step: the effective batch is batch x gradAccum. Default 64, the reference's effective
   * batch (1 pair per GPU x 8 GPUs x 8 accumulation steps) on one machine (decision 0600).
   */
  gradAccum: z.int().positive().default(64),
  schedule: z.enum(LR_SCHEDULES).default('linear'),
  /** Warm-up steps; when given, warmupRatio is not used. */
  warmupSteps: z.int().nonnegative().optional(),
  warmupRatio: z.number().min(0).max(1).default(0.1),
  /** LoRA rank; absent: LORA_DEFAULTS, or with initAdapter the adapter's own (a given value must match it). */
  loraR: z.int().positive().optional(),
  /** LoRA alpha; absent as loraR. */
  loraAlpha: z.number().positive().optional(),
  loraDropout: z.number().min(0).lt(1).default(0.05),
  /**
   * The adapted layers, the model family's names (FAMILY_LORA_TARGETS); absent: the family's all (with initAdapter:
   * the layers the adapter adapts).
   */
  loraTargets: z.array(z.enum(ALL_TRAIN_LORA_TARGETS)).min(1).optional(),
  /** rsLoRA scaling alpha / sqrt(r) instead of alpha / r; absent as loraR. */
  rslora: z.boolean().optional(),
  weightDecay: z.number().min(0).default(0),
  /** Global gradient-norm clip (TRL's max_grad_norm 1.0); 0 = no clipping. */
  clipNorm: z.number().min(0).default(1),
  /** A checkpoint every N optimizer steps (and always at the end). */
  checkpointEvery: z.int().positive().default(50),
  /** Reshuffle the pairs every epoch with the seed; false: file / project order. */
  shuffle: z.boolean().default(true),
  seed: z.int().nonnegative().default(42),
  /** Use the prompt verbatim (with `<image>` placeholders) instead of wrapping it in the model's chat template. */
  raw: z.boolean().default(false),
  /** How images are fitted to the vision tower; pad as the reference trained (image_aspect_ratio pad). */
  aspect: z.enum(['crop', 'pad']).default('pad'),
  ep: EpChoice.default('auto'),
  /**
   * The frozen base's format (decision 0660): int8/int4 as inference quantizes it (QLoRA), LoRA and AdamW state in
   * fp32; auto: fp32 when its memory plan fits, else int8, else int4. Absent: fp32.
   */
  weights: WeightsChoice.optional(),
  /** Weights per int8/int4 scale; absent: 32. */
  weightBlock: WeightBlock.optional(),
  /** Recompute each decoder layer in the backward (gradient checkpointing): less memory, a longer step. */
  checkpointing: z.boolean().optional(),
  /** Warn when the batch's chosen log-prob falls more than this many nats below the reference (DPO collapse). */
  collapseNats: z.number().positive().default(10),
});
export type TrainOptions = z.output<typeof TrainOptions>;
export type TrainOptionsIn = z.input<typeof TrainOptions>;

/** One optimizer step's metrics (batch means over its micro-batches, as TRL logs them), snake_case as `--json` prints them. */
export const TrainStepMetrics = z.object({
  step: z.int().positive(),
  epoch: z.number().nonnegative(),
  loss: z.number(),
  rewards_chosen: z.number(),
  rewards_rejected: z.number(),
  margin: z.number(),
  accuracy: z.number(),
  logps_chosen: z.number(),
  logps_rejected: z.number(),
  ref_logps_chosen: z.number(),
  ref_logps_rejected: z.number(),
  lr: z.number(),
  grad_norm: z.number(),
  tokens: z.int().nonnegative(),
  tokens_per_sec: z.number().nonnegative(),
  step_ms: z.number().nonnegative(),
  /** Peak resident set size of the process so far, bytes. */
  peak_rss: z.int().nonnegative(),
});
export type TrainStepMetrics = z.infer<typeof TrainStepMetrics>;

export const TRAIN_RUN_STATES = ['training', 'done'] as const;

/** A training run: one output folder trained with one configuration on one snapshot of pairs (it may span several jobs). */
export const TrainRun = z.object({
  id: Id,
  out: z.string(),
  model: z.string(),
  pairs: z.int().nonnegative(),
  totalSteps: z.int().nonnegative(),
  /** The newest step with stored metrics. */
  step: z.int().nonnegative(),
  state: z.enum(TRAIN_RUN_STATES),
  options: z.record(z.string(), z.unknown()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type TrainRun = z.infer<typeof TrainRun>;

export const TrainCheckpoint = z.object({
  step: z.int().nonnegative(),
  dir: z.string(),
  files: z.array(z.object({ name: z.string(), bytes: z.int().nonnegative(), sha256: z.string() })),
  at: Timestamp,
});
export type TrainCheckpoint = z.infer<typeof TrainCheckpoint>;

/** A pair as the trainer sees it: `prompt_ids` as `generate --json` reports input_ids (each image token expanded to the image's feature tokens); responses end with EOS. */
export const TrainPair = z.object({
  key: z.string(),
  images: z.array(z.string()),
  prompt_ids: z.array(z.int()),
  chosen_ids: z.array(z.int()),
  rejected_ids: z.array(z.int()),
});
export type TrainPair = z.infer<typeof TrainPair>;

/** Which adapter of a run an export or merge takes: the final one (absent step) or a checkpoint's. */
const RunAdapter = {
  runId: Id,
  /** A checkpoint's step (train.checkpoints); absent: the finished run's final adapter. */
  checkpointStep: z.int().nonnegative().optional(),
  /** The folder to create: it must not exist or be empty. */
  out: z.string().min(1),
};

export const TRAIN_COMMANDS = {
  /** Validates and tokenizes the pairs, then queues the reference log-prob job and the train job (or joins the unfinished ones of the same run). */
  'train.start': {
    request: TrainOptions,
    response: z.object({ jobId: Id, referenceJobId: Id.nullable(), runId: Id }),
  },
  'train.runs': { request: z.strictObject({}), response: z.object({ runs: z.array(TrainRun) }) },
  /** Per-step metrics of a run from step `after` on (for a live plot: ask again with the last step seen). */
  'train.metrics': {
    request: z.strictObject({ runId: Id, after: z.int().nonnegative().default(0) }),
    response: z.object({ steps: z.array(TrainStepMetrics) }),
  },
  /** The tokenized pairs of a run, in training order, as `mia-dpo train --json` reports them. */
  'train.pairs': {
    request: z.strictObject({
      runId: Id,
      offset: z.int().nonnegative().default(0),
      limit: z.int().min(1).max(100_000).default(1000),
    }),
    response: z.object({ total: z.int().nonnegative(), items: z.array(TrainPair) }),
  },
  'train.checkpoints': {
    request: z.strictObject({ runId: Id }),
    response: z.object({ checkpoints: z.array(TrainCheckpoint) }),
  },
  /** Copies a run's adapter (or a checkpoint's) as a PEFT folder to `out`, verified by hash and by loading it on the base. */
  'train.export': {
    request: z.strictObject(RunAdapter),
    response: z.object({
      out: z.string(),
      files: z.array(z.object({ name: z.string(), bytes: z.int().nonnegative(), sha256: z.string() })),
    }),
  },
  /** Queues a model-merge job: the run's adapter (or a checkpoint's) folded into its base model, written to `out`. */
  'train.merge': { request: z.strictObject(RunAdapter), response: z.object({ jobId: Id }) },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;
