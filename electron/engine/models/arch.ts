// The one architecture table of the llava-hf family, keyed by model_type:
// per language model (llama, mistral, qwen2) and per vision tower (clip,
// siglip), the defaults transformers' config class fills in and the facts that
// shape the graph. config.ts validates and resolves with it, checkpoint-shapes.ts
// lists tensors from it, llava.ts builds graphs from it; a model type without
// an entry fails to compile. Values from transformers' LlamaConfig,
// MistralConfig, Qwen2Config, CLIPVisionConfig, SiglipVisionConfig, LlavaConfig.

export const TEXT_MODEL_TYPES = ['llama', 'mistral', 'qwen2'] as const;
export type TextModelType = (typeof TEXT_MODEL_TYPES)[number];
export const VISION_MODEL_TYPES = ['clip_vision_model', 'siglip_vision_model'] as const;
export type VisionModelType = (typeof VISION_MODEL_TYPES)[number];

export interface TextDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** null: same as num_attention_heads (multi-head attention). */
  num_key_value_heads: number | null;
  hidden_act: string;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
}

/** The config fields an architecture interprets its own way (biases and the attention window). */
export interface TextArchFields {
  attention_bias?: boolean | null;
  mlp_bias?: boolean | null;
  sliding_window?: number | null;
  use_sliding_window?: boolean | null;
}

export interface TextArch {
  defaults: TextDefaults;
  /** Whether llava.ts implements this architecture's window (masking keys too far behind in every layer). */
  windowSupported: boolean;
  /** Which linear layers carry a bias and the attention window in effect (null: full causal attention). */
  resolve(
    c: TextArchFields,
    raw: Record<string, unknown>,
  ): { qkvBias: boolean; oBias: boolean; mlpBias: boolean; window: number | null };
}

export const TEXT_ARCHS = {
  // Llama 2 / Vicuna (LLaVA-1.5): no biases unless attention_bias / mlp_bias say so; no window.
  llama: {
    defaults: {
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: null,
      hidden_act: 'silu',
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
    },
    windowSupported: true,
    resolve: (c) => ({
      qkvBias: c.attention_bias ?? false,
      oBias: c.attention_bias ?? false,
      mlpBias: c.mlp_bias ?? false,
      window: null,
    }),
  },
  // Mistral: the Llama block with GQA by default; a 4096-token window in every layer unless the field is present (null = none).
  mistral: {
    defaults: {
      vocab_size: 32000,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      hidden_act: 'silu',
      max_position_embeddings: 4096 * 32,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
    },
    windowSupported: true,
    resolve: (c, raw) => ({
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      window: 'sliding_window' in raw ? (c.sliding_window ?? null) : 4096,
    }),
  },
  // Qwen2: q/k/v always carry a bias (o does not); a window only with use_sliding_window, and then only
  // from layer max_window_layers on, which the graph does not implement.
  qwen2: {
    defaults: {
      vocab_size: 151936,
      hidden_size: 4096,
      intermediate_size: 22016,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      hidden_act: 'silu',
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
    },
    windowSupported: false,
    resolve: (c) => ({
      qkvBias: true,
      oBias: false,
      mlpBias: false,
      window: c.use_sliding_window ? (c.sliding_window ?? 4096) : null,
    }),
  },
} as const satisfies Record<TextModelType, TextArch>;

export interface VisionDefaults {
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_channels: number;
  image_size: number;
  patch_size: number;
  hidden_act: string;
  layer_norm_eps: number;
}

export interface VisionArch {
  defaults: VisionDefaults;
  /** A learned class token is prepended to the patches (one more position). */
  classToken: boolean;
  /** The patch-embedding Conv2d has a bias. */
  patchBias: boolean;
  /** A LayerNorm (`pre_layrnorm`, sic) runs between the embeddings and the encoder. */
  preNorm: boolean;
}

export const VISION_ARCHS = {
  // OpenAI CLIP ViT (LLaVA-1.5's tower): class token, bias-free patch conv, pre_layrnorm, quick_gelu.
  clip_vision_model: {
    defaults: {
      hidden_size: 768,
      intermediate_size: 3072,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      num_channels: 3,
      image_size: 224,
      patch_size: 32,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
    },
    classToken: true,
    patchBias: false,
    preNorm: true,
  },
  // SigLIP: no class token, patch conv with bias, no pre-norm, tanh GELU.
  siglip_vision_model: {
    defaults: {
      hidden_size: 768,
      intermediate_size: 3072,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      num_channels: 3,
      image_size: 224,
      patch_size: 16,
      hidden_act: 'gelu_pytorch_tanh',
      layer_norm_eps: 1e-6,
    },
    classToken: false,
    patchBias: true,
    preNorm: false,
  },
} as const satisfies Record<VisionModelType, VisionArch>;

