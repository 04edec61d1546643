import { describe, expect, it } from 'vitest';
import type { TrainStepMetrics } from '../../../shared/pipeline/train';
import { collapse, collapseNatsOf } from '../../../renderer/src/lib/train-view';

const step = (n: number, chosen: number, ref: number): TrainStepMetrics => ({
  step: n,
  epoch: 0,
  loss: 0.69,
  rewards_chosen: 0,
  rewards_rejected: 0,
  margin: 0,
  accuracy: 0.5,
  logps_chosen: chosen,
  logps_rejected: -50,
  ref_logps_chosen: ref,
  ref_logps_rejected: -50,
  lr: 5e-5,
  grad_norm: 1,
  tokens: 10,
  tokens_per_sec: 1,
  step_ms: 1,
  peak_rss: 1,
});

describe('training collapse warning', () => {
  it('flags the steps whose chosen log-prob fell more than the limit below the reference', () => {
    expect(collapse([step(1, -40, -40), step(2, -49, -40)], 10)).toBeNull();
    expect(collapse([step(1, -40, -40), step(2, -51, -40), step(3, -55, -40), step(4, -42, -40)], 10)).toEqual({
      step: 3,
      below: 15,
      count: 2,
    });
  });

  it('reads the limit from the run options, else the job default', () => {
    expect(collapseNatsOf({ collapseNats: 3 })).toBe(3);
    expect(collapseNatsOf({})).toBe(10);
  });
});
