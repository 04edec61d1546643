// In-process sessions (runtime/local.ts): strict mode refuses a CPU fallback
// on WebGPU, errors carry the 'runtime' kind, and read-back handles every dtype.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, op, serializeModel } from '../../../../electron/engine/onnx';
import { createLocalSession, toCpuTensor } from '../../../../electron/engine/runtime/local';
import { useSwiftShader } from '../../../helpers/ort';

useSwiftShader();

/** LogSoftmax has no WebGPU kernel (ORT-NODE.md), so it would run on the CPU EP. */
function logSoftmaxModel(): Uint8Array {
  const g = new Graph();
  const x = g.input('x', 'float32', [4]);
  g.output(g.addNode('LogSoftmax', [x], { axis: { i: 0 } }, [{ dtype: 'float32', shape: [4] }])[0]!, 'y');
  return serializeModel(g);
}

describe('createLocalSession', () => {
  it('refuses a graph that would fall back to CPU on WebGPU in strict mode', async () => {
    await expect(createLocalSession(logSoftmaxModel(), { ep: 'webgpu', strict: true })).rejects.toMatchObject({
      kind: 'runtime',
      message: /webgpu/,
    });
  });

  it('runs the same graph with the fallback allowed', async () => {
    const s = await createLocalSession(logSoftmaxModel(), { ep: 'webgpu' });
    const y = (await s.run({ x: new ort.Tensor('float32', new Float32Array([0, 0, 0, 0]), [4]) })).y!;
    expect(Array.from(y.data as Float32Array).map((v) => Math.round(v * 1e4) / 1e4)).toEqual(
      Array(4).fill(Math.round(Math.log(0.25) * 1e4) / 1e4),
    );
    await s.release();
  });

  it('reports a bad model as a runtime error', async () => {
    await expect(createLocalSession(new Uint8Array([1, 2, 3]), { ep: 'cpu' })).rejects.toMatchObject({
      kind: 'runtime',
    });
  });

  it('reads back int32 and bool gpu-buffer outputs', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    g.output(op.cast(x, 'int32'), 'i');
    g.output(op.greater(x, 0), 'b');
    const s = await createLocalSession(serializeModel(g), {
      ep: 'webgpu',
      strict: true,
      preferredOutputLocation: { i: 'gpu-buffer', b: 'gpu-buffer' },
    });
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([-2, 0.5, 3]), [3]) });
    expect(out.i!.location).toBe('gpu-buffer');
    expect(Array.from((await toCpuTensor(out.i!)).data as Int32Array)).toEqual([-2, 0, 3]);
    expect(Array.from((await toCpuTensor(out.b!)).data as Uint8Array)).toEqual([0, 1, 1]);
    await s.release();
  });
});
