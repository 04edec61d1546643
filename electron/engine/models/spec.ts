// The architecture facts the graph builders need, resolved from a llava-hf
// config.json: every default filled, negative indices resolved, unsupported
// values refused with the field and value named.
import { AppError } from '../../../shared/errors';

export const VISION_MODEL_TYPES = ['clip_vision_model', 'siglip_vision_model'] as const;
export type VisionModelType = (typeof VISION_MODEL_TYPES)[number];
export const TEXT_MODEL_TYPES = ['llama', 'mistral', 'qwen2'] as const;
export type TextModelType = (typeof TEXT_MODEL_TYPES)[number];

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

type Json = Record<string, unknown>;

function field<T>(obj: Json, key: string, path: string, kind: 'number' | 'string' | 'boolean', fallback?: T): T {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new AppError('bad-input', `config field ${path}${key} is missing`, { subject: `${path}${key}` });
  }
  if (typeof v !== kind) throw new AppError('bad-input', `config field ${path}${key} = ${JSON.stringify(v)} is not a ${kind}`, { subject: `${path}${key}` });
  return v as T;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], path: string): T {
  if (!(allowed as readonly string[]).includes(v)) {
    throw new AppError('unsupported', `${path} = "${v}" is not supported; supported: ${allowed.join(', ')}`, { subject: path });
  }
  return v as T;
}

function visionSpec(c: Json): VisionSpec {
  const p = 'vision_config.';
  const modelType = oneOf(field(c, 'model_type', p, 'string', 'clip_vision_model'), VISION_MODEL_TYPES, `${p}model_type`);
  const clip = modelType === 'clip_vision_model';
  return {
    modelType,
    hiddenSize: field(c, 'hidden_size', p, 'number', clip ? 768 : 768),
    intermediateSize: field(c, 'intermediate_size', p, 'number', 3072),
    numLayers: field(c, 'num_hidden_layers', p, 'number', 12),
    numHeads: field(c, 'num_attention_heads', p, 'number', 12),
    imageSize: field(c, 'image_size', p, 'number', clip ? 224 : 224),
    patchSize: field(c, 'patch_size', p, 'number', clip ? 32 : 16),
    layerNormEps: field(c, 'layer_norm_eps', p, 'number', clip ? 1e-5 : 1e-6),
    hiddenAct: field(c, 'hidden_act', p, 'string', clip ? 'quick_gelu' : 'gelu_pytorch_tanh'),
  };
}

function ropeScale(c: Json): number {
  const s = c['rope_scaling'] as Json | null | undefined;
  if (!s) return 1;
  const type = String(s['rope_type'] ?? s['type']);
  if (type === 'default') return 1;
  oneOf(type, ['linear'] as const, 'text_config.rope_scaling.rope_type');
  return field(s, 'factor', 'text_config.rope_scaling.', 'number');
}

function textSpec(c: Json, top: Json): TextSpec {
  const p = 'text_config.';
  const modelType = oneOf(field(c, 'model_type', p, 'string', 'llama'), TEXT_MODEL_TYPES, `${p}model_type`);
  const hiddenSize = field<number>(c, 'hidden_size', p, 'number', 4096);
  const numHeads = field<number>(c, 'num_attention_heads', p, 'number', 32);
  const tie = (c['tie_word_embeddings'] ?? top['tie_word_embeddings'] ?? false) as boolean;
  return {
    modelType,
    hiddenSize,
    intermediateSize: field(c, 'intermediate_size', p, 'number', 11008),
    numLayers: field(c, 'num_hidden_layers', p, 'number', 32),
    numHeads,
    numKvHeads: field(c, 'num_key_value_heads', p, 'number', numHeads),
    headDim: field(c, 'head_dim', p, 'number', hiddenSize / numHeads),
    vocabSize: field(c, 'vocab_size', p, 'number', 32000),
    rmsNormEps: field(c, 'rms_norm_eps', p, 'number', 1e-6),
    ropeTheta: field(c, 'rope_theta', p, 'number', 10000),
    ropePositionScale: ropeScale(c),
    maxPositions: field(c, 'max_position_embeddings', p, 'number', 4096),
    tieWordEmbeddings: tie,
  };
}

/** Resolves a parsed llava-hf config.json into the builders' spec. */
export function llavaSpec(config: unknown): LlavaSpec {
  if (typeof config !== 'object' || config === null) throw new AppError('bad-input', 'config.json is not a JSON object');
  const c = config as Json;
  const vision = visionSpec((c['vision_config'] ?? {}) as Json);
  const text = textSpec((c['text_config'] ?? {}) as Json, c);
  if (text.numHeads % text.numKvHeads !== 0) {
    throw new AppError('bad-input', `text_config.num_attention_heads = ${text.numHeads} is not a multiple of num_key_value_heads = ${text.numKvHeads}`);
  }
  const rawLayer = c['vision_feature_layer'] ?? -2;
  const layers = (Array.isArray(rawLayer) ? rawLayer : [rawLayer]) as unknown[];
  const n = vision.numLayers;
  const featureLayers = layers.map((l) => {
    if (typeof l !== 'number' || !Number.isInteger(l) || l < -(n + 1) || l > n) {
      throw new AppError('bad-input', `vision_feature_layer = ${JSON.stringify(rawLayer)} is out of range for ${n} vision layers`, { subject: 'vision_feature_layer' });
    }
    return l < 0 ? n + 1 + l : l;
  });
  const selectStrategy = oneOf(field(c, 'vision_feature_select_strategy', '', 'string', 'default'), ['default', 'full'] as const, 'vision_feature_select_strategy');
  const grid = vision.imageSize / vision.patchSize;
  const positions = grid * grid + (vision.modelType === 'clip_vision_model' ? 1 : 0);
  return {
    vision,
    text,
    imageTokenId: (c['image_token_index'] ?? c['image_token_id'] ?? 32000) as number,
    featureLayers,
    selectStrategy,
    projectorAct: field(c, 'projector_hidden_act', '', 'string', 'gelu'),
    tokensPerImage: selectStrategy === 'default' ? positions - 1 : positions,
  };
}
