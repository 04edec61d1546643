// Weight-only quantization against an independent numpy oracle
// (test/reference/quant_ref.py): the scales and codes of quantize.ts, and the
// graph's dequantization + Gemm (what the text graph runs for every quantized
// linear: int8 Cast + Mul, int4 blocked DequantizeLinear) against X @ dequant(W)^T in float64,
// and the GPU form (DequantizeLinear for both) wholly on WebGPU, for int8 and int4,
// blocks of 32 and 128, with a zero weight and an all-zero block.
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Graph, op, serializeModel } from '../../../../electron/engine/onnx';
import { dequantizeWeight } from '../../../../electron/engine/models/quantized';
import { createLocalSession } from '../../../../electron/engine/runtime/local';
import { dequantizeMatrix, quantizeMatrix, type QuantBits } from '../../../../electron/engine/weights/quantize';
import { runGraph, useSwiftShader } from '../../../helpers/ort';
import { relErr, runReference } from '../../../helpers/reference';

const [N, K, M] = [48, 256, 3];

async function graphMatmul(x: Float32Array, codes: Uint8Array, scales: Float32Array, bits: QuantBits, block: number) {
  const g = new Graph('quantized_linear');
  const xv = g.input('x', 'float32', [M, K]);
  // The text graph's two forms: int8 Cast + Mul over [N, blocks, block], int4 blocked DequantizeLinear.
  const w =
    bits === 8
      ? dequantizeWeight(
          g.initializer('q', { dtype: 'int8', dims: [N, K / block, block], data: codes }),
          g.initializer('s', { dtype: 'float32', dims: [N, K / block, 1], data: scales }),
        )
      : op.dequantizeBlocked(
          g.initializer('q', { dtype: 'int4', dims: [N, K], data: codes }),
          g.initializer('s', { dtype: 'float32', dims: [N, K / block], data: scales }),
          block,
        );
  g.output(op.gemm(xv, w, undefined, { transB: true }), 'y');
  const session = await createLocalSession(serializeModel(g), { ep: 'cpu' });
  try {
    return (await session.run({ x: new ort.Tensor('float32', x, [M, K]) })).y!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe.each([
  [8, 32],
  [4, 32],
  [4, 128],
  [8, 128],
] as const)('int%i weights, blocks of %i', (bits, block) => {
  const ref = runReference('quant_ref.py', [
    ...['--n', String(N), '--k', String(K), '--m', String(M)],
    ...['--bits', String(bits), '--block', String(block), '--seed', String(bits * 1000 + block)],
  ]);
  const t = (name: string): Float32Array => ref.tensors.get(name)!.data;
  const q = quantizeMatrix(t('w'), N, K, bits, block);

  it('has the scales and codes of the oracle', () => {
    expect(Array.from(q.scales)).toEqual(Array.from(t('scales')));
    const scales = new Float32Array(q.scales.length).fill(1);
    // Codes read back through dequantizeMatrix with unit scales are the codes themselves.
    const codes = dequantizeMatrix({ ...q, scales });
    expect(Array.from(codes)).toEqual(Array.from(t('codes')));
  });

  it("multiplies through the graph's dequantization + Gemm as the float64 reference of the same quantization", async () => {
    const y = await graphMatmul(t('x'), q.codes, q.scales, bits, block);
    expect(relErr(y, t('y'))).toBeLessThan(1e-5);
  });
});

describe('on WebGPU (SwiftShader, strict: no CPU fallback)', () => {
  it.each([8, 4] as const)(
    'int%i blocked DequantizeLinear + Gemm runs wholly on the GPU and matches the CPU',
    async (bits) => {
      useSwiftShader();
      const [n, k, block] = [32, 64, 32];
      const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 1.3) * 0.05);
      const q = quantizeMatrix(w, n, k, bits, block);
      const g = new Graph('gpu_quantized_linear');
      const x = g.input('x', 'float32', ['m', k]);
      const codes = g.initializer('q', { dtype: bits === 8 ? 'int8' : 'int4', dims: [n, k], data: q.codes });
      const scales = g.initializer('s', { dtype: 'float32', dims: [n, k / block], data: q.scales });
      g.output(op.gemm(x, op.dequantizeBlocked(codes, scales, block), undefined, { transB: true }), 'y');
      const feeds = { x: { dims: [2, k], data: Array.from({ length: 2 * k }, (_, i) => Math.cos(i)) } };
      const [gpu, cpu] = [await runGraph(g, feeds, 'webgpu'), await runGraph(g, feeds, 'cpu')];
      expect(relErr(gpu['y']!.values, cpu['y']!.values)).toBeLessThan(1e-5);
    },
  );
});

describe('quantizeMatrix', () => {
  it('refuses rows that do not split into blocks', () => {
    expect(() => quantizeMatrix(new Float32Array(40), 1, 40, 4, 32)).toThrow(/blocks of 32/);
  });
});
