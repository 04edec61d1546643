// A llava-hf config.json validated with zod and resolved as transformers
// resolves it: missing or null fields take the defaults of their model_type's
// config class (the architecture table, arch.ts); unsupported architectures
// and bad values are refused naming the field and the value.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import {
  LLAVA_DEFAULTS,
  LLAVA_DEFAULT_TEXT,
  LLAVA_DEFAULT_VISION,
  TEXT_ARCHS,
  TEXT_MODEL_TYPES,
  VISION_ARCHS,
  VISION_MODEL_TYPES,
  familyOf,
  MODEL_FAMILIES,
  type TextModelType,
  type VisionDefaults,
  type VisionModelType,
} from './arch';

const count = z.number().int().positive();
const real = z.number().positive();
const opt = <T extends z.ZodType>(t: T) => t.nullish();

const textSchema = z.looseObject({
  vocab_size: opt(count),
  hidden_size: opt(count),
  intermediate_size: opt(count),
  num_hidden_layers: opt(count),
  num_attention_heads: opt(count),
  num_key_value_heads: opt(count),
  head_dim: opt(count),
  hidden_act: opt(z.string()),
  max_position_embeddings: opt(count),
  rms_norm_eps: opt(real),
  rope_theta: opt(real),
  rope_scaling: opt(z.looseObject({ type: opt(z.string()), rope_type: opt(z.string()), factor: opt(real) })),
  tie_word_embeddings: opt(z.boolean()),
  attention_bias: opt(z.boolean()),
  mlp_bias: opt(z.boolean()),
  sliding_window: opt(count),
  use_sliding_window: opt(z.boolean()),
});

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

const llavaSchema = z.looseObject({
  image_token_index: opt(z.number().int().nonnegative()),
  image_token_id: opt(z.number().int().nonnegative()),
  projector_hidden_act: opt(z.string()),
  vision_feature_select_strategy: opt(z.enum(['default', 'full'])),
  vision_feature_layer: opt(z.union([z.number().int(), z.array(z.number().int()).min(1)])),
  multimodal_projector_bias: opt(z.boolean()),
  text_config: opt(z.looseObject({})),
  vision_config: opt(z.looseObject({})),
});

export interface TextConfig {
  model_type: TextModelType;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  hidden_act: string;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** Linear rope scaling divides positions by this; 1 = none. */
  rope_linear_factor: number;
  tie_word_embeddings: boolean;
  /** Biases on q/k/v and on o, as the architecture and config decide. */
  qkv_bias: boolean;
  o_bias: boolean;
  /** Biases on gate/up/down (Llama's mlp_bias). */
  mlp_bias: boolean;
  /** The attention window in effect, or null for full causal attention (narrower than the context: Mistral only). */
  sliding_window: number | null;
}

/** A resolved vision_config: the architecture's fields (arch.ts) with their defaults applied. */
export interface VisionConfig extends VisionDefaults {
  model_type: VisionModelType;
}

export interface LlavaConfig {
  text_config: TextConfig;
  vision_config: VisionConfig;
  image_token_index: number;
  projector_hidden_act: string;
  vision_feature_select_strategy: 'default' | 'full';
  /** As written (negative indices count from the end of the num_layers + 1 hidden states). */
  vision_feature_layer: number | number[];
  multimodal_projector_bias: boolean;
}

export const bad = (field: string, value: unknown, why: string): AppError =>
  new AppError('bad-input', `config.json: ${field} = ${JSON.stringify(value)} ${why}`, { subject: field });

function valueAt(obj: unknown, keys: readonly PropertyKey[]): unknown {
  let v = obj;
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function modelType<T extends string>(raw: unknown, fallback: T, allowed: readonly T[], field: string): T {
  const v = raw ?? fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new AppError(
      'unsupported',
      `config.json: ${field} = ${JSON.stringify(v)} is not supported; supported: ${allowed.join(', ')}`,
      { subject: field },
    );
  }
  return v as T;
}

