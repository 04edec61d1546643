// The pre-norm ViT encoder that CLIP and SigLIP share, and the tower table
// keyed by vision_config.model_type. Builds only the layers up to the deepest
// hidden state the LLaVA config selects (LLaVA-1.5 never runs the last one).
// References: HF modeling_clip.py / modeling_siglip.py (CLIPEncoderLayer).
import { AppError } from '../../../shared/errors';
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { clipEmbeddings } from './clip';
import { activation, layerNorm, linear } from './layers';
import type { Params } from './params';
import { siglipEmbeddings } from './siglip';
import type { VisionModelType, VisionSpec } from './spec';

function attention(p: Params, s: VisionSpec, name: string, x: Value): Value {
  const [n, t, h] = [x.shape[0] as number, x.shape[1] as number, s.numHeads];
  const hd = s.hiddenSize / h;
  const heads = (v: Value): Value => op.transpose(op.reshape(v, [n, t, h, hd]), [0, 2, 1, 3]); // [N, H, T, hd]
  const q = heads(linear(p, `${name}.q_proj`, x));
  const k = heads(linear(p, `${name}.k_proj`, x));
  const v = heads(linear(p, `${name}.v_proj`, x));
  const probs = op.softmax(op.mul(op.matmul(q, op.transpose(k, [0, 1, 3, 2])), hd ** -0.5));
  const o = op.reshape(op.transpose(op.matmul(probs, v), [0, 2, 1, 3]), [n, t, s.hiddenSize]);
  return linear(p, `${name}.out_proj`, o);
}

function encoderLayer(p: Params, s: VisionSpec, name: string, x: Value): Value {
  const act = activation(s.hiddenAct, 'vision_config.hidden_act');
  const a = op.add(x, attention(p, s, `${name}.self_attn`, layerNorm(p, `${name}.layer_norm1`, x, s.layerNormEps)));
  const h = linear(p, `${name}.mlp.fc2`, act(linear(p, `${name}.mlp.fc1`, layerNorm(p, `${name}.layer_norm2`, a, s.layerNormEps))));
  return op.add(a, h);
}

type Embeddings = (p: Params, s: VisionSpec, pixels: Value, prefix: string) => Value;

/** One entry per supported vision_config.model_type. */
export const VISION_TOWERS = {
  clip_vision_model: clipEmbeddings,
  siglip_vision_model: siglipEmbeddings,
} satisfies Record<VisionModelType, Embeddings>;

/**
 * The hidden states of the vision tower at `layers` (0 = embeddings, i = output of layer i),
 * computing no layer beyond the deepest one asked for. pixels [N, 3, S, S] -> each [N, T, D].
 */
export function visionHiddenStates(p: Params, s: VisionSpec, pixels: Value, layers: readonly number[], prefix = 'vision_tower.vision_model.'): Value[] {
  const want = pixels.shape.slice(1);
  if (want.length !== 3 || want[0] !== 3 || want[1] !== s.imageSize || want[2] !== s.imageSize) {
    throw new AppError('internal', `vision tower expects pixels [N, 3, ${s.imageSize}, ${s.imageSize}], got ${pixels}`);
  }
  const states = [VISION_TOWERS[s.modelType](p, s, pixels, prefix)];
  const deepest = Math.max(...layers);
  for (let i = 0; i < deepest; i++) {
    states.push(p.graph.withScope(`vision${i}`, () => encoderLayer(p, s, `${prefix}encoder.layers.${i}`, states[i]!)));
  }
  return layers.map((l) => states[l]!);
}
