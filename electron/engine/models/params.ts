// Model weights as graph values: each tensor of the user's safetensors files
// becomes an ONNX external initializer pointing at its bytes (no copy), cast
// in-graph to the compute type: float32, or float16 for the fp16 format on GPU
// EPs, where fp16 tensors are read as stored (the Node binding cannot feed
// bf16, so bf16 is always cast). Builders ask for tensors by canonical name.
import { AppError } from '../../../shared/errors';
import type { Graph, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { weightInitializer, type ComputeType } from '../weights/external';
import type { TensorRef } from '../weights/weight-set';

/** Tensors by canonical name (names.ts: the older llava-hf layout); Checkpoint is one. */
export interface WeightSource {
  ref(name: string): TensorRef | undefined;
}

/** What the model builders read weights through: by canonical name, in float32. */
export interface Params {
  readonly graph: Graph;
  get(name: string): Value;
  has(name: string): boolean;
  /**
   * The weight `name` for a layer whose input is `x`, when computing it should wait for `x` (quantized
   * weights are dequantized as their layer runs, so only one layer's float weights exist at a time).
   * Absent: `get(name)`.
   */
  weightFor?(name: string, x: Value): Value;
  /**
   * The tensor `name` in its stored float type, for ops that read it piecewise so no whole float32 copy exists: the
   * embedding's Gather (rows cast after it) and the LM head by slices. Offered by the CPU's quantized formats, whose
   * sessions do not fold casts into copies at creation; absent: `get(name)`.
   */
  stored?(name: string): Value;
}

/** External initializers read in the `compute` type: fp16 tensors stay as stored under float16 (no copy), others are cast. */
export function externalParams(graph: Graph, source: WeightSource, compute: ComputeType = 'float32'): Params {
  const cache = new Map<string, Value>();
  return {
    graph,
    has: (name) => source.ref(name) !== undefined,
    get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const ref = source.ref(name);
      if (!ref) throw new AppError('bad-file', `the checkpoint has no tensor ${name}`, { subject: name });
      const v = weightInitializer(graph, name, ref, { compute });
      cache.set(name, v);
      return v;
    },
  };
}

/**
 * External initializers computed in float32 without whole-model copies: a weight stored in another float type
 * (fp16) is cast when its layer runs (`weightFor`, ordered after the layer's input), so one layer's float32
 * copy exists at a time; other tensors are cast where read. For a session that does not fold casts at
 * creation (LocalSessionOptions.disableConstantFolding): the CPU's quantized formats run the vision tower so.
 */
export function layerwiseParams(graph: Graph, source: WeightSource): Params {
  const raw = new Map<string, Value>();
  const cache = new Map<string, Value>();
  const stored = (name: string): Value => {
    const hit = raw.get(name);
    if (hit) return hit;
    const ref = source.ref(name);
    if (!ref) throw new AppError('bad-file', `the checkpoint has no tensor ${name}`, { subject: name });
    const v = weightInitializer(graph, name, ref);
    raw.set(name, v);
    return v;
  };
  const params: Params = {
    graph,
    has: (name) => source.ref(name) !== undefined,
    get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const v = op.cast(stored(name), 'float32');
      cache.set(name, v);
      return v;
    },
    weightFor(name, x) {
      const w = stored(name);
      if (w.dtype === 'float32' || cache.has(name)) return params.get(name);
      const v = op.cast(op.after(x, w), 'float32');
      cache.set(name, v);
      return v;
    },
  };
  return params;
}

/** Weights held in memory (a random model, e.g. the self-test's), as float32 initializers made on first use. */
export function memoryParams(
  graph: Graph,
  tensors: ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>,
): Params {
  const cache = new Map<string, Value>();
  return {
    graph,
    has: (name) => tensors.has(name),
    get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const t = tensors.get(name);
      if (!t) throw new AppError('internal', `no in-memory tensor ${name}`, { subject: name });
      const v = graph.initializer(name, { dtype: 'float32', dims: t.shape, data: t.values });
      cache.set(name, v);
      return v;
    },
  };
}

/** Weights as float32 graph inputs created on first use (full fine-tuning: every one trainable); `inputs` lists them in order of use. */
export function inputParams(
  graph: Graph,
  shapes: ReadonlyMap<string, readonly number[]>,
): Params & { readonly inputs: Value[] } {
  const inputs: Value[] = [];
  const cache = new Map<string, Value>();
  return {
    graph,
    inputs,
    has: (name) => shapes.has(name),
    get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const shape = shapes.get(name);
      if (!shape) throw new AppError('internal', `no shape for parameter ${name}`, { subject: name });
      const v = graph.input(name, 'float32', shape);
      inputs.push(v);
      cache.set(name, v);
      return v;
    },
  };
}
