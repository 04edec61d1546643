// Weight formats (issue 15, decision 0650): decode tokens/s and peak RSS of
// the ~150M-parameter random LLaVA of the models suite in fp32, int8 and int4
// (blocks of 32) on CPU, each in a fresh process, against the read-bandwidth
// bound (bytes a decode step must read / measured memory bandwidth); and the
// quantized-matmul kernels onnxruntime offers, timed on one 4096 x 4096
// matrix-vector product: com.microsoft MatMulNBits, opset-21 blocked
// DequantizeLinear + Gemm (the engine's int4), Cast + Mul + Gemm (the engine's
// int8) and fp32 Gemm.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Graph, op, serializeModel } from '../electron/engine/onnx';
import { openModel } from '../electron/engine/models/open';
import { dequantizeWeight, isQuantized, quantizedWeights } from '../electron/engine/models/quantized';
import { createLocalSession } from '../electron/engine/runtime/local';
import { quantizeMatrix, type QuantBits } from '../electron/engine/weights/quantize';
import { writeRandomModel } from './llava.bench';
import type { BenchTable } from './table';

const THREADS = 2;
const STEPS = 16;
const MiB = 2 ** 20;
const CHILD = path.resolve(import.meta.dirname, 'weight-formats-child.ts');

/** Best of 5 of a 256 MiB Buffer copy (memcpy): bytes read per second. */
export function copyBandwidth(): number {
  const src = Buffer.alloc(256 * MiB, 1);
  const dst = Buffer.alloc(256 * MiB);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    src.copy(dst);
    best = Math.min(best, performance.now() - t0);
  }
  return src.length / (best / 1000);
}

/** Best of 5 of an onnxruntime ReduceSum over 256 MiB of float32 on THREADS threads: a pure read. */
export async function reduceBandwidth(): Promise<number> {
  const n = (256 * MiB) / 4;
  const g = new Graph('read');
  g.output(op.reduceSum(g.input('x', 'float32', [n]), [0]), 'y');
  const s = await createLocalSession(serializeModel(g), { ep: 'cpu', intraOpThreads: THREADS });
  const x = new ort.Tensor('float32', new Float32Array(n).fill(1), [n]);
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now();
    await s.run({ x });
    if (i > 0) best = Math.min(best, performance.now() - t0);
  }
  await s.release();
  return (n * 4) / (best / 1000);
}

/** Median ms of 7 runs of y = x W^T for one [4096, 4096] weight in the given form. */
async function kernelMs(kind: 'fp32' | 'dq' | 'cast' | 'nbits', bits: QuantBits, accuracy = 0): Promise<number> {
  const [N, K, block] = [4096, 4096, 32];
  const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 12.9898) * 0.05);
  const g = new Graph('kernel');
  // A symbolic row count, as in the text graph: with a static one onnxruntime folds the int8 form into a float copy.
  const x = g.input('x', 'float32', ['m', K]);
  if (kind === 'fp32') {
    g.output(
      op.gemm(x, g.initializer('w', { dtype: 'float32', dims: [N, K], data: w }), undefined, { transB: true }),
      'y',
    );
  } else {
    const q = quantizeMatrix(w, N, K, bits, block);
    const scales = g.initializer('s', { dtype: 'float32', dims: [N, K / block], data: q.scales });
    if (kind === 'cast') {
      const codes = g.initializer('q', { dtype: 'int8', dims: [N, K / block, block], data: q.codes });
      const s3 = g.initializer('s3', { dtype: 'float32', dims: [N, K / block, 1], data: q.scales });
      g.output(op.gemm(x, dequantizeWeight(op.after(x, codes), s3), undefined, { transB: true }), 'y');
    } else if (kind === 'dq') {
      const codes = g.initializer('q', { dtype: bits === 8 ? 'int8' : 'int4', dims: [N, K], data: q.codes });
      g.output(op.gemm(x, op.dequantizeBlocked(codes, scales, block), undefined, { transB: true }), 'y');
    } else {
      // MatMulNBits wants unsigned codes with the zero point 2^(bits-1) (its default): flip the sign bit(s).
      const flip = bits === 8 ? 0x80 : 0x88;
      const codes = q.codes.map((b) => b ^ flip);
      const b = g.initializer('q', { dtype: 'uint8', dims: [N, K / block, (block * bits) / 8], data: codes });
      const attrs = {
        K: { i: K },
        N: { i: N },
        bits: { i: bits },
        block_size: { i: block },
        accuracy_level: { i: accuracy },
      };
      const [y] = g.addNode('MatMulNBits', [x, b, scales], attrs, [{ dtype: 'float32', shape: ['m', N] }], {
        domain: 'com.microsoft',
      });
      g.output(y!, 'y');
    }
  }
  const s = await createLocalSession(serializeModel(g), {
    ep: 'cpu',
    intraOpThreads: THREADS,
    disablePrepacking: true,
    // As the text graphs of quantized models: else the int8 Cast is folded into a float32 copy.
    disableConstantFolding: true,
  });
  const feeds = {
    x: new ort.Tensor(
      'float32',
      Float32Array.from({ length: K }, (_, i) => Math.cos(i)),
      [1, K],
    ),
  };
  await s.run(feeds);
  const ts: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    ts.push(performance.now() - t0);
  }
  await s.release();
  return ts.sort((a, b) => a - b)[3]!;
}

