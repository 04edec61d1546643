// MatMul efficiency of built graphs: GFLOP/s of a MatMul-bound forward graph
// (a stack of the production decoder's Llama-style layers, FLOPs counted over
// its MatMuls) against the
// GFLOP/s of a single large MatMul in ORT on the same CPU and threads, in the
// same run. A micro-measurement of the bare runtime: both graphs run in
// in-process sessions (createLocalSession), not through the app's session host.
import ort from 'onnxruntime-node';
import { Graph, op, serializeModel } from '../electron/engine/onnx';
import { createLocalSession } from '../electron/engine/runtime/local';
import { memoryParams } from '../electron/engine/models/params';
import { decoderStack, stackModel, type StackDims } from './decoder-stack';
import type { BenchTable } from './table';

const THREADS = 2;
const REPEATS = 5;
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const tensor = (dims: number[]): ort.Tensor => new ort.Tensor('float32', rand(dims.reduce((p, d) => p * d, 1)), dims);

/** Median seconds of `REPEATS` runs after one warm-up. */
async function time(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number> {
  const s = await createLocalSession(model, { ep: 'cpu', intraOpThreads: THREADS });
  await s.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    times.push((performance.now() - t0) / 1000);
  }
  await s.release();
  return times.sort((a, b) => a - b)[Math.floor(REPEATS / 2)]!;
}

async function singleMatMul(n: number): Promise<number> {
  const g = new Graph('matmul');
  g.output(op.matmul(g.input('a', 'float32', [n, n]), g.input('b', 'float32', [n, n])), 'y');
  const s = await time(serializeModel(g), { a: tensor([n, n]), b: tensor([n, n]) });
  return (2 * n ** 3) / s / 1e9;
}

async function stackGflops(d: StackDims, layers: number, seq: number): Promise<number> {
  const g = new Graph('stack');
  // Weights as initializers, as in inference, scaled to keep activations finite.
  const weights = new Map(
    [...stackModel(d, layers).shapes].map(([n, s]) => {
      const values = n.endsWith('layernorm.weight')
        ? new Float32Array(s[0]!).fill(1)
        : rand(s[0]! * s[1]!).map((v) => v / Math.sqrt(s[1]!));
      return [n, { shape: s, values }] as const;
    }),
  );
  const { y, feeds } = decoderStack(g, memoryParams(g, weights), d, layers, 1, seq);
  g.output(y, 'y');
  const s = await time(serializeModel(g), feeds);
  // MatMul FLOPs per layer: q,k,v,o (4 h^2), MLP (3 h inter), scores and att@v (2 T h each), times 2 T.
  const flops = layers * (2 * seq * (4 * d.hidden ** 2 + 3 * d.hidden * d.inter) + 2 * 2 * seq * seq * d.hidden);
  return flops / s / 1e9;
}

export async function run(): Promise<BenchTable> {
  const peak = await singleMatMul(1024);
  const rows: (string | number)[][] = [['single MatMul 1024 x 1024 x 1024', peak, 1]];
  for (const [d, name] of [
    [{ hidden: 256, heads: 4, inter: 1024 }, 'forward, 4 blocks hidden 256, seq 256'],
    [{ hidden: 768, heads: 12, inter: 3072 }, 'forward, 4 blocks hidden 768, seq 256'],
  ] as const) {
    const gf = await stackGflops(d, 4, 256);
    rows.push([name, gf, gf / peak]);
  }
  return {
    columns: ['graph', 'GFLOP/s', 'fraction of single-MatMul rate'],
    rows,
    notes: [
      `ORT CPU EP, ${THREADS} intra-op threads, float32, median of ${REPEATS} runs after a warm-up`,
      'block FLOPs count only the MatMuls (projections, MLP, attention scores and weighted sum)',
    ],
  };
}
