// An InternLM-XComposer-2.5 config.json (HF remote code,
// InternLMXComposer2ForCausalLM / model_type internlmxcomposer2) validated with
// zod and resolved as the remote code resolves it: missing fields take
// InternLMXcomposer2Config's defaults (arch.ts IXC_TEXT_DEFAULTS); the vision
// tower, crop size, 2x2 merge, PLoRA rank and hd_num are hard-coded there, so
// they come from arch.ts unless an optional block overrides them. Bad or
// unsupported values are refused naming config.json and the field.
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { IXC_DEFAULTS, IXC_DEFAULT_VISION, IXC_TEXT_DEFAULTS, familyOf, type VisionDefaults } from './arch';
import { bad, parseWithSync, readConfigJson, unsupportedFamily, withConfigPath } from './config';

const count = z.number().int().positive();
const id = z.number().int().nonnegative();
const real = z.number().positive();
const opt = <T extends z.ZodType>(t: T) => t.nullish();

const visionSchema = z.looseObject({
  hidden_size: opt(count),
  intermediate_size: opt(count),
  num_hidden_layers: opt(count),
  num_attention_heads: opt(count),
  num_channels: opt(count),
  image_size: opt(count),
  patch_size: opt(count),
  hidden_act: opt(z.string()),
  layer_norm_eps: opt(real),
});

const ixcSchema = z.looseObject({
  vocab_size: opt(count),
  hidden_size: opt(count),
  intermediate_size: opt(count),
  num_hidden_layers: opt(count),
  num_attention_heads: opt(count),
  num_key_value_heads: opt(count),
  hidden_act: opt(z.string()),
  max_position_embeddings: opt(count),
  rms_norm_eps: opt(real),
  rope_theta: opt(real),
  rope_scaling: opt(z.looseObject({ type: opt(z.string()), rope_type: opt(z.string()), factor: opt(real) })),
  bias: opt(z.boolean()),
  tie_word_embeddings: opt(z.boolean()),
  bos_token_id: opt(id),
  eos_token_id: opt(z.union([id, z.array(id).min(1)])),
  pad_token_id: opt(id),
  torch_dtype: opt(z.enum(['float32', 'float16', 'bfloat16'])),
  max_length: opt(count),
  // Not in the release's config.json (hard-coded in the remote code); honoured when present.
  vision_config: opt(visionSchema),
  hd_num: opt(count),
  plora_rank: opt(count),
});

export interface IxcVisionConfig extends VisionDefaults {
  model_type: 'clip_vision_model';
  /** Patches per side of one crop (40 at 560 / 14). */
  grid: number;
  /** Merged tokens per side of one crop after the 2x2 merge (20). */
  merged_side: number;
}

/** Rotary scaling: 'dynamic' NTK grows the base past max_position_embeddings; 'linear' divides positions. */
export type IxcRopeScaling = { type: 'none' } | { type: 'dynamic' | 'linear'; factor: number };

export interface IxcConfig {
  family: 'ixc';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  hidden_act: 'silu';
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: IxcRopeScaling;
  /** wqkv / wo carry a bias. */
  bias: boolean;
  tie_word_embeddings: boolean;
  bos_token_id: number;
  /** One or more end ids as written (the end-of-turn id comes from the tokenizer). */
  eos_token_id: number[];
  pad_token_id: number;
  torch_dtype: 'float32' | 'float16' | 'bfloat16' | null;
  /** The remote code's prompt truncation length (16384 in the release), or null when not written. */
  max_length: number | null;
  vision_config: IxcVisionConfig;
  /** Whether vision_config came from the file (else the remote code's ViT-L/14 at 560 px). */
  vision_from_config: boolean;
  /** Tokens merged per side (2: 2x2 patches -> one token of 4 x width). */
  merge: number;
  /** hd_num for a prompt with one image and with several. */
  hd_num: number;
  hd_num_multi: number;
  /** Partial LoRA rank from config.json (our extension), or null: read from the checkpoint's Plora_A (256 in the release). */
  plora_rank: number | null;
}

function resolveVision(raw: z.infer<typeof visionSchema> | null | undefined): IxcVisionConfig {
  const d = IXC_DEFAULT_VISION;
  const v = {
    model_type: 'clip_vision_model' as const,
    hidden_size: raw?.hidden_size ?? d.hidden_size,
    intermediate_size: raw?.intermediate_size ?? d.intermediate_size,
    num_hidden_layers: raw?.num_hidden_layers ?? d.num_hidden_layers,
    num_attention_heads: raw?.num_attention_heads ?? d.num_attention_heads,
    num_channels: raw?.num_channels ?? d.num_channels,
    image_size: raw?.image_size ?? d.image_size,
    patch_size: raw?.patch_size ?? d.patch_size,
    hidden_act: raw?.hidden_act ?? d.hidden_act,
    layer_norm_eps: raw?.layer_norm_eps ?? d.layer_norm_eps,
  };
  if (v.num_channels !== 3) throw bad('vision_config.num_channels', v.num_channels, 'is not supported (RGB: 3)');
  if (v.image_size % v.patch_size !== 0)
    throw bad('vision_config.image_size', v.image_size, `is not a multiple of patch_size = ${v.patch_size}`);
  const grid = v.image_size / v.patch_size;
  if (grid % IXC_DEFAULTS.merge !== 0)
    throw bad(
      'vision_config.image_size',
      v.image_size,
      `gives ${grid} patches per side, which the ${IXC_DEFAULTS.merge}x${IXC_DEFAULTS.merge} merge cannot split`,
    );
  if (v.hidden_size % v.num_attention_heads !== 0)
    throw bad(
      'vision_config.hidden_size',
      v.hidden_size,
      `is not a multiple of num_attention_heads = ${v.num_attention_heads}`,
    );
  if (!['quick_gelu', 'gelu'].includes(v.hidden_act))
    throw new AppError(
      'unsupported',
      `config.json: vision_config.hidden_act = ${JSON.stringify(v.hidden_act)} is not supported; supported: quick_gelu, gelu`,
      { subject: 'vision_config.hidden_act' },
    );
  return { ...v, grid, merged_side: grid / IXC_DEFAULTS.merge };
}