/** Bytes one decode step reads in `format`: every text weight but the embedding table (one row of it). */
function decodeBytes(tensors: { name: string; shape: readonly number[]; bytes: number }[], format: string): number {
  let total = 0;
  for (const t of tensors) {
    if (!t.name.startsWith('language_model.') || t.name.endsWith('embed_tokens.weight')) continue;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (format !== 'fp32' && isQuantized(t.name, t.shape, { bits: 8, block: 32 }))
      total += n * (format === 'int8' ? 1 : 0.5) + (n / 32) * 4;
    else total += t.bytes;
  }
  return total;
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(tmpdir(), 'weight-formats-bench-'));
  const cache = path.join(dir, 'cache');
  try {
    const modelDir = path.join(dir, 'model');
    execFileSync('mkdir', ['-p', modelDir]);
    writeRandomModel(modelDir);
    const model = await openModel(modelDir);
    const tensors = model.checkpoint.names().map((name) => {
      const r = model.checkpoint.get(name);
      return { name, shape: r.shape, bytes: r.byteLength };
    });
    for (const bits of [8, 4] as const) await quantizedWeights(model.checkpoint, { bits, block: 32 }, cache);
    await model.checkpoint.close();
    const bandwidth = Math.max(copyBandwidth(), await reduceBandwidth());
    const rows: (string | number)[][] = [];
    for (const format of ['fp32', 'int8', 'int4']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', CHILD, modelDir, format, cache, String(STEPS)], {
        encoding: 'utf8',
      });
      const r = JSON.parse(out) as { tokPerS: number; peak: number };
      const bytes = decodeBytes(tensors, format);
      const bound = bandwidth / bytes;
      rows.push([`decode, ${format}`, r.tokPerS, bound, r.tokPerS / bound, bytes / MiB, r.peak / MiB]);
    }
    const fp32 = await kernelMs('fp32', 8);
    rows.push(['4096x4096 matvec, fp32 Gemm', 1000 / fp32, '', '', 64, '']);
    for (const bits of [8, 4] as const) {
      const mb = (4096 * 4096 * (bits / 8) + (4096 * 4096 * 4) / 32) / MiB;
      if (bits === 8)
        rows.push([
          "4096x4096 matvec, int8 Cast + Mul + Gemm (the engine's int8)",
          1000 / (await kernelMs('cast', 8)),
          '',
          '',
          mb,
          '',
        ]);
      rows.push([
        `4096x4096 matvec, int${bits} DequantizeLinear + Gemm${bits === 4 ? " (the engine's int4)" : ''}`,
        1000 / (await kernelMs('dq', bits)),
        '',
        '',
        mb,
        '',
      ]);
      for (const acc of [0, 4])
        rows.push([
          `4096x4096 matvec, int${bits} MatMulNBits accuracy_level ${acc}`,
          1000 / (await kernelMs('nbits', bits, acc)),
          '',
          '',
          mb,
          '',
        ]);
    }
    return {
      columns: [
        'case',
        'runs/s (decode: tokens/s)',
        'read-bandwidth bound',
        'fraction of bound',
        'weight MiB read per run',
        'peak RSS MiB',
      ],
      rows,
      notes: [
        `ORT CPU EP, ${THREADS} intra-op threads; decode: ${STEPS} greedy steps after a 32-token prompt, best of 2, each format in a fresh process with its quantized file already cached`,
        `bandwidth ${(bandwidth / 2 ** 30).toFixed(2)} GiB/s (best of a 256 MiB memcpy and an onnxruntime ReduceSum); bound = bandwidth / bytes read per decode step (every text weight except the embedding table)`,
        'int8/int4: blocks of 32 weights with a float32 scale (9 and 5 bits per weight); embeddings, norms and lm_head stay as stored (fp32 here)',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
