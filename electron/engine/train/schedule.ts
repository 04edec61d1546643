// Learning-rate schedules as transformers defines them
// (get_constant_schedule_with_warmup, get_linear_schedule_with_warmup,
// get_cosine_schedule_with_warmup with num_cycles 0.5), as pure functions of
// the 0-based optimizer step: step k trains with lr * multiplier(k), so the
// first warm-up step has lr 0, as a LambdaLR scheduler gives it. Warm-up as a
// ratio becomes ceil(total * ratio) steps (TrainingArguments.get_warmup_steps).
import { AppError } from '../../../shared/errors';

export const SCHEDULES = ['constant', 'linear', 'cosine'] as const;
export type ScheduleKind = (typeof SCHEDULES)[number];

export interface ScheduleOptions {
  kind: ScheduleKind;
  /** Peak learning rate. */
  lr: number;
  /** Optimizer steps of the whole run. */
  totalSteps: number;
  /** Warm-up steps; wins over `warmupRatio` when both are given (as in transformers, when > 0). */
  warmupSteps?: number;
  /** Warm-up as a fraction of totalSteps. */
  warmupRatio?: number;
}

/** transformers' TrainingArguments.get_warmup_steps: the steps if > 0, else ceil(total * ratio). */
export function warmupStepsOf(o: Pick<ScheduleOptions, 'totalSteps' | 'warmupSteps' | 'warmupRatio'>): number {
  if (o.warmupSteps !== undefined && (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0))
    throw new AppError('bad-input', `warm-up steps ${o.warmupSteps} must be an integer >= 0`, {
      subject: 'warmup-steps',
    });
  if (o.warmupRatio !== undefined && !(o.warmupRatio >= 0 && o.warmupRatio <= 1))
    throw new AppError('bad-input', `warm-up ratio ${o.warmupRatio} must be in [0, 1]`, { subject: 'warmup-ratio' });
  if (o.warmupSteps !== undefined && o.warmupSteps > 0) return o.warmupSteps;
  return Math.ceil(o.totalSteps * (o.warmupRatio ?? 0));
}

/** The multiplier of the peak learning rate at 0-based optimizer step `step`. */
export function lrMultiplier(kind: ScheduleKind, step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  switch (kind) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (total - step) / Math.max(1, total - warmup));
    case 'cosine': {
      const progress = (step - warmup) / Math.max(1, total - warmup);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)));
    }
  }
}

/** A validated schedule: `at(step)` is the learning rate of 0-based optimizer step `step`. */
export function learningRateSchedule(o: ScheduleOptions): { warmupSteps: number; at(step: number): number } {
  if (!SCHEDULES.includes(o.kind))
    throw new AppError('bad-input', `schedule "${String(o.kind)}" is not one of ${SCHEDULES.join(', ')}`, {
      subject: 'schedule',
    });
  if (!(o.lr > 0) || !Number.isFinite(o.lr))
    throw new AppError('bad-input', `learning rate ${o.lr} must be a finite number > 0`, { subject: 'lr' });
  if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1)
    throw new AppError('bad-input', `total steps ${o.totalSteps} must be an integer >= 1`, { subject: 'steps' });
  const warmup = warmupStepsOf(o);
  return { warmupSteps: warmup, at: (step) => o.lr * lrMultiplier(o.kind, step, warmup, o.totalSteps) };
}
