// Writes a tiny random-weight InternLM-XComposer-2.5 folder with the official
// tensor names (the HF remote code's module tree) and shapes, for the tests
// of everything IXC: config.json as the release writes it (plus a small
// vision_config, since the remote code's ViT-L/14 at 560 px is too large for a
// fixture), safetensors single or sharded, fp32 / fp16 / bf16, optionally the
// three mode adapters. Shapes are written out here independently of the
// engine's shape table (checkpoint-ixc-shapes.ts), so tests of that table
// compare against a second source. Weights are seeded: a run reproduces.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TensorsToWrite } from '../weights/writer';
import { writeSafetensors, writeShardedSafetensors } from '../weights/writer';
import { drawTensor, gaussian, type RandomTensor } from './random-checkpoint';

export interface RandomIxcOptions {
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Split the weights into shards of at most this many bytes (with model.safetensors.index.json). */
  shardBytes?: number;
  /** Write the lora_sft / lora_dpo / lora_web tensors the 2.5 PLoRA class holds. */
  modeAdapters?: boolean;
  /** wqkv / wo biases (config `bias`; the release has none). */
  bias?: boolean;
  textLayers?: number;
  visionLayers?: number;
  vocab?: number;
  /** Partial LoRA rank (256 in the release); not written to config.json, the loader reads it from Plora_A. */
  rank?: number;
  /** config.json's rope_scaling (default dynamic NTK, factor 2, as the release). */
  ropeScaling?: { type: string; factor?: number } | null;
  maxPositions?: number;
  seed?: number;
  /** Write every Plora_B as zeros (PLoRA then adds nothing; the other tensors are drawn as without it). */
  zeroPloraB?: boolean;
  /** Extra or overriding config.json fields (tests of bad configs). */
  config?: Record<string, unknown>;
}

export const RANDOM_IXC = {
  hidden: 32,
  heads: 4,
  kvHeads: 2,
  headDim: 8,
  inter: 48,
  vHidden: 16,
  vHeads: 2,
  vInter: 32,
  /** 4x4 patches per crop, 2x2 tokens after the merge. */
  image: 56,
  patch: 14,
  rank: 8,
  vocab: 1024,
};

export interface RandomIxc {
  dir: string;
  config: Record<string, unknown>;
  /** By official name, including mode adapters when written. */
  tensors: Map<string, RandomTensor>;
}

export function randomIxcConfig(o: RandomIxcOptions = {}): Record<string, unknown> {
  const t = RANDOM_IXC;
  return {
    architectures: ['InternLMXComposer2ForCausalLM'],
    auto_map: {
      AutoConfig: 'configuration_internlm_xcomposer2.InternLMXcomposer2Config',
      AutoModel: 'modeling_internlm_xcomposer2.InternLMXComposer2ForCausalLM',
      AutoModelForCausalLM: 'modeling_internlm_xcomposer2.InternLMXComposer2ForCausalLM',
    },
    model_type: 'internlmxcomposer2',
    bias: o.bias ?? false,
    bos_token_id: 1,
    eos_token_id: 2,
    pad_token_id: 2,
    hidden_act: 'silu',
    hidden_size: t.hidden,
    intermediate_size: t.inter,
    initializer_range: 0.02,
    max_length: 16384,
    max_position_embeddings: o.maxPositions ?? 64,
    num_attention_heads: t.heads,
    num_hidden_layers: o.textLayers ?? 2,
    num_key_value_heads: t.kvHeads,
    rms_norm_eps: 1e-5,
    rope_scaling: o.ropeScaling === undefined ? { factor: 2.0, type: 'dynamic' } : o.ropeScaling,
    rope_theta: 1000000,
    tie_word_embeddings: false,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[o.dtype ?? 'F32'],
    use_cache: false,
    vocab_size: o.vocab ?? t.vocab,
    vision_config: {
      hidden_size: t.vHidden,
      intermediate_size: t.vInter,
      num_hidden_layers: o.visionLayers ?? 2,
      num_attention_heads: t.vHeads,
      image_size: t.image,
      patch_size: t.patch,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
    },
    ...o.config,
  };
}

