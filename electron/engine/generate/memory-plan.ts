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
import type { LlavaSpec } from '../models/llava';
import { isQuantized } from '../models/quantized';

/** Node, onnxruntime, the tokenizer and the session worker with no model loaded (measured: 190-230 MiB on Linux x64). */
export const RUNTIME_BASE_BYTES = 220 * 2 ** 20;

export interface PlanTensor {
  name: string;
  shape: readonly number[];
}

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
  for (const x of p.tensors) {
    const n = numel(x.shape);
    if (!x.name.startsWith('language_model.'))
      vision += 4 * n; // computed in fp32 (cast copies of fp16 files)
    else if ((format === 'int8' || format === 'int4') && isQuantized(x.name, x.shape, { bits: 8, block })) {
      text += n * (format === 'int8' ? 1 : 0.5) + (n / block) * 4; // codes + float32 scales, file-backed
      largestQuantized = Math.max(largestQuantized, n);
    } else text += (format === 'fp16' ? 2 : 4) * n;
  }
  const elt = format === 'fp16' ? 2 : 4;
  // The previous step's cache and the new one coexist during a step.
  const kv = 2 * 2 * t.numLayers * t.numKvHeads * t.headDim * p.seq * batch * elt;
  // Prefill: scores and probabilities [H, T, T], MLP intermediates [T, I] x3, a few [T, D] residuals; one layer at a time.
  const prefill =
    batch * elt * (2 * t.numHeads * p.seq * p.seq + 3 * p.seq * t.intermediateSize + 6 * p.seq * t.hiddenSize);
  const tokens = (v.imageSize / v.patchSize) ** 2 + 1;
  const visionActs =
    4 * (2 * v.numHeads * tokens * tokens + 3 * tokens * v.intermediateSize + 6 * tokens * v.hiddenSize);
  const logits = batch * 4 * t.vocabSize * 2;
  // DequantizeLinear writes the float matrix of one linear per run; the arena keeps two such buffers.
  const dequant = 2 * 4 * largestQuantized;
  const parts = [
    { what: `language model weights (${format})`, bytes: text },
    { what: 'vision tower and projector weights (fp32)', bytes: vision },
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
