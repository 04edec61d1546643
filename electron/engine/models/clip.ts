// CLIP vision embeddings (HF CLIPVisionEmbeddings + pre_layrnorm): patches
// through a bias-free Conv2d, a learned class token prepended, learned
// positions, then the pre-encoder LayerNorm. The encoder is in vit.ts.
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { layerNorm } from './layers';
import type { Params } from './params';
import type { VisionSpec } from './spec';
import { patchify } from './patch';

export function clipEmbeddings(p: Params, s: VisionSpec, pixels: Value, prefix: string): Value {
  const e = `${prefix}embeddings`;
  const patches = patchify(p, `${e}.patch_embedding`, s, pixels); // [N, P, D]
  const n = pixels.shape[0] as number;
  const cls = op.expand(op.reshape(p.get(`${e}.class_embedding`), [1, 1, s.hiddenSize]), [n, 1, s.hiddenSize]);
  const x = op.add(op.concat([cls, patches], 1), p.get(`${e}.position_embedding.weight`)); // [N, P+1, D]
  return layerNorm(p, `${prefix}pre_layrnorm`, x, s.layerNormEps);
}
