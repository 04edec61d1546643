// The tensors an InternLM-XComposer-2.5 checkpoint must hold for its config,
// by their official names (the HF remote code's module tree), with shapes as
// torch creates them ([out, in] for Linear weights): the InternLM2 decoder with
// packed wqkv and Partial LoRA (Plora_A / Plora_B) on wqkv, wo, w1, w2, w3; the
// CLIP tower under `vit.vision_tower.`; the projector `vision_proj`; the HD
// separators `plora_glb_GN` / `plora_sub_GN`. The 2.5 PLoRA class also holds
// three mode adapters (lora_sft / lora_dpo / lora_web), which chat never uses:
// recognised here and ignored.
import type { ShapeTable } from './checkpoint-shapes';
import type { IxcConfig } from './config-ixc';

export const IXC_VIT_PREFIX = 'vit.vision_tower.vision_model.';
export const IXC_EMBED = 'model.tok_embeddings.weight';
export const IXC_OUTPUT = 'output.weight';
/** The linear layers carrying Partial LoRA, by their path under `model.layers.N.`. */
export const IXC_PLORA_LINEARS = [
  'attention.wqkv',
  'attention.wo',
  'feed_forward.w1',
  'feed_forward.w3',
  'feed_forward.w2',
];
/** Where the checkpoint's PLoRA rank is read when config.json does not give one. */
export const IXC_RANK_PROBE = 'model.layers.0.attention.wqkv.Plora_A.weight';

const MODE_ADAPTER = new RegExp(
  `^model\\.layers\\.\\d+\\.(?:${IXC_PLORA_LINEARS.map((l) => l.replace('.', '\\.')).join('|')})\\.lora_(?:sft|dpo|web)_[AB]\\.weight$`,
);

/** A tensor of the mode adapters (lora_sft / lora_dpo / lora_web) that chat ('base' mode) never reads. */
export function isIxcModeAdapter(name: string): boolean {
  return MODE_ADAPTER.test(name);
}

/** Stored tensors the model never reads and a checkpoint may carry: CLIP's position_ids buffer, rotary caches. */
export function isIxcIgnorable(name: string): boolean {
  return (
    name === `${IXC_VIT_PREFIX}embeddings.position_ids` ||
    /^model\.layers\.\d+\.attention\.rotary_emb\.inv_freq$/.test(name)
  );
}

/** Tensors the model does not read (post_layernorm: features are the last layer's output before it). */
export function isIxcOptional(name: string): boolean {
  return name.startsWith(`${IXC_VIT_PREFIX}post_layernorm.`);
}

function visionShapes(c: IxcConfig, s: ShapeTable): void {
  const v = c.vision_config;
  const p = IXC_VIT_PREFIX;
  const h = v.hidden_size;
  s.set(`${p}embeddings.class_embedding`, [h]);
  s.set(`${p}embeddings.patch_embedding.weight`, [h, v.num_channels, v.patch_size, v.patch_size]);
  s.set(`${p}embeddings.position_embedding.weight`, [v.grid * v.grid + 1, h]);
  for (const n of ['pre_layrnorm', 'post_layernorm']) {
    s.set(`${p}${n}.weight`, [h]);
    s.set(`${p}${n}.bias`, [h]);
  }
  for (let i = 0; i < v.num_hidden_layers; i++) {
    const l = `${p}encoder.layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      s.set(`${l}self_attn.${proj}.weight`, [h, h]);
      s.set(`${l}self_attn.${proj}.bias`, [h]);
    }
    for (const n of ['layer_norm1', 'layer_norm2']) {
      s.set(`${l}${n}.weight`, [h]);
      s.set(`${l}${n}.bias`, [h]);
    }
    s.set(`${l}mlp.fc1.weight`, [v.intermediate_size, h]);
    s.set(`${l}mlp.fc1.bias`, [v.intermediate_size]);
    s.set(`${l}mlp.fc2.weight`, [h, v.intermediate_size]);
    s.set(`${l}mlp.fc2.bias`, [h]);
  }
}

/** A PLoRA linear: the base weight (and bias), Plora_A [r, in], Plora_B [out, r] (both bias-free). */
function plora(s: ShapeTable, name: string, out: number, inp: number, rank: number, bias: boolean): void {
  s.set(`${name}.weight`, [out, inp]);
  if (bias) s.set(`${name}.bias`, [out]);
  s.set(`${name}.Plora_A.weight`, [rank, inp]);
  s.set(`${name}.Plora_B.weight`, [out, rank]);
}

function textShapes(c: IxcConfig, rank: number, s: ShapeTable): void {
  const h = c.hidden_size;
  const qkv = (c.num_attention_heads + 2 * c.num_key_value_heads) * c.head_dim;
  const o = c.num_attention_heads * c.head_dim;
  const inter = c.intermediate_size;
  s.set(IXC_EMBED, [c.vocab_size, h]);
  s.set('model.norm.weight', [h]);
  s.set(IXC_OUTPUT, [c.vocab_size, h]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const l = `model.layers.${i}.`;
    s.set(`${l}attention_norm.weight`, [h]);
    s.set(`${l}ffn_norm.weight`, [h]);
    plora(s, `${l}attention.wqkv`, qkv, h, rank, c.bias);
    plora(s, `${l}attention.wo`, h, o, rank, c.bias);
    plora(s, `${l}feed_forward.w1`, inter, h, rank, false);
    plora(s, `${l}feed_forward.w3`, inter, h, rank, false);
    plora(s, `${l}feed_forward.w2`, h, inter, rank, false);
  }
}

/** Every tensor the model reads, official name -> shape; `rank` is the PLoRA rank in effect. */
export function expectedIxcShapes(c: IxcConfig, rank: number): ShapeTable {
  const s: ShapeTable = new Map();
  visionShapes(c, s);
  const merged = c.vision_config.hidden_size * c.merge * c.merge;
  s.set('vision_proj.0.weight', [c.hidden_size, merged]);
  s.set('vision_proj.0.bias', [c.hidden_size]);
  s.set('vision_proj.2.weight', [c.hidden_size, c.hidden_size]);
  s.set('vision_proj.2.bias', [c.hidden_size]);
  s.set('plora_glb_GN', [1, 1, merged]);
  s.set('plora_sub_GN', [1, 1, 1, merged]);
  textShapes(c, rank, s);
  return s;
}

/** Parameters of the model as the shape table lists them (mode adapters and unused tensors not counted). */
export function ixcParameterCount(shapes: ShapeTable, present: (name: string) => boolean): number {
  let n = 0;
  for (const [name, shape] of shapes) if (present(name)) n += shape.reduce((a, b) => a * b, 1);
  return n;
}
