// Tiny random LLaVA checkpoints for the model tests: the real llava-hf config
// fields and tensor names (older or newer layout), fp32/bf16/fp16, Llama or
// Qwen2 text, CLIP or SigLIP vision. Sizes are chosen so graphs build and run
// in milliseconds; weights are seeded so a failure reproduces.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fromFloat32 } from '../../../../electron/engine/weights/decode';
import type { TensorsToWrite } from '../../../../electron/engine/weights/writer';
import { serializeSafetensors } from '../../../../electron/engine/weights/writer';

export interface TinyOptions {
  text?: 'llama' | 'mistral' | 'qwen2';
  vision?: 'clip_vision_model' | 'siglip_vision_model';
  kvHeads?: number;
  dtype?: 'F32' | 'BF16' | 'F16';
  layout?: 'old' | 'new';
  tie?: boolean;
  featureLayer?: number | number[];
  strategy?: 'default' | 'full';
  ropeScaling?: number;
  seed?: number;
  textLayers?: number;
}

export const TINY = { hidden: 32, heads: 4, headDim: 8, inter: 48, vocab: 96, imageToken: 90, vHidden: 24, vHeads: 2, vInter: 40, vLayers: 3, image: 28, patch: 7 };

function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** The config.json of a tiny model. */
export function tinyConfig(o: TinyOptions = {}): Record<string, unknown> {
  const text = o.text ?? 'llama';
  const vision = o.vision ?? 'clip_vision_model';
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    image_token_index: TINY.imageToken,
    vision_feature_layer: o.featureLayer ?? -2,
    vision_feature_select_strategy: o.strategy ?? 'default',
    projector_hidden_act: 'gelu',
    tie_word_embeddings: o.tie ?? false,
    text_config: {
      model_type: text,
      hidden_size: TINY.hidden,
      intermediate_size: TINY.inter,
      num_hidden_layers: o.textLayers ?? 3,
      num_attention_heads: TINY.heads,
      num_key_value_heads: o.kvHeads ?? TINY.heads,
      vocab_size: TINY.vocab,
      rms_norm_eps: 1e-5,
      rope_theta: text === 'qwen2' ? 1e6 : 10000,
      max_position_embeddings: 256,
      tie_word_embeddings: o.tie ?? false,
      ...(o.ropeScaling ? { rope_scaling: { type: 'linear', factor: o.ropeScaling } } : {}),
    },
    vision_config: {
      model_type: vision,
      hidden_size: TINY.vHidden,
      intermediate_size: TINY.vInter,
      num_hidden_layers: TINY.vLayers,
      num_attention_heads: TINY.vHeads,
      image_size: TINY.image,
      patch_size: TINY.patch,
      hidden_act: vision === 'clip_vision_model' ? 'quick_gelu' : 'gelu_pytorch_tanh',
      layer_norm_eps: vision === 'clip_vision_model' ? 1e-5 : 1e-6,
    },
  };
}