/** LlavaConfig builds these when config.json has no vision_config / text_config at all (LLaVA-1.5's CLIP ViT-L/14-336, Llama). */
export const LLAVA_DEFAULT_VISION = {
  model_type: 'clip_vision_model',
  intermediate_size: 4096,
  hidden_size: 1024,
  patch_size: 14,
  image_size: 336,
  num_hidden_layers: 24,
  num_attention_heads: 16,
} as const;
export const LLAVA_DEFAULT_TEXT = { model_type: 'llama' } as const;

export const LLAVA_DEFAULTS = {
  /** llava-1.5-hf's `<image>` (the text vocabulary is padded to 32064). */
  image_token_index: 32000,
  /** "mlp2x_gelu": exact erf GELU between the two projector layers. */
  projector_hidden_act: 'gelu',
  /** Drop CLIP's class token from the features. */
  vision_feature_select_strategy: 'default',
  /** The second-to-last encoder layer, before post_layernorm. */
  vision_feature_layer: -2,
  multimodal_projector_bias: true,
} as const;

// ---- Model families: which config.json goes which way ----------------------

/** The families a model folder can belong to, recognised by config.json's `architectures` or `model_type`. */
export const MODEL_FAMILIES = {
  // llava-hf: LlavaForConditionalGeneration (a config without either field is taken as llava-hf, as before).
  llava: { architectures: ['LlavaForConditionalGeneration'], modelTypes: ['llava'] },
  // InternLM-XComposer-2.5 (HF remote code): InternLM2 decoder with Partial LoRA, CLIP ViT-L/14 at 560 px, HD crops.
  ixc: { architectures: ['InternLMXComposer2ForCausalLM'], modelTypes: ['internlmxcomposer2'] },
} as const;
export type ModelFamily = keyof typeof MODEL_FAMILIES;

/** What family a parsed config.json names, 'unknown' when it names another one, llava when it names none. */
export function familyOf(raw: unknown): ModelFamily | 'unknown' {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'llava';
  const r = raw as Record<string, unknown>;
  const archs = Array.isArray(r['architectures']) ? (r['architectures'] as unknown[]) : [];
  const type = r['model_type'];
  for (const [family, f] of Object.entries(MODEL_FAMILIES) as [ModelFamily, (typeof MODEL_FAMILIES)[ModelFamily]][]) {
    if (archs.some((a) => (f.architectures as readonly unknown[]).includes(a))) return family;
    if ((f.modelTypes as readonly unknown[]).includes(type)) return family;
  }
  return archs.length === 0 && (type === undefined || type === null) ? 'llava' : 'unknown';
}

/**
 * InternLMXcomposer2Config's defaults (the HF remote code's configuration class,
 * InternLM lineage), used for fields a config.json leaves out. The 7B release
 * writes its own values (V 92544, I 14336, 8 kv heads, theta 1e6, dynamic NTK).
 */
export const IXC_TEXT_DEFAULTS = {
  vocab_size: 103168,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  /** null: same as num_attention_heads. */
  num_key_value_heads: null,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  /** wqkv / wo carry a bias unless the config says otherwise. */
  bias: true,
  tie_word_embeddings: false,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 0,
} as const;

/**
 * The vision tower the remote code hard-codes when config.json has no
 * vision_config (internlm/internlm-xcomposer2d5-clip): OpenAI CLIP ViT-L/14 at 560 px.
 */
export const IXC_DEFAULT_VISION = {
  hidden_size: 1024,
  intermediate_size: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  num_channels: 3,
  image_size: 560,
  patch_size: 14,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
} as const satisfies VisionDefaults;

/** Hard-coded in the remote code: 2x2 token merging, Partial LoRA rank 256 (scale 1), hd_num 24 (one image) / 6 (several). */
export const IXC_DEFAULTS = {
  merge: 2,
  plora_rank: 256,
  hd_num: 24,
  hd_num_multi: 6,
  /** The extra mode adapters of the 2.5 PLoRA class, unused by chat ('base' mode). */
  mode_adapters: ['lora_sft', 'lora_dpo', 'lora_web'],
} as const;
