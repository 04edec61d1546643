// Model weights as graph values: each tensor of the user's safetensors files
// becomes an ONNX external initializer pointing at its bytes (no copy), cast
// in-graph to float32 (the Node binding cannot feed bf16; fp16 math on CPU is
// fp32 anyway). Builders ask for tensors by canonical name.
import { AppError } from '../../../shared/errors';
import type { Graph, Value } from '../onnx/graph';
import { weightInitializer } from '../weights/external';
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
}

export function externalParams(graph: Graph, source: WeightSource): Params {
  const cache = new Map<string, Value>();
  return {
    graph,
    has: (name) => source.ref(name) !== undefined,
    get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const ref = source.ref(name);
      if (!ref) throw new AppError('bad-file', `the checkpoint has no tensor ${name}`, { subject: name });
      const v = weightInitializer(graph, name, ref, { compute: 'float32' });
      cache.set(name, v);
      return v;
    },
  };
}
