// SigLIP vision embeddings (HF SiglipVisionEmbeddings): patches through a
// Conv2d WITH bias, learned positions, no class token and no pre-encoder
// norm. The encoder is in vit.ts.
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { Params } from './params';
import type { VisionSpec } from './spec';
import { patchify } from './patch';

export function siglipEmbeddings(p: Params, s: VisionSpec, pixels: Value, prefix: string): Value {
  const e = `${prefix}embeddings`;
  return op.add(patchify(p, `${e}.patch_embedding`, s, pixels), p.get(`${e}.position_embedding.weight`)); // [N, P, D]
}
