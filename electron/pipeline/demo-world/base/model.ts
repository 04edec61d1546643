// The demo base model's architecture and files (issue 14 item 2; decision
// 0810): a llava-hf LlavaForConditionalGeneration folder with a CLIP-style
// vision tower, a two-layer GELU projector and a Llama decoder, sized to
// train from scratch on two CPU cores; its seeded initial weights; and the
// writer of config.json, preprocessor_config.json, processor_config.json,
// tokenizer files, generation_config.json and model.safetensors.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gaussian } from '../../../engine/models/random-checkpoint';
import { expectedShapes } from '../../../engine/models/checkpoint-shapes';
import { llavaSpec, type LlavaSpec } from '../../../engine/models/llava';
import { parseLlavaConfig } from '../../../engine/models/config';
import type { SftWeights } from '../../../engine/train/sft/trainer';
import { fromFloat32 } from '../../../engine/weights/decode';
import { writeSafetensors, type TensorsToWrite } from '../../../engine/weights/writer';
import { CANVAS } from '../world';
import type { WorldTokenizer } from './tokenizer';

/** The sizes of the base model (decision 0810 says why). */
export interface BaseModelSize {
  /** Decoder width, layers, heads, MLP width. */
  hidden: number;
  layers: number;
  heads: number;
  inter: number;
  /** Vision tower width, layers, heads, MLP width. */
  vHidden: number;
  vLayers: number;
  vHeads: number;
  vInter: number;
  /** Patch side in pixels: the 112 px canvas is the tower's input, (112 / patch)^2 feature tokens per image. */
  patch: number;
}

export const BASE_MODEL_SIZE: BaseModelSize = {
  hidden: 128,
  layers: 4,
  heads: 4,
  inter: 256,
  vHidden: 96,
  vLayers: 2,
  vHeads: 4,
  vInter: 192,
  patch: 28,
};

/** A model small enough for a test to train a few steps in seconds (same layout, same files). */
export const TINY_MODEL_SIZE: BaseModelSize = {
  hidden: 32,
  layers: 1,
  heads: 2,
  inter: 64,
  vHidden: 24,
  vLayers: 1,
  vHeads: 2,
  vInter: 48,
  patch: 28,
};

/** The model's context: the longest benchmark prompt (4 images) fits with room to answer. */
export const MAX_POSITIONS = 512;

/** config.json of the base model. */
export function baseConfig(size: BaseModelSize, tok: WorldTokenizer): Record<string, unknown> {
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    image_token_index: tok.ids.image,
    pad_token_id: tok.ids.pad,
    projector_hidden_act: 'gelu',
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'default',
    tie_word_embeddings: false,
    torch_dtype: 'float16',
    text_config: {
      model_type: 'llama',
      hidden_size: size.hidden,
      intermediate_size: size.inter,
      num_hidden_layers: size.layers,
      num_attention_heads: size.heads,
      num_key_value_heads: size.heads,
      hidden_act: 'silu',
      vocab_size: tok.vocabSize,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      max_position_embeddings: MAX_POSITIONS,
      tie_word_embeddings: false,
      bos_token_id: tok.ids.bos,
      eos_token_id: tok.ids.eos,
      pad_token_id: tok.ids.pad,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: size.vHidden,
      intermediate_size: size.vInter,
      num_hidden_layers: size.vLayers,
      num_attention_heads: size.vHeads,
      image_size: CANVAS,
      patch_size: size.patch,
      num_channels: 3,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
    },
  };
}

/** The engine's spec of a config (validated as any model folder's is). */
export const specOf = (config: Record<string, unknown>): LlavaSpec => llavaSpec(parseLlavaConfig(config));

/**
 * Seeded initial weights, transformers' style: N(0, 0.02) for linear layers and embeddings, the
 * residual branches' output layers scaled by 1/sqrt(2 x layers) (GPT-2), norms 1, biases 0.
 */
export function initialWeights(config: Record<string, unknown>, seed: number): SftWeights {
  const parsed = parseLlavaConfig(config);
  const rnd = gaussian(seed);
  const out: SftWeights = new Map();
  const layers = parsed.text_config.num_hidden_layers + parsed.vision_config.num_hidden_layers;
  for (const [name, shape] of [...expectedShapes(parsed)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    if (/norm/.test(name) && name.endsWith('.weight')) values.fill(1);
    else if (!name.endsWith('.bias')) {
      const embedding = /embed_tokens|position_embedding|class_embedding/.test(name);
      const residual = /o_proj|down_proj|out_proj|fc2/.test(name);
      // LeCun normal (std fan_in^-1/2) keeps activations at unit scale through these narrow layers; 0.02 would shrink them 5x per layer.
      const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
      const std = embedding ? 0.02 : fanIn ** -0.5 / (residual ? Math.sqrt(2 * layers) : 1);
      for (let i = 0; i < n; i++) values[i] = std * rnd();
    }
    out.set(name, { shape, values });
  }
  return out;
}

function preprocessorConfig(): Record<string, unknown> {
  return {
    image_processor_type: 'CLIPImageProcessor',
    processor_class: 'LlavaProcessor',
    do_resize: true,
    size: { shortest_edge: CANVAS },
    resample: 3,
    do_center_crop: true,
    crop_size: { height: CANVAS, width: CANVAS },
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_std: [0.26862954, 0.26130258, 0.27577711],
    do_convert_rgb: true,
  };
}

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** Writes everything but the weights (config, processor, tokenizer, generation config). */
export function writeModelFiles(dir: string, config: Record<string, unknown>, tok: WorldTokenizer): void {
  mkdirSync(dir, { recursive: true });
  const vision = config['vision_config'] as { patch_size: number };
  writeFileSync(path.join(dir, 'config.json'), json(config));
  writeFileSync(path.join(dir, 'preprocessor_config.json'), json(preprocessorConfig()));
  writeFileSync(
    path.join(dir, 'processor_config.json'),
    json({
      image_token: '<image>',
      patch_size: vision.patch_size,
      vision_feature_select_strategy: 'default',
      num_additional_image_tokens: 1,
      processor_class: 'LlavaProcessor',
    }),
  );
  writeFileSync(path.join(dir, 'tokenizer.json'), json(tok.tokenizer));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), json(tok.config));
  writeFileSync(
    path.join(dir, 'generation_config.json'),
    json({ bos_token_id: tok.ids.bos, eos_token_id: tok.ids.eos, pad_token_id: tok.ids.pad }),
  );
}

/** model.safetensors in `dtype` (canonical names, the older llava-hf layout every loader reads). */
export async function writeWeights(dir: string, weights: SftWeights, dtype: 'F16' | 'F32'): Promise<void> {
  const tensors: TensorsToWrite = {};
  for (const [name, t] of weights) tensors[name] = { dtype, shape: [...t.shape], data: fromFloat32(dtype, t.values) };
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
}