/** Official name -> shape, following the remote code's modules (InternLM2 + PLoRA, CLIP under vit., vision_proj). */
export function randomIxcShapes(o: RandomIxcOptions = {}): Map<string, number[]> {
  const t = RANDOM_IXC;
  const r = o.rank ?? t.rank;
  const vocab = o.vocab ?? t.vocab;
  const s = new Map<string, number[]>();
  s.set('model.tok_embeddings.weight', [vocab, t.hidden]);
  s.set('model.norm.weight', [t.hidden]);
  s.set('output.weight', [vocab, t.hidden]);
  const linear = (name: string, out: number, inp: number, bias: boolean): void => {
    s.set(`${name}.weight`, [out, inp]);
    if (bias) s.set(`${name}.bias`, [out]);
    s.set(`${name}.Plora_A.weight`, [r, inp]);
    s.set(`${name}.Plora_B.weight`, [out, r]);
    if (o.modeAdapters) {
      // The 2.5 PLoRA class: sft and dpo adapters of the same rank, the web one of twice it (256 / 256 / 512).
      for (const [mode, rank] of [
        ['sft', r],
        ['dpo', r],
        ['web', 2 * r],
      ] as const) {
        s.set(`${name}.lora_${mode}_A.weight`, [rank, inp]);
        s.set(`${name}.lora_${mode}_B.weight`, [out, rank]);
      }
    }
  };
  for (let i = 0; i < (o.textLayers ?? 2); i++) {
    const p = `model.layers.${i}.`;
    s.set(`${p}attention_norm.weight`, [t.hidden]);
    s.set(`${p}ffn_norm.weight`, [t.hidden]);
    linear(`${p}attention.wqkv`, (t.heads + 2 * t.kvHeads) * t.headDim, t.hidden, o.bias ?? false);
    linear(`${p}attention.wo`, t.hidden, t.heads * t.headDim, o.bias ?? false);
    linear(`${p}feed_forward.w1`, t.inter, t.hidden, false);
    linear(`${p}feed_forward.w3`, t.inter, t.hidden, false);
    linear(`${p}feed_forward.w2`, t.hidden, t.inter, false);
  }
  const v = 'vit.vision_tower.vision_model.';
  s.set(`${v}embeddings.class_embedding`, [t.vHidden]);
  s.set(`${v}embeddings.patch_embedding.weight`, [t.vHidden, 3, t.patch, t.patch]);
  s.set(`${v}embeddings.position_embedding.weight`, [(t.image / t.patch) ** 2 + 1, t.vHidden]);
  for (const n of ['pre_layrnorm', 'post_layernorm']) {
    s.set(`${v}${n}.weight`, [t.vHidden]);
    s.set(`${v}${n}.bias`, [t.vHidden]);
  }
  for (let i = 0; i < (o.visionLayers ?? 2); i++) {
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
  const merged = 4 * t.vHidden;
  s.set('vision_proj.0.weight', [t.hidden, merged]);
  s.set('vision_proj.0.bias', [t.hidden]);
  s.set('vision_proj.2.weight', [t.hidden, t.hidden]);
  s.set('vision_proj.2.bias', [t.hidden]);
  s.set('plora_glb_GN', [1, 1, merged]);
  s.set('plora_sub_GN', [1, 1, 1, merged]);
  return s;
}

/** The seeded random tensors by official name, with their stored bytes. */
export function randomIxcTensors(o: RandomIxcOptions = {}): Map<string, RandomTensor & { bytes: Uint8Array }> {
  const rnd = gaussian(o.seed ?? 1);
  const out = new Map<string, RandomTensor & { bytes: Uint8Array }>();
  for (const [name, shape] of randomIxcShapes(o)) {
    const t = drawTensor(name, shape, o.dtype ?? 'F32', rnd);
    // Zero is all-zero bytes in F32, F16 and BF16.
    const zero = o.zeroPloraB === true && name.endsWith('.Plora_B.weight');
    out.set(name, zero ? { shape, values: t.values.fill(0), bytes: t.bytes.fill(0) } : { shape, ...t });
  }
  return out;
}

/** Writes a random-weight IXC2.5 folder (a fresh temp dir unless `dir` is given). */
export async function writeRandomIxc(o: RandomIxcOptions = {}, dir?: string): Promise<RandomIxc> {
  const out = dir ?? mkdtempSync(path.join(tmpdir(), 'random-ixc-'));
  mkdirSync(out, { recursive: true });
  const dtype = o.dtype ?? 'F32';
  const toWrite: TensorsToWrite = {};
  const tensors = new Map<string, RandomTensor>();
  for (const [name, { shape, values, bytes }] of randomIxcTensors(o)) {
    tensors.set(name, { shape, values });
    toWrite[name] = { dtype, shape, data: bytes };
  }
  if (o.shardBytes !== undefined) await writeShardedSafetensors(out, toWrite, o.shardBytes);
  else await writeSafetensors(path.join(out, 'model.safetensors'), toWrite, { format: 'pt' });
  const config = randomIxcConfig(o);
  writeFileSync(path.join(out, 'config.json'), JSON.stringify(config, null, 2));
  return { dir: out, config, tensors };
}
