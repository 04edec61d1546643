// The architecture facts the graph builders need, derived from the validated
// llava-hf config (config.ts resolves defaults and refuses unsupported
// values): feature-layer indices resolved and tokens per image computed.
import { featureLayerIndices, type LlavaConfig } from './config';
import type { TextModelType, VisionModelType } from './config-defaults';

export type { TextModelType, VisionModelType };

export interface VisionSpec {
  modelType: VisionModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  imageSize: number;
  patchSize: number;
  layerNormEps: number;
  hiddenAct: string;
}

export interface TextSpec {
  modelType: TextModelType;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Linear rope scaling divides positions by this (1 = none). */
  ropePositionScale: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  hiddenAct: string;
}

export interface LlavaSpec {
  vision: VisionSpec;
  text: TextSpec;
  imageTokenId: number;
  /** Indices into the vision hidden-states list (0 = embeddings), negative ones resolved. */
  featureLayers: number[];
  selectStrategy: 'default' | 'full';
  projectorAct: string;
  /** Feature tokens one image contributes to the text sequence. */
  tokensPerImage: number;
}

export function llavaSpec(c: LlavaConfig): LlavaSpec {
  const v = c.vision_config;
  const t = c.text_config;
  const vision: VisionSpec = {
    modelType: v.model_type,
    hiddenSize: v.hidden_size,
    intermediateSize: v.intermediate_size,
    numLayers: v.num_hidden_layers,
    numHeads: v.num_attention_heads,
    imageSize: v.image_size,
    patchSize: v.patch_size,
    layerNormEps: v.layer_norm_eps,
    hiddenAct: v.hidden_act,
  };
  const text: TextSpec = {
    modelType: t.model_type,
    hiddenSize: t.hidden_size,
    intermediateSize: t.intermediate_size,
    numLayers: t.num_hidden_layers,
    numHeads: t.num_attention_heads,
    numKvHeads: t.num_key_value_heads,
    headDim: t.head_dim,
    vocabSize: t.vocab_size,
    rmsNormEps: t.rms_norm_eps,
    ropeTheta: t.rope_theta,
    ropePositionScale: t.rope_linear_factor,
    maxPositions: t.max_position_embeddings,
    tieWordEmbeddings: t.tie_word_embeddings,
    hiddenAct: t.hidden_act,
  };
  const grid = v.image_size / v.patch_size;
  const positions = grid * grid + (v.model_type === 'clip_vision_model' ? 1 : 0);
  return {
    vision,
    text,
    imageTokenId: c.image_token_index,
    featureLayers: featureLayerIndices(c),
    selectStrategy: c.vision_feature_select_strategy,
    projectorAct: c.projector_hidden_act,
    tokensPerImage: c.vision_feature_select_strategy === 'default' ? positions - 1 : positions,
  };
}
