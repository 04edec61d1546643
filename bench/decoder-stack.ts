// A stack of production decoder layers (engine/models/llava.ts decoderLayer,
// Llama-style: RMSNorm, rotary MHA, SiLU-gated MLP) for the MatMul and
// train-step benchmarks, with the batch inputs they feed: x [B, T, H], the
// rotary tables and the causal bias. Shapes come from the engine's own table.
import ort from 'onnxruntime-node';
import { expectedShapes } from '../electron/engine/models/checkpoint-shapes';
import { parseLlavaConfig } from '../electron/engine/models/config';
import { LM, decoderLayer, llavaSpec } from '../electron/engine/models/llava';
import { rotaryTables } from '../electron/engine/models/nn';
import type { Params } from '../electron/engine/models/params';
import type { Graph, Value } from '../electron/engine/onnx';

export interface StackDims {
  hidden: number;
  heads: number;
  /** MLP width. */
  inter: number;
}

/** The text spec and per-tensor shapes of `layers` decoder layers of these sizes. */
export function stackModel(d: StackDims, layers: number) {
  const config = parseLlavaConfig({
    text_config: {
      hidden_size: d.hidden,
      num_attention_heads: d.heads,
      intermediate_size: d.inter,
      num_hidden_layers: layers,
      rms_norm_eps: 1e-6,
      max_position_embeddings: 4096,
    },
    vision_config: {
      hidden_size: 8,
      intermediate_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 1,
      image_size: 28,
      patch_size: 14,
    },
  });
  const shapes = new Map([...expectedShapes(config)].filter(([n]) => n.startsWith(`${LM}layers.`)));
  return { spec: llavaSpec(config).text, shapes };
}

/** Runs the layers over the graph input `x`; returns the output and the batch feeds (x random, rope, causal bias). */
export function decoderStack(
  g: Graph,
  p: Params,
  d: StackDims,
  layers: number,
  batch: number,
  seq: number,
): { y: Value; feeds: Record<string, ort.Tensor> } {
  const { spec } = stackModel(d, layers);
  const hd = spec.headDim;
  const x = g.input('x', 'float32', [batch, seq, d.hidden]);
  const cos = g.input('rope_cos', 'float32', [batch, seq, hd]);
  const sin = g.input('rope_sin', 'float32', [batch, seq, hd]);
  const bias = g.input('attention_bias', 'float32', [batch, seq, seq]);
  let y: Value = x;
  for (let l = 0; l < layers; l++)
    y = g.withScope(`layers.${l}`, () => decoderLayer(p, spec, l, y, { rope: { cos, sin }, bias, hooks: {} }).x);
  const t = rotaryTables(
    spec,
    Array.from({ length: batch * seq }, (_, i) => i % seq),
  );
  const causal = new Float32Array(batch * seq * seq);
  for (let r = 0; r < batch * seq; r++) causal.fill(-1e30, r * seq + (r % seq) + 1, (r + 1) * seq);
  const feeds = {
    x: new ort.Tensor(
      'float32',
      Float32Array.from({ length: batch * seq * d.hidden }, () => Math.random() * 2 - 1),
      [batch, seq, d.hidden],
    ),
    rope_cos: new ort.Tensor('float32', t.cos, [batch, seq, hd]),
    rope_sin: new ort.Tensor('float32', t.sin, [batch, seq, hd]),
    attention_bias: new ort.Tensor('float32', causal, [batch, seq, seq]),
  };
  return { y, feeds };
}
