// The memory planner (issue 15 item 3): an estimate of a generation's peak
// resident memory from the model's shapes, the weight format and the sequence
// length, made before anything is loaded, so a run that cannot fit is refused
// with its numbers and the settings that would fit instead of dying mid-way.
// Constants are calibrated against measured peak RSS on the CPU EP
// (test/unit/engine/generate/memory-plan.test.ts, docs/decisions/0650).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { AppError } from '../../../shared/errors';
import type { WeightBlock, WeightFormat } from '../../../shared/weights';
import type { ExplicitEp } from '../../../shared/ep';
import type { LlavaSpec } from '../models/llava';
import { isQuantized } from '../models/quantized';

/** Node, onnxruntime, the tokenizer and the session worker with no model loaded (measured: 190-230 MiB on Linux x64). */
export const RUNTIME_BASE_BYTES = 220 * 2 ** 20;

export interface PlanTensor {
  name: string;
  shape: readonly number[];
  /** The safetensors dtype as stored (F16 counts 2 bytes where a graph reads it as stored); absent: F32. */
  dtype?: string;
}

/**
 * Bytes per value of an unquantized language-model float tensor: the quantized formats on the CPU read an fp16
 * embedding table and LM head as stored (a Gather, then slices cast one at a time: decoder.ts headLogits);
 * everything else holds an fp32 copy.
 */
const unquantizedBytes = (x: PlanTensor, quantizedCpu: boolean): number => (quantizedCpu && x.dtype === 'F16' ? 2 : 4);

export interface GeneratePlanInput {
  spec: LlavaSpec;
  /** The tensors the graphs read, by canonical name (Checkpoint.names() with shapes). */
  tensors: readonly PlanTensor[];
  format: WeightFormat;
  block?: WeightBlock;
  /** Prompt plus new tokens. */
  seq: number;
  batch?: number;
  /** Images encoded per prompt (the vision graph's activations count once: images run one at a time). */
  images?: number;
  /**
   * Where it runs (default cpu). fp16 keeps 2 bytes per weight only on a GPU EP; on the CPU onnxruntime computes it
   * through inserted casts, with fp32 copies of the weights. On a GPU the figures are the device's and the host's
   * together (the budget checked is host memory: the device's free memory is not queried).
   */
  ep?: ExplicitEp;
}

