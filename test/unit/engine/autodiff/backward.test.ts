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

describe('gradients() with recomputed segments (checkpointing)', () => {
  /** Three tanh(x W_i) blocks with trainable W_i; each block a segment when `checkpoint`. */
  function build(checkpoint: boolean): Graph {
    const g = new Graph();
    const x = g.input('x', 'float32', [4, 3]);
    const ws = [0, 1, 2].map((i) => g.input(`w${i}`, 'float32', [3, 3]));
    let h = x;
    const segments = ws.map((w) => {
      const from = g.nodes.length;
      h = op.add(h, op.tanh(op.matmul(h, w)));
      return { nodes: g.nodes.slice(from), after: h };
    });
    const loss = op.reduceSum(op.mul(h, h), [0, 1], false);
    gradients(loss, ws, checkpoint ? { recompute: segments } : {}).forEach((d, i) => g.output(d, `d${i}`));
    return g;
  }
  const feeds = {
    x: { dims: [4, 3], data: Array.from({ length: 12 }, (_, i) => Math.sin(i)) },
    ...Object.fromEntries(
      [0, 1, 2].map((k) => [`w${k}`, { dims: [3, 3], data: Array.from({ length: 9 }, (_, i) => Math.cos(i + k)) }]),
    ),
  };

  it('equals the plain gradients, and the backward reads no forward value inside a segment', async () => {
    const plain = await runGraph(build(false), feeds);
    const g = build(true);
    const ckpt = await runGraph(g, feeds);
    for (const k of ['d0', 'd1', 'd2']) {
      const [a, b] = [plain[k]!.values, ckpt[k]!.values];
      a.forEach((v, i) => expect(Math.abs(b[i]! - v)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))));
    }
    const forward = new Set(g.nodes.filter((n) => !/grad|recompute/.test(n.name)));
    const inner = (n: (typeof g.nodes)[number]) => forward.has(n) && n.opType !== 'Add'; // the blocks' outputs are the Adds
    const leaks = g.nodes
      .filter((n) => !forward.has(n))
      .flatMap((n) => n.inputs)
      .filter((v) => v?.producer && inner(v.producer));
    expect(leaks).toEqual([]);
    expect(g.nodes.some((n) => n.name.endsWith('/recompute'))).toBe(true);
  });
});