function resolveRope(s: z.infer<typeof ixcSchema>['rope_scaling']): IxcRopeScaling {
  if (s == null) return { type: 'none' };
  const type = s.type ?? s.rope_type ?? 'default';
  if (type === 'default') return { type: 'none' };
  if (type !== 'dynamic' && type !== 'linear')
    throw new AppError(
      'unsupported',
      `config.json: rope_scaling.type = ${JSON.stringify(type)} is not supported; supported: dynamic, linear`,
      { subject: 'rope_scaling.type' },
    );
  if (s.factor == null) throw bad('rope_scaling.factor', s.factor, `is required for ${type} scaling`);
  if (type === 'dynamic' && s.factor < 1) throw bad('rope_scaling.factor', s.factor, 'must be at least 1');
  return { type, factor: s.factor };
}

/** Validates and resolves a parsed IXC2.5 config.json. */
export function parseIxcConfig(raw: unknown): IxcConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AppError('bad-input', 'config.json: not a JSON object');
  const family = familyOf(raw);
  if (family !== 'ixc') {
    if (family === 'unknown') throw unsupportedFamily(raw as Record<string, unknown>);
    throw new AppError('bad-input', 'config.json: not an InternLM-XComposer-2.5 config (architectures, model_type)', {
      subject: 'architectures',
    });
  }
  const c = parseWithSync(ixcSchema, raw, '');
  const d = IXC_TEXT_DEFAULTS;
  const heads = c.num_attention_heads ?? d.num_attention_heads;
  const hidden = c.hidden_size ?? d.hidden_size;
  const kv = c.num_key_value_heads ?? d.num_key_value_heads ?? heads;
  if (heads % kv !== 0) throw bad('num_key_value_heads', kv, `does not divide num_attention_heads = ${heads}`);
  if (hidden % heads !== 0) throw bad('hidden_size', hidden, `is not a multiple of num_attention_heads = ${heads}`);
  const headDim = hidden / heads;
  if (headDim % 2 !== 0) throw bad('hidden_size', hidden, `gives an odd head size ${headDim}, which rotary cannot use`);
  const act = c.hidden_act ?? d.hidden_act;
  if (act !== 'silu')
    throw new AppError(
      'unsupported',
      `config.json: hidden_act = ${JSON.stringify(act)} is not supported; supported: silu`,
      {
        subject: 'hidden_act',
      },
    );
  const vocab = c.vocab_size ?? d.vocab_size;
  const bos = c.bos_token_id ?? d.bos_token_id;
  const eos = c.eos_token_id ?? d.eos_token_id;
  const pad = c.pad_token_id ?? d.pad_token_id;
  for (const [field, v] of [
    ['bos_token_id', bos],
    ['eos_token_id', eos],
    ['pad_token_id', pad],
  ] as const) {
    for (const x of Array.isArray(v) ? v : [v])
      if (x >= vocab) throw bad(field, v, `is outside the vocabulary (vocab_size = ${vocab})`);
  }
  const hdNum = c.hd_num ?? IXC_DEFAULTS.hd_num;
  return {
    family: 'ixc',
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: c.intermediate_size ?? d.intermediate_size,
    num_hidden_layers: c.num_hidden_layers ?? d.num_hidden_layers,
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: headDim,
    hidden_act: 'silu',
    max_position_embeddings: c.max_position_embeddings ?? d.max_position_embeddings,
    rms_norm_eps: c.rms_norm_eps ?? d.rms_norm_eps,
    rope_theta: c.rope_theta ?? d.rope_theta,
    rope_scaling: resolveRope(c.rope_scaling),
    bias: c.bias ?? d.bias,
    tie_word_embeddings: c.tie_word_embeddings ?? d.tie_word_embeddings,
    bos_token_id: bos,
    eos_token_id: Array.isArray(eos) ? eos : [eos],
    pad_token_id: pad,
    torch_dtype: c.torch_dtype ?? null,
    max_length: c.max_length ?? null,
    vision_config: resolveVision(c.vision_config),
    vision_from_config: c.vision_config != null,
    merge: IXC_DEFAULTS.merge,
    hd_num: hdNum,
    hd_num_multi: Math.min(IXC_DEFAULTS.hd_num_multi, hdNum),
    plora_rank: c.plora_rank ?? null,
  };
}

/** Reads `dir/config.json` as an IXC2.5 config; errors name the file. */
export async function loadIxcConfig(dir: string): Promise<IxcConfig> {
  const { file, json } = await readConfigJson(dir);
  return withConfigPath(file, () => parseIxcConfig(json));
}
