// Every gradient rule against central finite differences (see
// electron/engine/selftest/gradcheck.ts for the method and tolerances):
// all cases on CPU, one case per op on WebGPU through SwiftShader with CPU
// fallback disabled, the analytic gradients there checked against CPU FD.
import { describe, expect, it } from 'vitest';
import { GRADIENTS } from '../../../../electron/engine/autodiff';
import { GRAD_CASES } from '../../../../electron/engine/selftest/cases';
import { checkGradient } from '../../../../electron/engine/selftest/gradcheck';
import { useSwiftShader } from '../../../helpers/ort';

useSwiftShader();

const opOf = (name: string): string => name.split(' ')[0]!;
const onePerOp = GRAD_CASES.filter((c, i) => GRAD_CASES.findIndex((d) => opOf(d.name) === opOf(c.name)) === i);

describe('gradient rules vs finite differences on cpu', () => {
  it.each(GRAD_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await checkGradient(c, { ep: 'cpu' });
    expect(r, `max abs ${r.maxAbsErr}, max rel ${r.maxRelErr}`).toMatchObject({ ok: true });
  });
});

describe('gradient rules on webgpu (strict) vs finite differences', () => {
  it.each(onePerOp.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const r = await checkGradient(c, { ep: 'webgpu' });
    expect(r, `max abs ${r.maxAbsErr}, max rel ${r.maxRelErr}`).toMatchObject({ ok: true });
  });
});

describe('the checker itself', () => {
  it('flags a wrong rule', async () => {
    const sin = GRADIENTS.Sin;
    // Swap in the rule of Cos: d/dx sin would come out as -sin(x).
    GRADIENTS.Sin = GRADIENTS.Cos;
    try {
      const r = await checkGradient(
        GRAD_CASES.find((c) => c.name === 'Sin plain')!,
        { ep: 'cpu' },
      );
      expect(r.ok).toBe(false);
      expect(r.maxAbsErr).toBeGreaterThan(0.1);
    } finally {
      GRADIENTS.Sin = sin;
    }
  });
});