export interface MemoryPlan {
  format: WeightFormat;
  seq: number;
  totalBytes: number;
  /** Where the bytes go, largest first. */
  parts: { what: string; bytes: number }[];
}

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The estimated peak resident memory of one generation. */
export function planGenerate(p: GeneratePlanInput): MemoryPlan {
  const { spec, format } = p;
  const t = spec.text;
  const v = spec.vision;
  const batch = p.batch ?? 1;
  const block = p.block ?? 32;
  let vision = 0;
  let text = 0;
  let largestQuantized = 0;
  // fp16 on a GPU: weights as stored and 2-byte activations; every other case computes in fp32 copies, and fp16
  // on the CPU keeps the fp16 weights beside the fp32 copies of its inserted casts (measured: 0.96-1.04 of the peak).
  const cpu = (p.ep ?? 'cpu') === 'cpu';
  const quantized = format === 'int8' || format === 'int4';
  const half = format === 'fp16' && !cpu;
  const elt = half ? 2 : 4;
  const weightElt = format === 'fp16' && !half ? 6 : elt;
  for (const x of p.tensors) {
    const n = numel(x.shape);
    if (!x.name.startsWith('language_model.'))
      // fp32 copies of fp16 files, but the CPU's quantized formats cast them layer by layer (LlavaRunner).
      vision += (quantized && cpu ? unquantizedBytes(x, true) : weightElt) * n;
    else if (quantized && isQuantized(x.name, x.shape, { bits: 8, block })) {
      text += n * (format === 'int8' ? 1 : 0.5) + (n / block) * 4; // codes + float32 scales, file-backed
      largestQuantized = Math.max(largestQuantized, n);
    } else text += (quantized && cpu ? unquantizedBytes(x, true) : weightElt) * n;
  }
  // The cache is fp16 for the fp16 graphs on every EP and for the CPU's int8/int4 (runner.ts cacheType).
  const kvElt = format === 'fp16' || (quantized && cpu) ? 2 : 4;
  // The previous step's cache and the new one coexist during a step.
  const kv = 2 * 2 * t.numLayers * t.numKvHeads * t.headDim * p.seq * batch * kvElt;
  // Prefill: scores and probabilities [H, T, T], MLP intermediates [T, I] x3, a few [T, D] residuals; one layer at a time.
  const prefill =
    batch * elt * (2 * t.numHeads * p.seq * p.seq + 3 * p.seq * t.intermediateSize + 6 * p.seq * t.hiddenSize);
  const tokens = (v.imageSize / v.patchSize) ** 2 + 1;
  const visionActs =
    elt * (2 * v.numHeads * tokens * tokens + 3 * tokens * v.intermediateSize + 6 * tokens * v.hiddenSize);
  const logits = batch * 4 * t.vocabSize * 2;
  // DequantizeLinear writes the float matrix of one linear per run; the arena keeps two such buffers.
  const dequant = 2 * 4 * largestQuantized;
  const parts = [
    { what: `language model weights (${format})`, bytes: text },
    {
      what: `vision tower and projector weights (${half ? 'fp16' : format === 'fp16' ? 'fp16 and fp32' : quantized && cpu ? 'as stored, cast by layer' : 'fp32'})`,
      bytes: vision,
    },
    { what: `KV cache (${p.seq} positions)`, bytes: kv },
    { what: `prefill activations (${p.seq} tokens)`, bytes: prefill },
    { what: 'vision activations', bytes: (p.images ?? 1) > 0 ? visionActs : 0 },
    { what: 'dequantization buffers', bytes: dequant },
    { what: 'logits', bytes: logits },
    { what: 'runtime (Node, onnxruntime, tokenizer)', bytes: RUNTIME_BASE_BYTES },
  ]
    .filter((x) => x.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return { format, seq: p.seq, totalBytes: parts.reduce((s, x) => s + x.bytes, 0), parts };
}

/** Memory the process may still take: MemAvailable (Linux), else the OS's free memory. */
export function availableMemory(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return os.freemem();
}

export const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * Refuses a plan over `budget` bytes (bad-input), naming the estimate, its largest parts, the budget,
 * and the formats and sequence lengths that would fit (`alternatives` are plans of other settings).
 */
export function assertFits(plan: MemoryPlan, budget: number, alternatives: readonly MemoryPlan[], model: string): void {
  if (plan.totalBytes <= budget) return;
  const top = plan.parts
    .slice(0, 3)
    .map((x) => `${x.what} ${gib(x.bytes)}`)
    .join(', ');
  const fits = alternatives.filter((a) => a.totalBytes <= budget);
  const hint = fits.length
    ? `settings that fit: ${fits.map((a) => `--weights ${a.format} with ${a.seq} tokens (${gib(a.totalBytes)})`).join('; ')}`
    : 'no weight format fits: free memory or use a smaller model';
  throw new AppError(
    'bad-input',
    `${model}: generating ${plan.seq} tokens in ${plan.format} needs about ${gib(plan.totalBytes)} (${top}), but only ${gib(budget)} is available; ${hint}`,
    { subject: 'weights' },
  );
}

// ---------------------------------------------------------------- training (decision 0660)

export interface TrainPlanInput {
  spec: LlavaSpec;
  /** The tensors the graphs read, by canonical name (Checkpoint.names() with shapes). */
  tensors: readonly PlanTensor[];
  format: Exclude<WeightFormat, 'fp16'>;
  block?: WeightBlock;
  /** Pairs per micro-batch (2 rows each: chosen and rejected). */
  pairs: number;
  /** The step graph's static sequence length (prompt with images expanded + answer, rounded up). */
  seq: number;
  /** The step graph's answer length (positions whose logits are computed). */
  answer: number;
  /** LoRA parameters (A and B of every adapted module). */
  loraParams: number;
  /** LoRA rank: the branches' [rows, T, r] activations. */
  rank: number;
  /** LoRA dropout > 0 keeps a mask the size of each adapted layer's input. */
  dropout: boolean;
  checkpointing: boolean;
  /** The frozen vision tower is loaded (image features computed in this process, not read from a cache). */
  vision?: boolean;
  /** Where the step runs (default cpu: the quantized formats then read fp16 embeddings and LM head as stored). */
  ep?: ExplicitEp;
}

export interface TrainPlan extends MemoryPlan {
  pairs: number;
  checkpointing: boolean;
}

/**
 * Float32 values one decoder layer keeps per token for its backward (fitted to the train-step graph: norms,
 * projections, rotary, attention output, the gated MLP and the LoRA branches) and per token and head for the
 * attention probabilities [H, T, T]. Fitted on the CPU EP to the VmHWM of 9 measured steps, a 7B-shaped one
 * included: estimate / peak 0.88-1.11 (decision 0660).
 */
const KEPT_PER_TOKEN = { hidden: 16, inter: 6, rank: 14, dropHidden: 6, dropInter: 1, scores: 0.25 };
/** The backward's working set beyond the kept values, in layers' worth (gradients meeting, transposes). */
const BACKWARD_LAYERS = 1;
/**
 * Node, onnxruntime and the session host when training, started as the CLI starts it (fixed glibc mmap threshold,
 * bin/mia-dpo.mjs): fitted with the constants above (decision 0660).
 */
const TRAIN_RUNTIME_BYTES = 200 * 2 ** 20;

/** The estimated peak resident memory of one DPO train step (forward, backward, AdamW). */
export function planTrain(p: TrainPlanInput): TrainPlan {
  const { spec, format } = p;
  const t = spec.text;
  const block = p.block ?? 32;
  let text = 0;
  let vision = 0;
  let layerFloat = 0;
  for (const x of p.tensors) {
    const n = numel(x.shape);
    if (!x.name.startsWith('language_model.')) vision += 4 * n;
    else if (format !== 'fp32' && isQuantized(x.name, x.shape, { bits: 8, block })) {
      text += n * (format === 'int8' ? 1 : 0.5) + (n / block) * 4;
      if (x.name.includes('.layers.0.')) layerFloat += 4 * n;
    } else text += unquantizedBytes(x, format !== 'fp32' && (p.ep ?? 'cpu') === 'cpu') * n;
  }
  const rows = 2 * p.pairs;
  const tokens = rows * p.seq;
  const k = KEPT_PER_TOKEN;
  const perToken =
    k.hidden * t.hiddenSize +
    k.inter * t.intermediateSize +
    k.rank * p.rank +
    (p.dropout ? k.dropHidden * t.hiddenSize + k.dropInter * t.intermediateSize : 0) +
    k.scores * t.numHeads * p.seq;
  const layer = 4 * tokens * perToken;
  const kept = p.checkpointing ? t.numLayers * 4 * tokens * t.hiddenSize + layer : t.numLayers * layer;
  // Logits, log-softmax and their gradient at the answer positions.
  const head = 3 * 4 * rows * p.answer * t.vocabSize;
  const parts = [
    { what: `language model weights (${format})`, bytes: text },
    { what: 'vision tower and projector weights (fp32)', bytes: p.vision ? vision : 0 },
    {
      what: p.checkpointing
        ? `activations (${rows} rows x ${p.seq} tokens; layer inputs + one layer recomputed)`
        : `activations (${rows} rows x ${p.seq} tokens, ${t.numLayers} layers kept)`,
      bytes: kept + BACKWARD_LAYERS * layer,
    },
    { what: `logits at ${p.answer} answer positions`, bytes: head },
    // Weights, AdamW moments, gradient sums, and the new values of each while a step ends.
    { what: 'LoRA weights, AdamW moments and gradient sums (fp32)', bytes: 8 * 4 * p.loraParams },
    // One layer's float weights at a time (forward, or the backward's recomputation).
    { what: 'dequantized weights (one layer)', bytes: layerFloat },
    { what: 'runtime (Node, onnxruntime, tokenizer)', bytes: TRAIN_RUNTIME_BYTES },
  ]
    .filter((x) => x.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return {
    format,
    seq: p.seq,
    pairs: p.pairs,
    checkpointing: p.checkpointing,
    totalBytes: parts.reduce((s, x) => s + x.bytes, 0),
    parts,
  };
}

/**
 * Refuses a training plan over `budget` (bad-input) with the estimate, its largest parts, the budget, and the
 * settings among `alternatives` that would fit (formats, checkpointing, shorter lengths, fewer pairs).
 */
export function assertTrainFits(
  plan: TrainPlan,
  budget: number,
  alternatives: readonly TrainPlan[],
  model: string,
): void {
  if (plan.totalBytes <= budget) return;
  const top = plan.parts
    .slice(0, 3)
    .map((x) => `${x.what} ${gib(x.bytes)}`)
    .join(', ');
  const describe = (a: TrainPlan): string =>
    `--weights ${a.format}${a.checkpointing ? ' --checkpointing' : ''} --batch ${a.pairs} with sequences up to ${a.seq} tokens (${gib(a.totalBytes)})`;
  const fits = alternatives.filter((a) => a.totalBytes <= budget).slice(0, 3);
  const hint = fits.length
    ? `settings that fit: ${fits.map(describe).join('; ')}`
    : 'no format, checkpointing or length tried fits: free memory or use a smaller model';
  throw new AppError(
    'bad-input',
    `${model}: a DPO step of ${plan.pairs} pair(s) at ${plan.seq} tokens in ${plan.format}${plan.checkpointing ? ' with checkpointing' : ''} needs about ${gib(plan.totalBytes)} (${top}), but only ${gib(budget)} is available; ${hint}`,
    { subject: 'weights' },
  );
}
