// Forward values of the nn pieces (models/nn.ts) and the loss composites
// (autodiff/composites.ts) against direct JS formulas (their gradients are
// checked by finite differences in rules.test.ts, the self-test's cases).
import { describe, expect, it } from 'vitest';
import * as L from '../../../../electron/engine/autodiff/composites';
import * as N from '../../../../electron/engine/models/nn';
import { Graph } from '../../../../electron/engine/onnx';
import type { Value } from '../../../../electron/engine/onnx';
import { maxAbsDiff, runGraph } from '../../../helpers/ort';

const X = [-40, -3, -0.5, 0, 0.7, 2.5, 20, 40];
const erf = (x: number): number => {
  // Series for |x| <= 3, 1 beyond (|erf(x) - 1| < 3e-5 there): enough for GELU's x * erf(x / sqrt 2) tolerance.
  if (Math.abs(x) > 3) return Math.sign(x);
  let sum = x;
  let term = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const C = { ...N, ...L };

async function apply(fn: (x: Value) => Value, xs: number[]): Promise<number[]> {
  const g = new Graph();
  g.output(fn(g.input('x', 'float32', [xs.length])), 'y');
  return (await runGraph(g, { x: { dims: [xs.length], data: xs } })).y!.values;
}

describe('nn and loss composites forward', () => {
  it.each([
    ['gelu', C.gelu, (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
    [
      'geluTanh',
      C.geluTanh,
      (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    ],
    ['silu', C.silu, (x: number) => x * sig(x)],
    ['quickGelu', C.quickGelu, (x: number) => x * sig(1.702 * x)],
    ['logSigmoid', C.logSigmoid, (x: number) => (x < 0 ? x - Math.log1p(Math.exp(x)) : -Math.log1p(Math.exp(-x)))],
  ] as const)('%s', async (_n, fn, want) => {
    const got = await apply(fn, X);
    expect(maxAbsDiff(got, X.map(want))).toBeLessThan(1e-4);
  });

  it('rmsNorm and logSoftmax', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.input('w', 'float32', [3]);
    g.output(C.rmsNorm(x, w, 1e-6), 'r');
    g.output(C.logSoftmax(x), 'l');
    const data = [1, -2, 3, 0.5, 0.5, -1];
    const out = await runGraph(g, { x: { dims: [2, 3], data }, w: { dims: [3], data: [1, 2, -1] } });
    const rms = [Math.sqrt((1 + 4 + 9) / 3 + 1e-6), Math.sqrt((0.25 + 0.25 + 1) / 3 + 1e-6)];
    expect(
      maxAbsDiff(
        out.r!.values,
        data.map((v, i) => (v / rms[Math.floor(i / 3)]!) * [1, 2, -1][i % 3]!),
      ),
    ).toBeLessThan(1e-5);
    const lse = [Math.log(Math.exp(1) + Math.exp(-2) + Math.exp(3)), Math.log(2 * Math.exp(0.5) + Math.exp(-1))];
    expect(
      maxAbsDiff(
        out.l!.values,
        data.map((v, i) => v - lse[Math.floor(i / 3)]!),
      ),
    ).toBeLessThan(1e-5);
  });

  it('rotary rotates each half-pair by the angle (HF non-interleaved layout)', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [1, 4]);
    const cos = g.input('cos', 'float32', [1, 4]);
    const sin = g.input('sin', 'float32', [1, 4]);
    g.output(C.rotary(x, cos, sin), 'y');
    const [a, b] = [0.3, 1.1];
    const out = await runGraph(g, {
      x: { dims: [1, 4], data: [1, 2, 3, 4] },
      cos: { dims: [1, 4], data: [Math.cos(a), Math.cos(b), Math.cos(a), Math.cos(b)] },
      sin: { dims: [1, 4], data: [Math.sin(a), Math.sin(b), Math.sin(a), Math.sin(b)] },
    });
    // Pairs (x0, x2) and (x1, x3) rotate by a and b.
    const rot = (p: number, q: number, t: number): [number, number] => [
      p * Math.cos(t) - q * Math.sin(t),
      q * Math.cos(t) + p * Math.sin(t),
    ];
    const [y0, y2] = rot(1, 3, a);
    const [y1, y3] = rot(2, 4, b);
    expect(maxAbsDiff(out.y!.values, [y0, y1, y2, y3])).toBeLessThan(1e-6);
  });
});

describe('staticDim', () => {
  it('returns static dims and refuses a symbolic one naming the value and axis', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 'seq', 4]);
    expect([N.staticDim(x, 0), N.staticDim(x, -1)]).toEqual([2, 4]);
    expect(() => N.staticDim(x, 1)).toThrow(
      expect.objectContaining({
        kind: 'internal',
        message: expect.stringMatching(/^x: axis 1 of .* must be static, got seq$/),
      }),
    );
    expect(() => N.staticShape(x)).toThrow(/axis 1/);
  });
});
