// The autodiff engine's shared work: accumulation, skipping, naming, ops
// without gradients, and the error for an op missing from the table.
import { describe, expect, it } from 'vitest';
import { gradients } from '../../../../electron/engine/autodiff';
import { Graph, dumpGraph, op } from '../../../../electron/engine/onnx';
import { runGraph } from '../../../helpers/ort';

describe('gradients()', () => {
  it('sums gradients meeting at a value: d/dx (x*x + x) = 2x + 1', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const y = op.reduceSum(op.add(op.mul(x, x), x), [0], false);
    g.output(gradients(y, [x])[0]!, 'dx');
    const out = await runGraph(g, { x: { dims: [3], data: [1, -2, 0.5] } });
    expect(out.dx!.values).toEqual([3, -3, 2]);
  });

  it('emits nothing for inputs that need no gradient and names nodes <node>/grad/...', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.input('w', 'float32', [3, 4]);
    const y = op.reduceSum(op.matmul(x, w), [0, 1], false);
    const before = g.nodes.length;
    gradients(y, [w]);
    const added = g.nodes.slice(before);
    expect(added.every((n) => n.name.includes('/grad'))).toBe(true);
    // dW = x^T gy needs one MatMul (or Gemm); dx = gy w^T must not be built.
    const products = added.filter((n) => n.opType === 'MatMul' || n.opType === 'Gemm');
    expect(products).toHaveLength(1);
    expect(products[0]!.name.startsWith('MatMul_0/grad/')).toBe(true);
    expect(dumpGraph(g)).toContain('MatMul_0/grad/');
  });

  it('gives zeros for a parameter the loss does not reach, and none through ArgMax', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const unused = g.input('u', 'float32', [2]);
    const idx = op.cast(op.argMax(x, 0, false), 'float32');
    const [dx, du] = gradients(op.add(idx, op.reduceSum(x, [0], false)), [x, unused]);
    g.output(dx!, 'dx');
    g.output(du!, 'du');
    const out = await runGraph(g, { x: { dims: [3], data: [1, 5, 2] }, u: { dims: [2], data: [7, 7] } });
    expect(out.dx!.values).toEqual([1, 1, 1]);
    expect(out.du!.values).toEqual([0, 0]);
  });

  it('refuses an op outside the table by name', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const y = op.reduceSum(op.cumSum(x, 0), [0], false);
    expect(() => gradients(y, [x])).toThrow(/no gradient rule for CumSum/);
  });

  it('works with symbolic batch dims (runtime shapes for expand and reshape)', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 2]);
    const w = g.input('w', 'float32', [2]);
    const h = op.reshape(op.mul(x, w), [-1]);
    const y = op.reduceMean(op.mul(h, h), [0], false);
    const [dx, dw] = gradients(y, [x, w]);
    g.output(dx!, 'dx');
    g.output(dw!, 'dw');
    const out = await runGraph(g, { x: { dims: [2, 2], data: [1, 2, 3, 4] }, w: { dims: [2], data: [1, -1] } });
    // y = mean((x w)^2) over 4 elements: dx = 2 x w^2 / 4, dw = sum_b 2 x^2 w / 4
    expect(out.dx!.values).toEqual([0.5, 1, 1.5, 2]);
    expect(out.dw!.values).toEqual([5, -10]);
  });
});
