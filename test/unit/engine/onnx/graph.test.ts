// Graph builder: shape/dtype tracking with symbolic dims, naming, scopes,
// serialisation (inline and external initializers) and the text dump.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, IR_VERSION, OPSET, dumpGraph, op, serializeModel } from '../../../../electron/engine/onnx';
import { onnx } from '../../../../electron/engine/onnx/proto';
import { floatToBf16 } from '../../../../electron/engine/weights/float16';
import { createLocalSession, toCpuTensor } from '../../../../electron/engine/runtime/local';
import { runGraph, useSwiftShader } from '../../../helpers/ort';

useSwiftShader();

describe('shape tracking', () => {
  it('keeps symbolic dims through matmul, broadcasting and reshape', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 'seq', 64]);
    const w = g.input('w', 'float32', [64, 32]);
    const y = op.matmul(x, w);
    expect(y.shape).toEqual(['batch', 'seq', 32]);
    const heads = op.reshape(y, [0, 0, 4, 8]);
    expect(heads.shape).toEqual(['batch', 'seq', 4, 8]);
    expect(op.reshape(heads, [-1, 8]).shape).toEqual(['batch*seq*4', 8]);
    expect(op.add(y, g.input('b', 'float32', [1, 'seq', 1])).shape).toEqual(['batch', 'seq', 32]);
    expect(op.transpose(heads, [0, 2, 1, 3]).shape).toEqual(['batch', 4, 'seq', 8]);
    expect(op.reduceMean(y, [-1]).shape).toEqual(['batch', 'seq', 1]);
    expect(op.concat([y, y], 1).shape).toEqual(['batch', 'seq+seq', 32]);
    expect(op.gather(g.input('emb', 'float32', [100, 16]), g.input('ids', 'int32', ['batch', 'seq'])).shape).toEqual([
      'batch',
      'seq',
      16,
    ]);
  });

  it('rejects shapes that cannot broadcast or multiply', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2, 3]);
    expect(() => op.add(a, g.input('b', 'float32', [4]))).toThrow(/do not broadcast/);
    expect(() => op.matmul(a, g.input('c', 'float32', [2, 3]))).toThrow(/inner dims/);
  });

  it('refuses duplicate names and values of another graph', () => {
    const g = new Graph();
    g.input('x', 'float32', [1]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
    const other = new Graph().input('y', 'float32', [1]);
    expect(() => op.add(g.inputs[0]!, other)).toThrow(/another graph/);
  });

  it('names nodes under scopes and deduplicates constants', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = g.withScope('layer0', () => g.withScope('mlp', () => op.mul(x, 2)));
    expect(y.producer?.name).toBe('layer0/mlp/Mul_0');
    expect(g.constant(2, 'float32', [])).toBe(g.constant(2, 'float32', []));
    expect(g.constant(2, 'float32', [])).not.toBe(g.constant(2, 'int32', []));
  });
});

describe('serialisation', () => {
  it('writes opset 21, IR 10, typed inputs with symbolic dims and raw initializers', () => {
    const g = new Graph('m');
    const x = g.input('x', 'float32', ['batch', 2]);
    const w = g.initializer('w', { dtype: 'float32', dims: [2], data: new Float32Array([3, 4]) });
    g.output(op.mul(x, w), 'y');
    const m = onnx.ModelProto.decode(serializeModel(g));
    expect(Number(m.irVersion)).toBe(IR_VERSION);
    expect(Number(m.opsetImport[0]?.version)).toBe(OPSET);
    const graph = m.graph!;
    expect(graph.input![0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual([
      'batch',
      2,
    ]);
    const raw = graph.initializer![0]!.rawData!;
    expect(Array.from(new Float32Array(Uint8Array.from(raw).buffer))).toEqual([3, 4]);
    expect(graph.output![0]?.name).toBe('y');
  });

  it('reads external initializers from a folder at any byte offset', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ext-'));
    const bytes = new Uint8Array(3 + 16);
    bytes.set(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer), 3);
    writeFileSync(path.join(dir, 'weights.bin'), bytes);
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 2]);
    const w = g.externalInitializer('w', {
      dtype: 'float32',
      dims: [2, 2],
      location: 'weights.bin',
      offset: 3,
      length: 16,
    });
    g.output(op.matmul(x, w), 'y');
    expect(dumpGraph(g)).toContain('init   w: float32[2, 2] @ weights.bin+3');
    const out = await runGraph(g, { x: { dims: [2, 2], data: [1, 0, 0, 1] } }, 'cpu', {
      externalDataFolder: dir,
      disablePrepacking: true,
    });
    expect(out.y!.values).toEqual([1, 2, 3, 4]);
  });

  it('checks initializer byte lengths', () => {
    const g = new Graph();
    expect(() => g.initializer('w', { dtype: 'float32', dims: [3], data: new Float32Array(2) })).toThrow(
      /needs 12 bytes/,
    );
    expect(() =>
      g.externalInitializer('v', { dtype: 'bfloat16', dims: [4], location: 'a', offset: 0, length: 4 }),
    ).toThrow(/needs 8 bytes/);
  });

  it('casts bfloat16 initializers in-graph on CPU', async () => {
    const g = new Graph();
    const w = g.initializer('w', {
      dtype: 'bfloat16',
      dims: [3],
      data: new Uint16Array([floatToBf16(1.5), floatToBf16(-2), floatToBf16(0.25)]),
    });
    g.output(op.cast(w, 'float32'), 'y');
    expect((await runGraph(g, {})).y!.values).toEqual([1.5, -2, 0.25]);
  });
});

describe('dump', () => {
  it('prints inputs, nodes with attributes and outputs', () => {
    const g = new Graph('d');
    const x = g.input('x', 'float32', ['n', 4]);
    g.output(op.softmax(x), 'p');
    const text = dumpGraph(g);
    expect(text).toContain('input  x: float32[n, 4]');
    expect(text).toMatch(/Softmax_0:0: float32\[n, 4\] = Softmax\(x\) \{axis=1\}/);
    expect(text).toContain('output p: float32[n, 4]');
  });
});

describe('gpu-buffer outputs', () => {
  it('feeds a WebGPU output back into the next run and reads it back safely', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    g.output(op.mul(x, 2), 'y');
    const s = await createLocalSession(serializeModel(g), {
      ep: 'webgpu',
      strict: true,
      preferredOutputLocation: 'gpu-buffer',
    });
    let t: ort.Tensor = new ort.Tensor('float32', new Float32Array([1, 2, 3]), [3]);
    for (let i = 0; i < 3; i++) t = (await s.run({ x: t })).y!;
    expect(t.location).toBe('gpu-buffer');
    expect(Array.from((await toCpuTensor(t)).data as Float32Array)).toEqual([8, 16, 24]);
    await s.release();
  });
});
