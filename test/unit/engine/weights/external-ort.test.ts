// ONNX initializers pointing straight into a .safetensors file: a session
// created from in-memory graph bytes with the checkpoint folder as
// external-data folder computes with the stored values (f32 at an unaligned
// offset, bf16 and f16 cast in-graph, a MatMul against a stored weight), on
// CPU and on WebGPU (SwiftShader) with CPU fallback disabled.
process.env['VK_ICD_FILENAMES'] ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { Graph } from '../../../../electron/engine/onnx/graph';
import { add, matmul } from '../../../../electron/engine/onnx/ops';
import { serializeModel } from '../../../../electron/engine/onnx/serialize';
import { createLocalSession } from '../../../../electron/engine/runtime/local';
import { fromFloat32 } from '../../../../electron/engine/weights/decode';
import { weightInitializer } from '../../../../electron/engine/weights/external';
import { openWeights } from '../../../../electron/engine/weights/weight-set';
import { writeSafetensors } from '../../../../electron/engine/weights/writer';

const dir = mkdtempSync(path.join(os.tmpdir(), 'st-ort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Values exactly representable in bf16 and f16, so the oracle is the list itself.
const small = [1, -2, 0.5, 3.25, -0.125, 96];
const W = [
  [1, 2, -1],
  [0.5, -3, 4],
]; // [2, 3]

describe('safetensors tensors as ONNX external initializers', () => {
  it.each(['cpu', 'webgpu'] as const)(
    'computes with f32 (unaligned), bf16, f16 and MatMul weights read from the file on %s',
    async (ep) => {
      const folder = path.join(dir, ep);
      mkdirSync(folder);
      await writeSafetensors(path.join(folder, 'model.safetensors'), {
        a_pad: { dtype: 'U8', shape: [3], data: new Uint8Array([7, 7, 7]) }, // pushes what follows off 4-byte alignment
        b_f32: { dtype: 'F32', shape: [6], data: new Float32Array(small) },
        c_bf16: { dtype: 'BF16', shape: [6], data: fromFloat32('BF16', small) },
        d_f16: { dtype: 'F16', shape: [6], data: fromFloat32('F16', small) },
        e_w: { dtype: 'BF16', shape: [2, 3], data: fromFloat32('BF16', W.flat()) },
      });
      const ws = await openWeights(folder);
      expect(ws.get('b_f32').offset % 4).not.toBe(0);

      const g = new Graph('external');
      const x = g.input('x', 'float32', [6]);
      const m = g.input('m', 'float32', [1, 2]);
      g.output(add(x, weightInitializer(g, 'b_f32', ws.get('b_f32'))), 'y_f32');
      g.output(add(x, weightInitializer(g, 'c_bf16', ws.get('c_bf16'))), 'y_bf16');
      g.output(add(x, weightInitializer(g, 'd_f16', ws.get('d_f16'), { compute: 'float32' })), 'y_f16');
      g.output(matmul(m, weightInitializer(g, 'e_w', ws.get('e_w'))), 'y_mm');
      await ws.close();

      const session = await createLocalSession(serializeModel(g), { ep, strict: true, externalDataFolder: folder });
      const xs = [10, 20, 30, 40, 50, 60];
      const out = await session.run({
        x: new ort.Tensor('float32', Float32Array.from(xs), [6]),
        m: new ort.Tensor('float32', Float32Array.from([2, -1]), [1, 2]),
      });
      await session.release();
      const shifted = xs.map((v, i) => v + (small[i] as number));
      expect(Array.from(out['y_f32']!.data as Float32Array)).toEqual(shifted);
      expect(Array.from(out['y_bf16']!.data as Float32Array)).toEqual(shifted);
      expect(Array.from(out['y_f16']!.data as Float32Array)).toEqual(shifted);
      const mm = [0, 1, 2].map((j) => 2 * (W[0]![j] as number) - (W[1]![j] as number));
      expect(Array.from(out['y_mm']!.data as Float32Array)).toEqual(mm);
    },
  );

  it('refuses a dtype the engine cannot compute with, naming the tensor', async () => {
    const sub = path.join(dir, 'f64');
    mkdirSync(sub);
    await writeSafetensors(path.join(sub, 'model.safetensors'), {
      w: { dtype: 'F64', shape: [1], data: new Float64Array([1]) },
    });
    const ws = await openWeights(sub);
    expect(() => weightInitializer(new Graph(), 'w', ws.get('w'))).toThrow(/"w".*F64/);
    await ws.close();
  });
});
