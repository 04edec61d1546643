// What the Training page derives from a run's stored steps: the plot series
// and the collapse warning (the chosen answers' log-prob fallen further below
// the reference's than the run's `collapseNats`, as the train job warns).
import type { TrainStepMetrics } from '../../../shared/pipeline/train';

/** The train job's default (shared/pipeline/train.ts `collapseNats`). */
const DEFAULT_COLLAPSE_NATS = 10;

export interface PlotSpec {
  title: string;
  series: { label: string; key: keyof TrainStepMetrics }[];
}

export const TRAIN_PLOTS: PlotSpec[] = [
  { title: 'Loss', series: [{ label: 'loss', key: 'loss' }] },
  {
    title: 'Rewards',
    series: [
      { label: 'chosen', key: 'rewards_chosen' },
      { label: 'rejected', key: 'rewards_rejected' },
    ],
  },
  { title: 'Margin', series: [{ label: 'margin', key: 'margin' }] },
  { title: 'Accuracy', series: [{ label: 'accuracy', key: 'accuracy' }] },
  { title: 'Learning rate', series: [{ label: 'lr', key: 'lr' }] },
  { title: 'Gradient norm', series: [{ label: 'grad norm', key: 'grad_norm' }] },
];

export function collapseNatsOf(options: Record<string, unknown>): number {
  const n = options['collapseNats'];
  return typeof n === 'number' && n > 0 ? n : DEFAULT_COLLAPSE_NATS;
}

/** The last step at which the chosen log-prob fell more than `nats` below the reference's, with how far; null if none. */
export function collapse(
  steps: readonly TrainStepMetrics[],
  nats: number,
): { step: number; below: number; count: number } | null {
  let last: { step: number; below: number } | null = null;
  let count = 0;
  for (const s of steps) {
    const below = s.ref_logps_chosen - s.logps_chosen;
    if (below > nats) {
      last = { step: s.step, below };
      count++;
    }
  }
  return last === null ? null : { ...last, count };
}
