// Hugging Face's defaults for the config classes a llava-hf checkpoint may
// name, per model_type, so a config that omits a field (llava-1.5-hf's
// text_config omits most) resolves exactly as transformers resolves it.
// Values from transformers' LlamaConfig, MistralConfig, Qwen2Config,
// CLIPVisionConfig, SiglipVisionConfig and LlavaConfig.

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
  /** Mistral's window when the field is absent; Llama has none; Qwen2's depends on use_sliding_window (see config.ts). */
  sliding_window: number | null;
}

export const TEXT_DEFAULTS = {
  llama: {
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
    sliding_window: null,
  },
  mistral: {
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
    sliding_window: 4096,
  },
  qwen2: {
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
    sliding_window: null,
  },
} as const satisfies Record<TextModelType, TextDefaults>;

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

export const VISION_DEFAULTS = {
  clip_vision_model: {
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
  siglip_vision_model: {
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
} as const satisfies Record<VisionModelType, VisionDefaults>;

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
  image_token_index: 32000,
  projector_hidden_act: 'gelu',
  vision_feature_select_strategy: 'default',
  vision_feature_layer: -2,
  multimodal_projector_bias: true,
} as const;
