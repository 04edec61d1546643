// Gradient accumulation: two micro-batches accumulated then applied give the
// same parameters as one train step on the whole batch (the loss is a mean
// over a symbolic batch dim), on CPU and on WebGPU with GPU-resident accumulators.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, op, serializeModel } from '../../../../electron/engine/onnx';
import type { Value } from '../../../../electron/engine/onnx';
import { prng } from '../../../../electron/engine/selftest/gradcheck';
import { AccumulatingTrainer, buildApplyGraph, buildGradGraph } from '../../../../electron/engine/train/accumulate';
import { TrainStepSession, buildTrainStep } from '../../../../electron/engine/train/train-step';
import { EngineRuntime } from '../../../../electron/engine/runtime/runtime';
import { useSwiftShader } from '../../../helpers/ort';
import { relErr } from '../../../helpers/reference';

useSwiftShader();

const [IN, HID, OUT] = [3, 5, 2];

function mlp(): { g: Graph; params: Value[]; loss: Value } {
  const g = new Graph('mlp');
  const x = g.input('x', 'float32', ['batch', IN]);
  const t = g.input('t', 'float32', ['batch', OUT]);
  const w1 = g.input('w1', 'float32', [IN, HID]);
  const w2 = g.input('w2', 'float32', [HID, OUT]);
  const d = op.sub(op.matmul(op.tanh(op.matmul(x, w1)), w2), t);
  return { g, params: [w1, w2], loss: op.reduceMean(op.mul(d, d), [0, 1], false) };
}

const rand = prng(5);
const data = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand() * 2 - 1);
const W1 = data(IN * HID);
const W2 = data(HID * OUT);
const X = data(4 * IN);
const TG = data(4 * OUT);
const init = (): Record<string, ort.Tensor> => ({
  w1: new ort.Tensor('float32', W1.slice(), [IN, HID]),
  w2: new ort.Tensor('float32', W2.slice(), [HID, OUT]),
});
const rows = (a: Float32Array, w: number, from: number, to: number): ort.Tensor =>
  new ort.Tensor('float32', a.slice(from * w, to * w), [to - from, w]);
const spec = { clipNorm: 0.5, adamw: { weightDecay: 0.05 } };

describe.each(['cpu', 'webgpu'] as const)('gradient accumulation on %s', (ep) => {
  it('two micro-batches of 2 equal one step on the batch of 4', async () => {
    const full = mlp();
    const io = buildTrainStep({ loss: full.loss, params: full.params, ...spec });
    const whole = await TrainStepSession.create(serializeModel(full.g), io, { ep, strict: true });
    whole.init(init());
    for (let s = 0; s < 2; s++) await whole.step({ x: rows(X, IN, 0, 4), t: rows(TG, OUT, 0, 4) }, 0.1);
    const want = await whole.readParams();
    await whole.release();

    const micro = mlp();
    const gradIO = buildGradGraph({ loss: micro.loss, params: micro.params });
    const apply = buildApplyGraph(micro.params, spec);
    const runtime = EngineRuntime.start();
    const acc = await AccumulatingTrainer.create(
      { model: serializeModel(micro.g), io: gradIO },
      { model: serializeModel(apply.graph), io: apply.io },
      { ep, strict: true, runtime },
    );
    acc.init(init());
    const kept = ep === 'webgpu' ? 'gpu-buffer' : 'cpu';
    for (let s = 0; s < 2; s++) {
      await acc.microStep({ x: rows(X, IN, 0, 2), t: rows(TG, OUT, 0, 2) });
      await acc.microStep({ x: rows(X, IN, 2, 4), t: rows(TG, OUT, 2, 4) });
      const sums = acc.stateLocations();
      expect([sums['w1.grad_acc'], sums['w2.grad_acc']]).toEqual([kept, kept]);
      await acc.apply(0.1);
    }
    // After an apply the sums restart from zeros sent with the next micro-step; params and moments stay in the host.
    const after = acc.stateLocations();
    for (const n of ['w1', 'w1.adam_m', 'w1.adam_v', 'w2', 'w2.adam_m', 'w2.adam_v']) expect(after[n], n).toBe(kept);
    expect(after['w1.grad_acc']).toBe('caller');
    // Only params and moments are kept: the spent sums and each replaced state were freed.
    expect(await runtime.stats()).toEqual({ sessions: 2, handles: 6 });
    const got = await acc.readParams();
    await acc.release();
    expect(await runtime.stats()).toEqual({ sessions: 0, handles: 0 });
    await runtime.dispose();
    for (const n of ['w1', 'w2']) {
      expect(relErr(got[n]!.data as Float32Array, want[n]!.data as Float32Array), n).toBeLessThan(1e-5);
      expect(relErr(got[n]!.data as Float32Array, n === 'w1' ? W1 : W2), `${n} moved`).toBeGreaterThan(1e-2);
    }
  });
});