/** Tensor shapes by canonical (older-layout) name. */
function shapes(o: TinyOptions): Record<string, number[]> {
  const s: Record<string, number[]> = {};
  const t = TINY;
  const kv = (o.kvHeads ?? t.heads) * t.headDim;
  const lm = 'language_model.model.';
  s[`${lm}embed_tokens.weight`] = [t.vocab, t.hidden];
  s[`${lm}norm.weight`] = [t.hidden];
  if (!o.tie) s['language_model.lm_head.weight'] = [t.vocab, t.hidden];
  for (let i = 0; i < (o.textLayers ?? 3); i++) {
    const p = `${lm}layers.${i}.`;
    Object.assign(s, {
      [`${p}input_layernorm.weight`]: [t.hidden],
      [`${p}post_attention_layernorm.weight`]: [t.hidden],
      [`${p}self_attn.q_proj.weight`]: [t.hidden, t.hidden],
      [`${p}self_attn.k_proj.weight`]: [kv, t.hidden],
      [`${p}self_attn.v_proj.weight`]: [kv, t.hidden],
      [`${p}self_attn.o_proj.weight`]: [t.hidden, t.hidden],
      [`${p}mlp.gate_proj.weight`]: [t.inter, t.hidden],
      [`${p}mlp.up_proj.weight`]: [t.inter, t.hidden],
      [`${p}mlp.down_proj.weight`]: [t.hidden, t.inter],
    });
    if (o.text === 'qwen2') Object.assign(s, { [`${p}self_attn.q_proj.bias`]: [t.hidden], [`${p}self_attn.k_proj.bias`]: [kv], [`${p}self_attn.v_proj.bias`]: [kv] });
  }
  const v = 'vision_tower.vision_model.';
  const clip = (o.vision ?? 'clip_vision_model') === 'clip_vision_model';
  const patches = (t.image / t.patch) ** 2;
  s[`${v}embeddings.patch_embedding.weight`] = [t.vHidden, 3, t.patch, t.patch];
  s[`${v}embeddings.position_embedding.weight`] = [patches + (clip ? 1 : 0), t.vHidden];
  if (clip) Object.assign(s, { [`${v}embeddings.class_embedding`]: [t.vHidden], [`${v}pre_layrnorm.weight`]: [t.vHidden], [`${v}pre_layrnorm.bias`]: [t.vHidden] });
  else s[`${v}embeddings.patch_embedding.bias`] = [t.vHidden];
  s[`${v}post_layernorm.weight`] = [t.vHidden];
  s[`${v}post_layernorm.bias`] = [t.vHidden];
  for (let i = 0; i < t.vLayers; i++) {
    const p = `${v}encoder.layers.${i}.`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) Object.assign(s, { [`${p}self_attn.${n}.weight`]: [t.vHidden, t.vHidden], [`${p}self_attn.${n}.bias`]: [t.vHidden] });
    for (const n of ['layer_norm1', 'layer_norm2']) Object.assign(s, { [`${p}${n}.weight`]: [t.vHidden], [`${p}${n}.bias`]: [t.vHidden] });
    Object.assign(s, { [`${p}mlp.fc1.weight`]: [t.vInter, t.vHidden], [`${p}mlp.fc1.bias`]: [t.vInter], [`${p}mlp.fc2.weight`]: [t.vHidden, t.vInter], [`${p}mlp.fc2.bias`]: [t.vHidden] });
  }
  const stacked = Array.isArray(o.featureLayer) ? o.featureLayer.length : 1;
  Object.assign(s, {
    'multi_modal_projector.linear_1.weight': [t.hidden, t.vHidden * stacked],
    'multi_modal_projector.linear_1.bias': [t.hidden],
    'multi_modal_projector.linear_2.weight': [t.hidden, t.hidden],
    'multi_modal_projector.linear_2.bias': [t.hidden],
  });
  return s;
}

/** The newer layout's name for an older-layout name. */
function newerName(n: string): string {
  if (n === 'language_model.lm_head.weight') return 'lm_head.weight';
  if (n.startsWith('language_model.model.')) return `model.language_model.${n.slice('language_model.model.'.length)}`;
  return `model.${n}`;
}

/** Random values: norms around 1, everything else N(0, 0.3^2) so logits are decisive enough for greedy parity. */
function values(name: string, n: number, rnd: () => number): number[] {
  const isNorm = /norm|layrnorm/.test(name) && name.endsWith('.weight');
  return Array.from({ length: n }, () => (isNorm ? 1 + 0.1 * rnd() : 0.3 * rnd()));
}

/** Writes a tiny model folder and returns its path. */
export function writeTinyModel(o: TinyOptions = {}, dir = mkdtempSync(path.join(tmpdir(), 'tiny-llava-'))): string {
  const rnd = gaussian(o.seed ?? 1);
  const tensors: TensorsToWrite = {};
  for (const [name, shape] of Object.entries(shapes(o))) {
    const data = fromFloat32(o.dtype ?? 'F32', values(name, shape.reduce((a, b) => a * b, 1), rnd));
    tensors[o.layout === 'new' ? newerName(name) : name] = { dtype: o.dtype ?? 'F32', shape, data };
  }
  writeFileSync(path.join(dir, 'model.safetensors'), serializeSafetensors(tensors));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(tinyConfig(o), null, 2));
  return dir;
}
