// The tensors a llava-hf checkpoint must hold for its config, by canonical
// name, with their shapes as transformers creates them ([out, in] for
// Linear weights). Used to refuse a folder whose files do not match its
// config before any graph is built.
import { VISION_ARCHS } from './arch';
import { featureLayerIndices, type LlavaConfig, type TextConfig, type VisionConfig } from './config';

export type ShapeTable = Map<string, number[]>;

/** The embeddings differ per tower only by the architecture table's facts (class token, patch bias, pre-norm). */
function visionEmbeddingShapes(v: VisionConfig, s: ShapeTable, p: string): void {
  const arch = VISION_ARCHS[v.model_type];
  const positions = (v.image_size / v.patch_size) ** 2 + (arch.classToken ? 1 : 0);
  if (arch.classToken) s.set(`${p}embeddings.class_embedding`, [v.hidden_size]);
  s.set(`${p}embeddings.patch_embedding.weight`, [v.hidden_size, v.num_channels, v.patch_size, v.patch_size]);
  if (arch.patchBias) s.set(`${p}embeddings.patch_embedding.bias`, [v.hidden_size]);
  s.set(`${p}embeddings.position_embedding.weight`, [positions, v.hidden_size]);
  if (arch.preNorm) {
    s.set(`${p}pre_layrnorm.weight`, [v.hidden_size]);
    s.set(`${p}pre_layrnorm.bias`, [v.hidden_size]);
  }
}

function visionShapes(v: VisionConfig, s: ShapeTable): void {
  const p = 'vision_tower.vision_model.';
  visionEmbeddingShapes(v, s, p);
  const h = v.hidden_size;
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const l = `${p}encoder.layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      s.set(`${l}self_attn.${proj}.weight`, [h, h]);
      s.set(`${l}self_attn.${proj}.bias`, [h]);
    }
    for (const norm of ['layer_norm1', 'layer_norm2']) {
      s.set(`${l}${norm}.weight`, [h]);
      s.set(`${l}${norm}.bias`, [h]);
    }
    s.set(`${l}mlp.fc1.weight`, [v.intermediate_size, h]);
    s.set(`${l}mlp.fc1.bias`, [v.intermediate_size]);
    s.set(`${l}mlp.fc2.weight`, [h, v.intermediate_size]);
    s.set(`${l}mlp.fc2.bias`, [h]);
  }
  s.set(`${p}post_layernorm.weight`, [h]);
  s.set(`${p}post_layernorm.bias`, [h]);
}

function textShapes(t: TextConfig, s: ShapeTable): void {
  const p = 'language_model.model.';
  const h = t.hidden_size;
  const q = t.num_attention_heads * t.head_dim;
  const kv = t.num_key_value_heads * t.head_dim;
  s.set(`${p}embed_tokens.weight`, [t.vocab_size, h]);
  s.set(`${p}norm.weight`, [h]);
  s.set('language_model.lm_head.weight', [t.vocab_size, h]);
  for (let i = 0; i < t.num_hidden_layers; i++) {
    const l = `${p}layers.${i}.`;
    s.set(`${l}input_layernorm.weight`, [h]);
    s.set(`${l}post_attention_layernorm.weight`, [h]);
    s.set(`${l}self_attn.q_proj.weight`, [q, h]);
    s.set(`${l}self_attn.k_proj.weight`, [kv, h]);
    s.set(`${l}self_attn.v_proj.weight`, [kv, h]);
    s.set(`${l}self_attn.o_proj.weight`, [h, q]);
    if (t.qkv_bias) {
      s.set(`${l}self_attn.q_proj.bias`, [q]);
      s.set(`${l}self_attn.k_proj.bias`, [kv]);
      s.set(`${l}self_attn.v_proj.bias`, [kv]);
    }
    if (t.o_bias) s.set(`${l}self_attn.o_proj.bias`, [h]);
    s.set(`${l}mlp.gate_proj.weight`, [t.intermediate_size, h]);
    s.set(`${l}mlp.up_proj.weight`, [t.intermediate_size, h]);
    s.set(`${l}mlp.down_proj.weight`, [h, t.intermediate_size]);
    if (t.mlp_bias) {
      s.set(`${l}mlp.gate_proj.bias`, [t.intermediate_size]);
      s.set(`${l}mlp.up_proj.bias`, [t.intermediate_size]);
      s.set(`${l}mlp.down_proj.bias`, [h]);
    }
  }
}

/** Every tensor the model reads, canonical name -> shape. */
export function expectedShapes(c: LlavaConfig): ShapeTable {
  const s: ShapeTable = new Map();
  visionShapes(c.vision_config, s);
  const projIn = c.vision_config.hidden_size * featureLayerIndices(c).length;
  const t = c.text_config.hidden_size;
  s.set('multi_modal_projector.linear_1.weight', [t, projIn]);
  s.set('multi_modal_projector.linear_2.weight', [t, t]);
  if (c.multimodal_projector_bias) {
    s.set('multi_modal_projector.linear_1.bias', [t]);
    s.set('multi_modal_projector.linear_2.bias', [t]);
  }
  textShapes(c.text_config, s);
  return s;
}

/**
 * Tensors transformers creates but LLaVA never reads: the vision tower's
 * post_layernorm (features come from hidden states before it) and layers
 * after the deepest feature layer. A checkpoint may omit them.
 */
export function isOptionalTensor(name: string, c: LlavaConfig): boolean {
  if (name.startsWith('vision_tower.vision_model.post_layernorm.')) return true;
  const m = /^vision_tower\.vision_model\.encoder\.layers\.(\d+)\./.exec(name);
  return m !== null && Number(m[1]) >= Math.max(...featureLayerIndices(c));
}
