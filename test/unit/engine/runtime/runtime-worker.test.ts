// Sessions in the worker thread: runs on CPU and WebGPU (SwiftShader), the
// session cache, tensors kept on the GPU between runs by handle, errors
// crossing the thread with their kind, and disposal.
process.env['VK_ICD_FILENAMES'] ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppError } from '../../../../shared/errors';
import { isHandle, type TensorHandle, type WireTensor } from '../../../../electron/engine/runtime/protocol';
import { EngineRuntime, acquireRuntime } from '../../../../electron/engine/runtime/runtime';
import { fromFloat32 } from '../../../../electron/engine/weights/decode';
import { openWeights } from '../../../../electron/engine/weights/weight-set';
import { writeSafetensors } from '../../../../electron/engine/weights/writer';
import { accumulateModel, addMulModel, projectModel, slowModel } from './graphs';

const logs: string[] = [];
const rt = EngineRuntime.start({ log: (level, m) => logs.push(`${level}: ${m}`) });
afterAll(() => rt.dispose());

const f32 = (xs: number[]): WireTensor => ({ dtype: 'float32', dims: [xs.length], data: Float32Array.from(xs) });
const values = (t: WireTensor | TensorHandle | undefined): number[] => {
  if (!t || isHandle(t)) throw new Error('expected values, got a handle');
  return Array.from(t.data as Float32Array);
};
async function kindOf(p: Promise<unknown>): Promise<string> {
  const e = (await p.then(
    () => undefined,
    (err: unknown) => err,
  )) as AppError | undefined;
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

  it('fetches only the outputs a run names; an unknown name is refused', async () => {
    const s = await rt.createSession(addMulModel(3), { ep: 'cpu' });
    const out = await rt.run(s.id, { a: f32([1, 2, 3]), b: f32([10, 20, -1]) }, { outputs: ['z'] });
    expect(Object.keys(out)).toEqual(['z']);
    expect(values(out['z'])).toEqual([10, 40, -3]);
    expect(await kindOf(rt.run(s.id, { a: f32([1]), b: f32([1]) }, { outputs: ['w'] }))).toBe('bad-input');
    await rt.release(s.id);
  });

  it('runs a graph whose weights stay in a bf16 safetensors file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rt-weights-'));
    try {
      await writeSafetensors(path.join(dir, 'model.safetensors'), {
        w: { dtype: 'BF16', shape: [2, 3], data: fromFloat32('BF16', [1, 2, 3, -4, 0.5, 8]) },
      });
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
    const s = await rt.createSession(accumulateModel(4), {
      ep: 'webgpu',
      strict: true,
      preferredOutputLocation: 'gpu-buffer',
    });
    let state: WireTensor | TensorHandle = f32([0, 0, 0, 0]);
    const delta = f32([1, 2, 3, 0.5]);
    for (let step = 0; step < 3; step++) {
      const out = await rt.run(
        s.id,
        { state: isHandle(state) ? { handle: state.handle } : state, delta },
        { keep: ['next'] },
      );
      const next = out['next'] as TensorHandle;
      expect(next).toMatchObject({ location: 'gpu-buffer', dtype: 'float32', dims: [4] });
      if (isHandle(state)) await rt.free(state);
      state = next;
    }
    expect(values(await rt.read(state as TensorHandle))).toEqual([3, 6, 9, 1.5]);
    // Not kept: a gpu-buffer output still comes back as values, through the safe read-back path.
    expect(values((await rt.run(s.id, { state: { handle: (state as TensorHandle).handle }, delta }))['next'])).toEqual([
      4, 8, 12, 2,
    ]);
    expect((await rt.stats()).handles).toBe(1);
    await rt.free(state as TensorHandle);
    await rt.release(s.id);
  });

  it('keeps a put tensor for many runs, and frees the consumed handles a run names, also when it fails', async () => {
    const s = await rt.createSession(accumulateModel(2), { ep: 'cpu' });
    const delta = await rt.put(f32([1, 2]));
    expect(delta).toMatchObject({ location: 'cpu', dims: [2] });
    const before = (await rt.stats()).handles;
    const a = (await rt.run(s.id, { state: f32([0, 0]), delta: { handle: delta.handle } }, { keep: ['next'] }))[
      'next'
    ] as TensorHandle;
    const b = (
      await rt.run(
        s.id,
        { state: { handle: a.handle }, delta: { handle: delta.handle } },
        { keep: ['next'], free: [a.handle] },
      )
    )['next'] as TensorHandle;
    expect(values(await rt.read(b))).toEqual([2, 4]);
    expect((await rt.stats()).handles).toBe(before + 1);
    expect(await kindOf(rt.run(s.id, { state: { handle: b.handle } }, { free: [b.handle] }))).toBe('runtime'); // delta missing
    expect(await kindOf(rt.read(b))).toBe('not-found');
    await rt.free(delta);
    await rt.release(s.id);
  });

  it('refuses to feed a tensor on the GPU to a CPU session (it would read wrong values)', async () => {
    const gpu = await rt.createSession(accumulateModel(2), {
      ep: 'webgpu',
      strict: true,
      preferredOutputLocation: 'gpu-buffer',
    });
    const cpu = await rt.createSession(accumulateModel(2), { ep: 'cpu' });
    const onGpu = (await rt.run(gpu.id, { state: f32([1, 1]), delta: f32([1, 1]) }, { keep: ['next'] }))[
      'next'
    ] as TensorHandle;
    expect(onGpu.location).toBe('gpu-buffer');
    expect(await kindOf(rt.run(cpu.id, { state: { handle: onGpu.handle }, delta: f32([1, 1]) }))).toBe('internal');
    await rt.free(onGpu);
    await Promise.all([rt.release(gpu.id), rt.release(cpu.id)]);
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

  it('waits for the run in flight before stopping the worker (a worker stopped inside session.run aborts the process)', async () => {
    const own = EngineRuntime.start({ log: () => undefined });
    const s = await own.createSession(slowModel(384, 8), { ep: 'cpu', intraOpThreads: 1 });
    const x = { dtype: 'float32' as const, dims: [384, 384], data: new Float32Array(384 * 384).fill(1 / 384) };
    const run = own.run(s.id, { x });
    const disposed = own.dispose();
    expect(
      values((await run)['y'])
        .slice(0, 2)
        .map((v) => Math.round(v * 384)),
    ).toEqual([1, 1]);
    expect(await disposed).toEqual({ sessions: 0, handles: 0 });
  });

  it('one shared host per process: leases share it, and the last release stops its worker', async () => {
    const [a, b] = [acquireRuntime(), acquireRuntime()];
    expect(b.runtime).toBe(a.runtime);
    await a.release();
    await a.release();
    expect(await b.runtime.stats()).toEqual({ sessions: 0, handles: 0 });
    await b.release();
    expect(await b.runtime.exited).toBeTypeOf('number');
    const c = acquireRuntime();
    expect(c.runtime).not.toBe(a.runtime);
    await c.release();
  });

  it('a worker that dies makes later requests fail with kind runtime', async () => {
    const own = EngineRuntime.start({ log: () => undefined });
    await own.stats();
    await (own as unknown as { rpc: { worker: { terminate(): Promise<number> } } }).rpc.worker.terminate();
    expect(await kindOf(own.stats())).toBe('runtime');
  });
});
