// Model weights as graph values: each tensor of the user's safetensors files
// becomes an ONNX external initializer pointing at its bytes (no copy), cast
// in-graph to float32 (the Node binding cannot feed bf16; fp16 math on CPU is
// fp32 anyway). Builders ask for tensors by canonical name.
import { AppError } from '../../../shared/errors';
import type { Graph, Value } from '../onnx/graph';
import { weightInitializer } from '../weights/external';
import type { TensorRef, WeightSet } from '../weights/weight-set';

/** Tensors by canonical name (the older llava-hf layout: `language_model.model.*`, `vision_tower.*`, ...). */
export interface WeightSource {
  ref(name: string): TensorRef | undefined;
}

/** What the model builders read weights through: by canonical name, in float32. */
export interface Params {
  readonly graph: Graph;
  get(name: string): Value;
  has(name: string): boolean;
}

/** The older llava-hf name of a tensor stored under either layout. */
export function canonicalName(name: string): string {
  let n = name;
  for (const p of ['model.language_model.', 'model.vision_tower.', 'model.multi_modal_projector.']) {
    if (n.startsWith(p)) {
      n = n.slice('model.'.length);
      break;
    }
  }
  if (n.startsWith('language_model.') && !n.startsWith('language_model.model.') && !n.startsWith('language_model.lm_head.')) {
    n = `language_model.model.${n.slice('language_model.'.length)}`;
  }
  return n.startsWith('lm_head.') ? `language_model.${n}` : n;
}

/** A checkpoint's tensors under canonical names, whichever layout the files use. */
export function checkpointSource(weights: WeightSet): WeightSource {
  const byCanonical = new Map(weights.names().map((n) => [canonicalName(n), n]));
  return {
    ref(name) {
      const stored = byCanonical.get(name);
      return stored === undefined ? undefined : weights.get(stored);
    },
  };
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
