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
