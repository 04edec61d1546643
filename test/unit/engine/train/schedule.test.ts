// LR schedules against transformers' formulas (get_*_schedule_with_warmup,
// written out here by hand for a few steps) and a LambdaLR run in PyTorch.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { learningRateSchedule, lrMultiplier, warmupStepsOf } from '../../../../electron/engine/train/schedule';

describe('learning-rate schedules (transformers semantics)', () => {
  it('linear with warm-up: 0 at step 0, peak at the end of warm-up, 0 at the end', () => {
    const s = learningRateSchedule({ kind: 'linear', lr: 1, totalSteps: 10, warmupSteps: 2 });
    expect([0, 1, 2, 3, 6, 9, 10, 11].map((k) => s.at(k))).toEqual([0, 0.5, 1, 7 / 8, 4 / 8, 1 / 8, 0, 0]);
  });

  it('cosine with warm-up: half-cosine from peak to 0', () => {
    const s = learningRateSchedule({ kind: 'cosine', lr: 2, totalSteps: 12, warmupSteps: 2 });
    expect(s.at(1)).toBe(1);
    expect(s.at(2)).toBe(2);
    expect(s.at(7)).toBeCloseTo(1, 12); // half-way: (1 + cos(pi / 2)) / 2
    expect(s.at(4)).toBeCloseTo(1 + Math.cos(Math.PI * 0.2), 12);
    expect(s.at(12)).toBe(0);
  });

  it('constant with and without warm-up', () => {
    expect([0, 1, 2, 3, 50].map((k) => lrMultiplier('constant', k, 3, 10))).toEqual([0, 1 / 3, 2 / 3, 1, 1]);
    expect(learningRateSchedule({ kind: 'constant', lr: 5e-5, totalSteps: 4 }).at(0)).toBe(5e-5);
  });

  it('warm-up ratio rounds up; explicit steps win when > 0', () => {
    expect(warmupStepsOf({ totalSteps: 95, warmupRatio: 0.1 })).toBe(10);
    expect(warmupStepsOf({ totalSteps: 100, warmupRatio: 0.1 })).toBe(10);
    expect(warmupStepsOf({ totalSteps: 100, warmupRatio: 0.1, warmupSteps: 3 })).toBe(3);
    expect(warmupStepsOf({ totalSteps: 100, warmupRatio: 0.1, warmupSteps: 0 })).toBe(10);
    expect(learningRateSchedule({ kind: 'linear', lr: 1, totalSteps: 100, warmupRatio: 0.1 }).warmupSteps).toBe(10);
  });

  it('refuses bad settings with the option named', () => {
    expect(() => learningRateSchedule({ kind: 'linear', lr: 0, totalSteps: 3 })).toThrow(/learning rate 0/);
    expect(() => learningRateSchedule({ kind: 'linear', lr: 1, totalSteps: 0 })).toThrow(/total steps 0/);
    expect(() => warmupStepsOf({ totalSteps: 10, warmupRatio: 1.5 })).toThrow(/warm-up ratio 1.5/);
    expect(() => learningRateSchedule({ kind: 'step' as 'linear', lr: 1, totalSteps: 3 })).toThrow(/schedule "step"/);
  });

  it('equals torch.optim.lr_scheduler.LambdaLR with transformers lambdas driving an optimizer', () => {
    const py = `
import json, math, torch
out = {}
for kind in ("constant", "linear", "cosine"):
    w, n = 3, 17
    def f(s):
        if s < w: return float(s) / float(max(1, w))
        if kind == "constant": return 1.0
        p = float(s - w) / float(max(1, n - w))
        if kind == "linear": return max(0.0, float(n - s) / float(max(1, n - w)))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * p)))
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=3e-4)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, f)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"]); opt.step(); sch.step()
    out[kind] = lrs
print(json.dumps(out))`;
    const want = JSON.parse(
      execFileSync(process.env.MIA_PYTHON ?? '/usr/bin/python3', ['-c', py], { encoding: 'utf8' }),
    ) as Record<string, number[]>;
    for (const kind of ['constant', 'linear', 'cosine'] as const) {
      const s = learningRateSchedule({ kind, lr: 3e-4, totalSteps: 17, warmupSteps: 3 });
      want[kind]!.forEach((lr, k) => expect(s.at(k)).toBeCloseTo(lr, 15));
    }
  });
});
