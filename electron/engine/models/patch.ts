// The Conv2d patch embedding of ViT towers (kernel = stride = patch) written
// as unfold + Gemm, which reads the conv weight in place and needs no Conv
// kernel (nor a Conv gradient rule when the tower is ever trained).
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { Params } from './params';
import type { VisionSpec } from './spec';

/** The Conv2d patch embedding (kernel = stride = patch) as unfold + Gemm: pixels [N, 3, H, W] -> [N, P, D]. */
export function patchify(p: Params, name: string, s: VisionSpec, pixels: Value): Value {
  const [n, g, k] = [pixels.shape[0] as number, s.imageSize / s.patchSize, s.patchSize];
  const unfolded = op.reshape(op.transpose(op.reshape(pixels, [n, 3, g, k, g, k]), [0, 2, 4, 1, 3, 5]), [n, g * g, 3 * k * k]);
  const w = op.reshape(p.get(`${name}.weight`), [s.hiddenSize, 3 * k * k]);
  const bias = p.has(`${name}.bias`) ? p.get(`${name}.bias`) : undefined;
  return op.reshape(op.gemm(op.reshape(unfolded, [-1, 3 * k * k]), w, bias, { transB: true }), [n, g * g, s.hiddenSize]);
}
