// LLaVA's multi-modal projector: linear_1 -> activation -> linear_2
// ("mlp2x_gelu"), or linear_1 alone when the checkpoint has no linear_2
// ("linear"). Maps vision features into the language model's embedding space.
import type { Value } from '../onnx/graph';
import { activation, linear } from './layers';
import type { Params } from './params';

export function project(p: Params, act: string, features: Value, prefix = 'multi_modal_projector.'): Value {
  const h = linear(p, `${prefix}linear_1`, features);
  if (!p.has(`${prefix}linear_2.weight`)) return h;
  return linear(p, `${prefix}linear_2`, activation(act, 'projector_hidden_act')(h));
}
