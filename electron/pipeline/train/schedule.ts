// The learning rate of each optimizer step, as transformers'
// get_{constant,linear,cosine}_schedule_with_warmup compute it (the first step
// takes the multiplier at 0, so with warm-up it trains at lr 0, as TRL does),
// and the warm-up length from --warmup-steps or --warmup-ratio (ceil, as
// TrainingArguments.get_warmup_steps).
import type { TrainOptions } from '../../../shared/pipeline/train';

export function warmupSteps(p: Pick<TrainOptions, 'warmupSteps' | 'warmupRatio'>, total: number): number {
  return p.warmupSteps ?? Math.ceil(total * p.warmupRatio);
}

/** lr of the step with 0-based index `step` of `total`. */
export function learningRate(
  schedule: TrainOptions['schedule'],
  lr: number,
  step: number,
  total: number,
  warmup: number,
): number {
  if (step < warmup) return (lr * step) / Math.max(1, warmup);
  if (schedule === 'constant') return lr;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (schedule === 'linear') return lr * Math.max(0, (total - step) / Math.max(1, total - warmup));
  return lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
