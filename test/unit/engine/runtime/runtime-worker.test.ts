// Sessions in the worker thread: runs on CPU and WebGPU (SwiftShader), the
// session cache, tensors kept on the GPU between runs by handle, errors
// crossing the thread with their kind, and disposal.
process.env['VK_ICD_FILENAMES'] ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppError } from '../../../../shared/errors';
import { isHandle, type TensorHandle, type WireTensor } from '../../../../electron/engine/runtime/protocol';
import { EngineRuntime } from '../../../../electron/engine/runtime/runtime';
import { fromFloat32 } from '../../../../electron/engine/weights/decode';
import { openWeights } from '../../../../electron/engine/weights/weight-set';
import { writeSafetensors } from '../../../../electron/engine/weights/writer';
import { accumulateModel, addMulModel, projectModel } from './graphs';

const logs: string[] = [];
const rt = EngineRuntime.start({ log: (level, m) => logs.push(`${level}: ${m}`) });
afterAll(() => rt.dispose());

const f32 = (xs: number[]): WireTensor => ({ dtype: 'float32', dims: [xs.length], data: Float32Array.from(xs) });
const values = (t: WireTensor | TensorHandle | undefined): number[] => {
  if (!t || isHandle(t)) throw new Error('expected values, got a handle');
  return Array.from(t.data as Float32Array);
};
async function kindOf(p: Promise<unknown>): Promise<string> {
  const e = (await p.then(() => undefined, (err: unknown) => err)) as AppError | undefined;
  expect(e?.name).toBe('AppError');
  return e?.kind as string;
}

describe('runtime worker', () => {
  it.each(['cpu', 'webgpu'] as const)('runs a graph on %s', async (ep) => {
    const s = await rt.createSession(addMulModel(3), { ep, strict: true });
    expect(s.ep).toBe(ep);
    expect(s.fallbackReason).toBeUndefined();
    expect(s.outputNames.sort()).toEqual(['y', 'z']);
    const out = await rt.run(s.id, { a: f32([1, 2, 3]), b: f32([10, 20, -1]) });
    expect(values(out['y'])).toEqual([11, 22, 2]);
    expect(values(out['z'])).toEqual([10, 40, -3]);
    await rt.release(s.id);
  });

  it('runs a graph whose weights stay in a bf16 safetensors file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rt-weights-'));
    try {
      await writeSafetensors(path.join(dir, 'model.safetensors'), { w: { dtype: 'BF16', shape: [2, 3], data: fromFloat32('BF16', [1, 2, 3, -4, 0.5, 8]) } });
      const ws = await openWeights(dir);
      const model = projectModel(ws.get('w'));
      await ws.close();
      const s = await rt.createSession(model, { ep: 'cpu', externalDataFolder: dir, disablePrepacking: true });
      const out = await rt.run(s.id, { x: { dtype: 'float32', dims: [1, 2], data: Float32Array.from([1, 10]) } });
      expect(values(out['y'])).toEqual([-39, 7, 83]);
      await rt.release(s.id);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('caches sessions by graph hash and options; releases by reference count', async () => {
    const before = (await rt.stats()).sessions;
    const a = await rt.createSession(addMulModel(4), { ep: 'cpu', intraOpThreads: 1 });
    const b = await rt.createSession(addMulModel(4), { intraOpThreads: 1, ep: 'cpu' });
    const c = await rt.createSession(addMulModel(5), { ep: 'cpu', intraOpThreads: 1 });
    const d = await rt.createSession(addMulModel(4), { ep: 'cpu', intraOpThreads: 1, disablePrepacking: true });
    expect([a.cached, b.cached, c.cached, d.cached]).toEqual([false, true, false, false]);
    expect(b.id).toBe(a.id);
    expect(new Set([a.id, c.id, d.id]).size).toBe(3);
    expect((await rt.stats()).sessions).toBe(before + 3);
    await rt.release(a.id);
    expect((await rt.stats()).sessions).toBe(before + 3);
    await Promise.all([rt.release(b.id), rt.release(c.id), rt.release(d.id)]);
    expect((await rt.stats()).sessions).toBe(before);
  });

  it('keeps gpu-buffer outputs on the GPU between runs and reads them back only when asked', async () => {
    const s = await rt.createSession(accumulateModel(4), { ep: 'webgpu', strict: true, preferredOutputLocation: 'gpu-buffer' });
    let state: WireTensor | TensorHandle = f32([0, 0, 0, 0]);
    const delta = f32([1, 2, 3, 0.5]);
    for (let step = 0; step < 3; step++) {
      const out = await rt.run(s.id, { state: isHandle(state) ? { handle: state.handle } : state, delta }, { keep: ['next'] });
      const next = out['next'] as TensorHandle;
      expect(next).toMatchObject({ location: 'gpu-buffer', dtype: 'float32', dims: [4] });
      if (isHandle(state)) await rt.free(state);
      state = next;
    }
    expect(values(await rt.read(state as TensorHandle))).toEqual([3, 6, 9, 1.5]);
    // Not kept: a gpu-buffer output still comes back as values, through the safe read-back path.
    expect(values((await rt.run(s.id, { state: { handle: (state as TensorHandle).handle }, delta }))['next'])).toEqual([4, 8, 12, 2]);
    expect((await rt.stats()).handles).toBe(1);
    await rt.free(state as TensorHandle);
    await rt.release(s.id);
  });

  it('errors cross the thread with their kind', async () => {
    expect(await kindOf(rt.createSession(new Uint8Array([1, 2, 3]), { ep: 'cpu' }))).toBe('runtime');
    expect(await kindOf(rt.run('no-such-session', {}))).toBe('not-found');
    expect(await kindOf(rt.read('t999999'))).toBe('not-found');
    const s = await rt.createSession(addMulModel(2), { ep: 'cpu' });
    expect(await kindOf(rt.run(s.id, { a: f32([1, 2]) }))).toBe('runtime'); // input b missing
    expect(await kindOf(rt.run(s.id, { a: f32([1, 2]), b: f32([1, 2]) }, { keep: ['nope'] }))).toBe('bad-input');
    // The worker survives its errors.
    expect(values((await rt.run(s.id, { a: f32([1, 2]), b: f32([3, 4]) }))['y'])).toEqual([4, 6]);
    await rt.release(s.id);
  });
});

describe('disposal', () => {
  it('releases sessions and tensors, stops the worker, refuses later requests', async () => {
    const own = EngineRuntime.start({ log: () => undefined });
    const s = await own.createSession(accumulateModel(2), { ep: 'cpu' });
    await own.run(s.id, { state: f32([1, 1]), delta: f32([1, 1]) }, { keep: ['next'] });
    expect(await own.stats()).toEqual({ sessions: 1, handles: 1 });
    expect(await own.dispose()).toEqual({ sessions: 0, handles: 0 });
    expect(await own.exited).toBeTypeOf('number');
    expect(await kindOf(own.stats())).toBe('conflict');
    expect(await own.dispose()).toBeNull();
  });

  it('a worker that dies makes later requests fail with kind runtime', async () => {
    const own = EngineRuntime.start({ log: () => undefined });
    await own.stats();
    await (own as unknown as { worker: Worker }).worker.terminate();
    expect(await kindOf(own.stats())).toBe('runtime');
  });
});