function resolveText(raw: Record<string, unknown>): TextConfig {
  const type = modelType(raw['model_type'], 'llama', TEXT_MODEL_TYPES, 'text_config.model_type');
  const c = parseWithSync(textSchema, raw, 'text_config.');
  const d = TEXT_ARCHS[type].defaults;
  const heads = c.num_attention_heads ?? d.num_attention_heads;
  const hidden = c.hidden_size ?? d.hidden_size;
  const kv = c.num_key_value_heads ?? d.num_key_value_heads ?? heads;
  if (heads % kv !== 0)
    throw bad('text_config.num_key_value_heads', kv, `does not divide num_attention_heads = ${heads}`);
  if (c.head_dim == null && hidden % heads !== 0)
    throw bad('text_config.hidden_size', hidden, `is not a multiple of num_attention_heads = ${heads}`);
  const scaling = c.rope_scaling;
  const ropeType = scaling ? (scaling.rope_type ?? scaling.type ?? 'default') : 'default';
  if (ropeType !== 'default' && ropeType !== 'linear') {
    throw new AppError(
      'unsupported',
      `config.json: text_config.rope_scaling.rope_type = "${ropeType}" is not supported; supported: linear`,
      { subject: 'text_config.rope_scaling' },
    );
  }
  if (ropeType === 'linear' && scaling?.factor == null)
    throw bad('text_config.rope_scaling.factor', scaling?.factor, 'is required for linear scaling');
  const arch = TEXT_ARCHS[type].resolve(c, raw);
  const maxPositions = c.max_position_embeddings ?? d.max_position_embeddings;
  if (arch.window !== null && arch.window < maxPositions && !TEXT_ARCHS[type].windowSupported) {
    // Refuse rather than attend further back than the model was trained to.
    throw new AppError(
      'unsupported',
      `config.json: text_config.sliding_window = ${arch.window} is below max_position_embeddings = ${maxPositions}; sliding-window attention is not supported for ${type}`,
      { subject: 'text_config.sliding_window' },
    );
  }
  return {
    model_type: type,
    vocab_size: c.vocab_size ?? d.vocab_size,
    hidden_size: hidden,
    intermediate_size: c.intermediate_size ?? d.intermediate_size,
    num_hidden_layers: c.num_hidden_layers ?? d.num_hidden_layers,
    num_attention_heads: heads,
    num_key_value_heads: kv,
    head_dim: c.head_dim ?? hidden / heads,
    hidden_act: c.hidden_act ?? d.hidden_act,
    max_position_embeddings: maxPositions,
    rms_norm_eps: c.rms_norm_eps ?? d.rms_norm_eps,
    rope_theta: c.rope_theta ?? d.rope_theta,
    rope_linear_factor: ropeType === 'linear' ? (scaling?.factor as number) : 1,
    // transformers ties by the text config alone (get_text_config()), never by LlavaConfig's own field.
    tie_word_embeddings: c.tie_word_embeddings ?? d.tie_word_embeddings,
    qkv_bias: arch.qkvBias,
    o_bias: arch.oBias,
    mlp_bias: arch.mlpBias,
    sliding_window: arch.window,
  };
}

function resolveVision(raw: Record<string, unknown>): VisionConfig {
  const type = modelType(raw['model_type'], 'clip_vision_model', VISION_MODEL_TYPES, 'vision_config.model_type');
  const c = parseWithSync(visionSchema, raw, 'vision_config.');
  const d = VISION_ARCHS[type].defaults;
  const v: VisionConfig = {
    model_type: type,
    hidden_size: c.hidden_size ?? d.hidden_size,
    intermediate_size: c.intermediate_size ?? d.intermediate_size,
    num_hidden_layers: c.num_hidden_layers ?? d.num_hidden_layers,
    num_attention_heads: c.num_attention_heads ?? d.num_attention_heads,
    num_channels: c.num_channels ?? d.num_channels,
    image_size: c.image_size ?? d.image_size,
    patch_size: c.patch_size ?? d.patch_size,
    hidden_act: c.hidden_act ?? d.hidden_act,
    layer_norm_eps: c.layer_norm_eps ?? d.layer_norm_eps,
  };
  if (v.image_size % v.patch_size !== 0)
    throw bad('vision_config.image_size', v.image_size, `is not a multiple of patch_size = ${v.patch_size}`);
  if (v.hidden_size % v.num_attention_heads !== 0)
    throw bad(
      'vision_config.hidden_size',
      v.hidden_size,
      `is not a multiple of num_attention_heads = ${v.num_attention_heads}`,
    );
  return v;
}

