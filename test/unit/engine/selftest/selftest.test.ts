// The self-test report the CLI prints: every rule checked, training fits,
// and a broken rule turns the report into a failure.
import { describe, expect, it } from 'vitest';
import { GRADIENTS } from '../../../../electron/engine/autodiff';
import { GRAD_CASES } from '../../../../electron/engine/selftest/cases';
import { TRAIN_TARGET_LOSS, runSelftest, selftestPassed } from '../../../../electron/engine/selftest';

describe('runSelftest on cpu', () => {
  it('checks every case and trains below the target', async () => {
    const r = await runSelftest({ ep: 'cpu' });
    expect(r.ep).toBe('cpu');
    expect(r.ops.map((o) => o.op)).toEqual(GRAD_CASES.map((c) => c.name));
    expect(r.ops.filter((o) => !o.ok)).toEqual([]);
    expect(r.train).toMatchObject({ steps: 40, ok: true });
    expect(r.train.initialLoss).toBeGreaterThan(1);
    expect(r.train.finalLoss).toBeLessThan(TRAIN_TARGET_LOSS);
    expect(selftestPassed(r)).toBe(true);
    expect(JSON.parse(JSON.stringify(r))).toMatchObject({ ep: 'cpu', train: { ok: true } });
  });

  it('fails when a gradient rule is wrong', async () => {
    const cos = GRADIENTS.Cos;
    GRADIENTS.Cos = GRADIENTS.Sin;
    try {
      const r = await runSelftest({ ep: 'cpu' });
      expect(r.ops.filter((o) => !o.ok).map((o) => o.op)).toEqual(['Cos plain', 'Cos scalar']);
      expect(selftestPassed(r)).toBe(false);
    } finally {
      GRADIENTS.Cos = cos;
    }
  });
});
