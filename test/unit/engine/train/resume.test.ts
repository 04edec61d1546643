// Resuming from a saved optimizer state continues exactly where training
// stopped: 2 steps, save, new session, 2 more steps == 4 steps straight.
// Between steps params and moments stay in the session host, on the GPU with WebGPU.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, op, serializeModel } from '../../../../electron/engine/onnx';
import { prng } from '../../../../electron/engine/selftest/gradcheck';
import type { OptimizerState } from '../../../../electron/engine/train/train-step';
import { TrainStepSession, buildTrainStep } from '../../../../electron/engine/train/train-step';
import { EngineRuntime } from '../../../../electron/engine/runtime/runtime';
import { useSwiftShader } from '../../../helpers/ort';
import { relErr } from '../../../helpers/reference';

useSwiftShader();

const rand = prng(9);
const W0 = Float32Array.from({ length: 6 }, () => rand() * 2 - 1);
const X = Float32Array.from({ length: 8 }, () => rand() * 2 - 1);
const T = Float32Array.from({ length: 12 }, () => rand() * 2 - 1);

async function session(ep: 'cpu' | 'webgpu', runtime?: EngineRuntime): Promise<TrainStepSession> {
  const g = new Graph();
  const x = g.input('x', 'float32', [4, 2]);
  const t = g.input('t', 'float32', [4, 3]);
  const w = g.input('w', 'float32', [2, 3]);
  const d = op.sub(op.tanh(op.matmul(x, w)), t);
  const io = buildTrainStep({
    loss: op.reduceMean(op.mul(d, d), [0, 1], false),
    params: [w],
    adamw: { weightDecay: 0.1 },
  });
  return TrainStepSession.create(serializeModel(g), io, { ep, strict: true, ...(runtime ? { runtime } : {}) });
}

const batch = (): Record<string, ort.Tensor> => ({
  x: new ort.Tensor('float32', X, [4, 2]),
  t: new ort.Tensor('float32', T, [4, 3]),
});
const w0 = (): Record<string, ort.Tensor> => ({ w: new ort.Tensor('float32', W0.slice(), [2, 3]) });

describe.each(['cpu', 'webgpu'] as const)('resume on %s', (ep) => {
  it('continues bit-for-bit from readState()', async () => {
    const straight = await session(ep);
    straight.init(w0());
    expect(new Set(Object.values(straight.stateLocations()))).toEqual(new Set(['caller']));
    for (let s = 0; s < 4; s++) await straight.step(batch(), 0.05);
    const kept = ep === 'webgpu' ? 'gpu-buffer' : 'cpu';
    expect(straight.stateLocations()).toEqual({ w: kept, 'w.adam_m': kept, 'w.adam_v': kept });
    const want = (await straight.readState()).params.w!.data as Float32Array;
    await straight.release();

    const first = await session(ep);
    first.init(w0());
    for (let s = 0; s < 2; s++) await first.step(batch(), 0.05);
    const saved: OptimizerState = await first.readState();
    await first.release();
    expect(saved.step).toBe(2);
    expect(relErr(saved.m.w!.data as Float32Array, new Float32Array(6))).toBeGreaterThan(0);

    const second = await session(ep);
    second.init(saved.params, saved);
    for (let s = 0; s < 2; s++) await second.step(batch(), 0.05);
    expect(second.stepCount).toBe(4);
    expect(Array.from((await second.readParams()).w!.data as Float32Array)).toEqual(Array.from(want));
    await second.release();
  });

  it('frees the state each step replaces, and everything on release', async () => {
    const runtime = EngineRuntime.start();
    try {
      const s = await session(ep, runtime);
      s.init(w0());
      await s.step(batch(), 0.05);
      const after1 = await runtime.stats();
      for (let k = 0; k < 3; k++) await s.step(batch(), 0.05);
      // Three kept tensors: w and its moments; each step frees the three it replaced.
      expect(await runtime.stats()).toEqual(after1);
      expect(after1).toEqual({ sessions: 1, handles: 3 });
      await s.release();
      expect(await runtime.stats()).toEqual({ sessions: 0, handles: 0 });
    } finally {
      await runtime.dispose();
    }
  });

  it('refuses a saved state without moments for a parameter', async () => {
    const s = await session(ep);
    expect(() => s.init(w0(), { step: 1, params: {}, m: {}, v: {} })).toThrow(/no moments for w/);
    await s.release();
  });
});