export function parseWithSync<T extends z.ZodType>(schema: T, raw: unknown, prefix: string): z.infer<T> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  const field = prefix + issue.path.map(String).join('.');
  throw bad(field.replace(/\.$/, ''), valueAt(raw, issue.path), `is invalid: ${issue.message}`);
}

/** The refusal for a config.json of a family this version cannot run, naming what it says and what is supported. */
export function unsupportedFamily(raw: Record<string, unknown>): AppError {
  const said =
    raw['architectures'] !== undefined
      ? `architectures = ${JSON.stringify(raw['architectures'])}`
      : `model_type = ${JSON.stringify(raw['model_type'])}`;
  const supported = Object.values(MODEL_FAMILIES)
    .map((f) => `${f.architectures.join(', ')} (model_type ${f.modelTypes.join(', ')})`)
    .join('; ');
  return new AppError('unsupported', `config.json: ${said} is not supported; supported: ${supported}`, {
    subject: raw['architectures'] !== undefined ? 'architectures' : 'model_type',
  });
}

/** Validates and resolves a parsed config.json. */
export function parseLlavaConfig(raw: unknown): LlavaConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new AppError('bad-input', 'config.json: not a JSON object');
  const family = familyOf(raw);
  if (family === 'unknown') throw unsupportedFamily(raw as Record<string, unknown>);
  if (family === 'ixc') {
    throw new AppError(
      'unsupported',
      'config.json: InternLM-XComposer-2.5 (InternLMXComposer2ForCausalLM) folders can be loaded and inspected (`model inspect`) but not run yet',
      { subject: 'architectures' },
    );
  }
  const c = parseWithSync(llavaSchema, raw, '');
  const vision = resolveVision((c.vision_config ?? LLAVA_DEFAULT_VISION) as Record<string, unknown>);
  const text = resolveText((c.text_config ?? LLAVA_DEFAULT_TEXT) as Record<string, unknown>);
  const layer = c.vision_feature_layer ?? LLAVA_DEFAULTS.vision_feature_layer;
  const n = vision.num_hidden_layers;
  for (const l of Array.isArray(layer) ? layer : [layer]) {
    if (l < -(n + 1) || l > n)
      throw bad('vision_feature_layer', layer, `is out of range for ${n} vision layers (${n + 1} hidden states)`);
  }
  return {
    text_config: text,
    vision_config: vision,
    image_token_index: c.image_token_index ?? c.image_token_id ?? LLAVA_DEFAULTS.image_token_index,
    projector_hidden_act: c.projector_hidden_act ?? LLAVA_DEFAULTS.projector_hidden_act,
    vision_feature_select_strategy: c.vision_feature_select_strategy ?? LLAVA_DEFAULTS.vision_feature_select_strategy,
    vision_feature_layer: layer,
    multimodal_projector_bias: c.multimodal_projector_bias ?? LLAVA_DEFAULTS.multimodal_projector_bias,
  };
}

/** The vision feature layers as indices into the hidden-states list (0 = embeddings). */
export function featureLayerIndices(c: LlavaConfig): number[] {
  const n = c.vision_config.num_hidden_layers;
  return (Array.isArray(c.vision_feature_layer) ? c.vision_feature_layer : [c.vision_feature_layer]).map((l) =>
    l < 0 ? n + 1 + l : l,
  );
}

/** Reads and parses `dir/config.json` as JSON; errors name the file. */
export async function readConfigJson(dir: string): Promise<{ file: string; json: unknown }> {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('not-found', `${file}: cannot read the model config (${(e as Error).message})`, {
      subject: file,
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AppError('bad-file', `${file}: not valid JSON (${(e as Error).message})`, { subject: file, cause: e });
  }
  return { file, json };
}

/** Runs `parse` on the parsed JSON; its "config.json:" errors are re-thrown naming the full path. */
export function withConfigPath<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof AppError)
      throw new AppError(e.kind, e.message.replace(/^config\.json:/, `${file}:`), { subject: e.subject, cause: e });
    throw e;
  }
}

/** Reads `dir/config.json`; errors name the file. */
export async function loadLlavaConfig(dir: string): Promise<LlavaConfig> {
  const { file, json } = await readConfigJson(dir);
  return withConfigPath(file, () => parseLlavaConfig(json));
}
