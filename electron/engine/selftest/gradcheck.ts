// Checks a gradient rule against central finite differences. The loss is
// sum(w * f(x)) with fixed random w; the analytic gradient graph runs on the
// EP under test (strict: no CPU fallback), the finite differences run the
// forward graph on CPU in float32 and sum in float64, so on WebGPU this also
// checks the GPU kernels against the CPU ones. Both run in the process's
// session host (engine/runtime); hold a lease across many checks to keep one worker.
import { AppError } from '../../../shared/errors';
import { gradients } from '../autodiff/backward';
import type { DType } from '../onnx/dtype';
import { Graph } from '../onnx/graph';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { serializeModel } from '../onnx/serialize';
import { staticShape } from '../models/nn';
import type { ExplicitEp } from '../runtime/local';
import { isHandle, wire, type WireTensor } from '../runtime/protocol';
import { acquireRuntime, type EngineRuntime } from '../runtime/runtime';
import { mulberry32 } from '../../common/mulberry32';

export interface CaseInput {
  dims: readonly number[];
  /** Values are drawn uniformly from [lo, hi) (integers for int32 inputs), keeping the op in its domain. */
  range: readonly [number, number];
  dtype?: 'float32' | 'int32';
  /** Whether the gradient w.r.t. this input is checked (float inputs only; default true). */
  diff?: boolean;
}

export interface GradCase {
  name: string;
  inputs: readonly CaseInput[];
  build: (x: Value[]) => Value;
}

export interface CheckResult {
  op: string;
  maxAbsErr: number;
  maxRelErr: number;
  ok: boolean;
}

export interface CheckOptions {
  ep: ExplicitEp;
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

/** A deterministic PRNG so every run checks the same points. */
export const prng: (seed: number) => () => number = mulberry32;

function numel(dims: readonly number[]): number {
  return dims.reduce((p, d) => p * d, 1);
}

function draw(inp: CaseInput, rand: () => number): Float32Array | Int32Array {
  const [lo, hi] = inp.range;
  const n = numel(inp.dims);
  if (inp.dtype === 'int32') return Int32Array.from({ length: n }, () => Math.floor(lo + rand() * (hi - lo)));
  return Float32Array.from({ length: n }, () => lo + rand() * (hi - lo));
}

/** The values of outputs `names` of one run (nothing is kept in the host, so all come back as values). */
async function values(
  runtime: EngineRuntime,
  session: string,
  feeds: Record<string, WireTensor>,
  names: readonly string[],
): Promise<Float32Array[]> {
  const out = await runtime.run(session, feeds);
  return names.map((n) => {
    const t = out[n];
    if (!t || isHandle(t))
      throw new AppError('internal', `the gradient check graph returned no values for "${n}"`, { subject: n });
    return t.data as Float32Array;
  });
}

/** Builds the case into a fresh graph: returns the graph, its input values and f(x). */
function buildGraph(c: GradCase): { g: Graph; xs: Value[]; y: Value } {
  const g = new Graph(c.name);
  const xs = c.inputs.map((inp, i) => g.input(`x${i}`, (inp.dtype ?? 'float32') as DType, inp.dims));
  return { g, xs, y: c.build(xs) };
}

export async function checkGradient(c: GradCase, opts: CheckOptions): Promise<CheckResult> {
  const { eps = 1e-3, atol = 1e-3, rtol = 1e-2, seed = 1234 } = opts;
  const rand = prng(seed);
  const data = c.inputs.map((inp) => draw(inp, rand));
  const fwd = buildGraph(c);
  const w = Float64Array.from({ length: numel(staticShape(fwd.y)) }, () => rand() * 2 - 1);
  fwd.g.output(fwd.y, 'y');

  const diffIdx = c.inputs
    .map((inp, i) => (inp.dtype !== 'int32' && inp.diff !== false ? i : -1))
    .filter((i) => i >= 0);
  const back = buildGraph(c);
  const wv = back.g.constant(Array.from(w), 'float32', staticShape(back.y));
  const weighted = op.mul(back.y, wv);
  const loss =
    weighted.rank === 0
      ? weighted
      : op.reduceSum(
          weighted,
          weighted.shape.map((_, i) => i),
          false,
        );
  const grads = gradients(
    loss,
    diffIdx.map((i) => back.xs[i]!),
  );
  grads.forEach((gv, k) => back.g.output(gv, `grad${k}`));

  const feeds = (d: (Float32Array | Int32Array)[]): Record<string, WireTensor> =>
    Object.fromEntries(c.inputs.map((inp, i) => [`x${i}`, wire(inp.dtype ?? 'float32', d[i]!, inp.dims)]));
  const lease = acquireRuntime();
  const { runtime } = lease;
  try {
    const gs = (await runtime.createSession(serializeModel(back.g), { ep: opts.ep, strict: true })).id;
    let analytic: Float32Array[];
    try {
      analytic = await values(
        runtime,
        gs,
        feeds(data),
        diffIdx.map((_, k) => `grad${k}`),
      );
    } finally {
      await runtime.release(gs);
    }

    const fs = (await runtime.createSession(serializeModel(fwd.g), { ep: 'cpu' })).id;
    const lossAt = async (d: (Float32Array | Int32Array)[]): Promise<number> => {
      const [y] = await values(runtime, fs, feeds(d), ['y']);
      let s = 0;
      for (let j = 0; j < y!.length; j++) s += w[j]! * y![j]!;
      return s;
    };
    let maxAbsErr = 0;
    let maxRelErr = 0;
    let ok = true;
    try {
      for (const [k, i] of diffIdx.entries()) {
        const x = data[i] as Float32Array;
        for (let j = 0; j < x.length; j++) {
          const orig = x[j]!;
          x[j] = orig + eps;
          const up = await lossAt(data);
          x[j] = orig - eps;
          const down = await lossAt(data);
          x[j] = orig;
          // The step actually taken in float32, not the nominal 2*eps.
          const numeric = (up - down) / (Math.fround(orig + eps) - Math.fround(orig - eps));
          const err = Math.abs(analytic[k]![j]! - numeric);
          maxAbsErr = Math.max(maxAbsErr, err);
          maxRelErr = Math.max(maxRelErr, err / Math.max(Math.abs(numeric), 1e-3));
          if (!(err <= atol + rtol * Math.abs(numeric))) ok = false;
        }
      }
    } finally {
      await runtime.release(fs);
    }
    return { op: c.name, maxAbsErr, maxRelErr, ok };
  } finally {
    await lease.release();
  }
}
