// Which weight format a run computes in: an explicit --weights, or `auto`
// (issue 15): fp16 on a GPU that computes in it (the EP probe's answer), else
// fp32 when it fits in free memory, else int8 (int4 when only that fits); the
// choice comes with its reason, which the CLI prints and the respond job logs.
import { AppError } from '../../../shared/errors';
import type { ExplicitEp } from '../../../shared/ep';
import type { WeightBlock, WeightFormat, WeightsChoice } from '../../../shared/weights';
import {
  assertFits,
  assertTrainFits,
  gib,
  planGenerate,
  planTrain,
  type GeneratePlanInput,
  type MemoryPlan,
  type TrainPlan,
  type TrainPlanInput,
} from './memory-plan';

export interface WeightsDecision {
  format: WeightFormat;
  block: WeightBlock;
  /** One line: the format and why. */
  reason: string;
  plan: MemoryPlan;
}

export interface ChooseInput extends Omit<GeneratePlanInput, 'format' | 'block'> {
  choice: WeightsChoice;
  block: WeightBlock;
  ep: ExplicitEp;
  /** Bytes the process may use in all (free memory plus what it holds now). */
  budget: number;
  /** The model folder, named in messages. */
  model: string;
  /** Why `ep` does not compute in fp16 (its probe's answer: e.g. no shader-f16), or null when it does. */
  fp16: string | null;
}

/** The format to load, checked against the memory budget (refused with the settings that would fit). */
export function chooseWeights(c: ChooseInput): WeightsDecision {
  const plan = (format: WeightFormat, seq = c.seq): MemoryPlan =>
    planGenerate({ ...c, format, block: c.block, seq, ep: c.ep });
  // fp16 is offered where the EP computes in it (on the CPU it saves nothing: see CPU_FP16).
  const gpuFp16 = c.ep !== 'cpu' && c.fp16 === null;
  const fallbacks = (): MemoryPlan[] =>
    ([...(gpuFp16 ? (['fp16'] as const) : []), 'fp32', 'int8', 'int4'] as const).flatMap((f) => [
      plan(f),
      plan(f, Math.min(c.seq, 1024)),
    ]);
  if (c.choice === 'fp16' && c.ep !== 'cpu' && c.fp16 !== null)
    throw new AppError(
      'unsupported',
      `--weights fp16: ${c.ep} cannot compute in fp16 here (${c.fp16}); use int8 or int4`,
      {
        subject: 'weights',
      },
    );
  let format: WeightFormat;
  let reason: string;
  if (c.choice !== 'auto') {
    format = c.choice;
    reason = format === 'fp16' && c.ep === 'cpu' ? `fp16: asked for (${c.fp16 ?? 'cpu'})` : `${format}: asked for`;
  } else if (gpuFp16 && plan('fp16').totalBytes <= c.budget) {
    format = 'fp16';
    reason = `fp16: ${c.ep} computes in fp16 and the estimate ${gib(plan('fp16').totalBytes)} fits in ${gib(c.budget)} of memory`;
  } else {
    const fp32 = plan('fp32');
    const gpu =
      c.ep === 'cpu'
        ? ''
        : gpuFp16
          ? `the fp16 estimate ${gib(plan('fp16').totalBytes)} exceeds the ${gib(c.budget)} available, `
          : `${c.ep} cannot compute in fp16 (${c.fp16}), `;
    if (fp32.totalBytes <= c.budget) {
      format = 'fp32';
      reason = `fp32: ${gpu}the fp32 estimate ${gib(fp32.totalBytes)} fits in ${gib(c.budget)} of memory`;
    } else {
      const int8 = plan('int8');
      format = int8.totalBytes <= c.budget || plan('int4').totalBytes > c.budget ? 'int8' : 'int4';
      reason = `${format}: ${gpu}the fp32 estimate ${gib(fp32.totalBytes)} exceeds the ${gib(c.budget)} available; ${format} needs ${gib(plan(format).totalBytes)}`;
    }
  }
  const chosen = plan(format);
  assertFits(chosen, c.budget, fallbacks(), c.model);
  return { format, block: c.block, reason, plan: chosen };
}

export interface TrainWeightsDecision {
  format: 'fp32' | 'int8' | 'int4';
  /** One line: the format and why. */
  reason: string;
  plan: TrainPlan;
}

/**
 * The frozen base's format for a DPO run, checked against the memory budget before anything is queued: refused
 * (bad-input) with the estimate and the settings that fit (formats, checkpointing, one pair per micro-batch).
 */
export function chooseTrainWeights(
  c: Omit<TrainPlanInput, 'format'> & { choice: WeightsChoice; budget: number; model: string },
): TrainWeightsDecision {
  if (c.choice === 'fp16')
    throw new AppError(
      'unsupported',
      '--weights fp16: training on an fp16 base is not implemented (generation, scoring and evaluation are); train on an int4 base (QLoRA-style), int8 or fp32',
      { subject: 'weights' },
    );
  const plan = (format: TrainWeightsDecision['format'], o: Partial<TrainPlanInput> = {}): TrainPlan =>
    planTrain({ ...c, format, ...o });
  let format: TrainWeightsDecision['format'];
  let reason: string;
  if (c.choice !== 'auto') {
    format = c.choice;
    reason = `${format}: asked for`;
  } else {
    const fp32 = plan('fp32');
    if (fp32.totalBytes <= c.budget) {
      format = 'fp32';
      reason = `fp32: the fp32 estimate ${gib(fp32.totalBytes)} fits in ${gib(c.budget)} of memory`;
    } else {
      format = plan('int8').totalBytes <= c.budget || plan('int4').totalBytes > c.budget ? 'int8' : 'int4';
      reason = `${format}: the fp32 estimate ${gib(fp32.totalBytes)} exceeds the ${gib(c.budget)} available; ${format} needs ${gib(plan(format).totalBytes)}`;
    }
  }
  const chosen = plan(format);
  // Cheapest change first: checkpointing, then a smaller format, then one pair per micro-batch.
  const alternatives = (['fp32', 'int8', 'int4'] as const).flatMap((f) =>
    [false, true].flatMap((checkpointing) => [
      plan(f, { checkpointing }),
      ...(c.pairs > 1 ? [plan(f, { checkpointing, pairs: 1 })] : []),
    ]),
  );
  assertTrainFits(chosen, c.budget, alternatives, c.model);
  return { format, reason, plan: chosen };
}
