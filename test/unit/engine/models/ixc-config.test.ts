// InternLM-XComposer-2.5 config.json resolution: the release's config as
// published, the remote code's defaults for fields left out, dynamic NTK and
// linear rope scaling, the hard-coded ViT-L/14 at 560 px unless a
// vision_config block says otherwise, and bad or unsupported fields refused
// naming config.json and the field. Family dispatch: an IXC folder is
// recognised, a llava-hf one still goes its way, an unknown one is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { familyOf } from '../../../../electron/engine/models/arch';
import { loadLlavaConfig, parseLlavaConfig } from '../../../../electron/engine/models/config';
import { loadIxcConfig, parseIxcConfig } from '../../../../electron/engine/models/config-ixc';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ixc-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The fields internlm/internlm-xcomposer2d5-7b's config.json carries (InternLM2-7B lineage values). */
const IXC25_7B = {
  architectures: ['InternLMXComposer2ForCausalLM'],
  auto_map: { AutoConfig: 'configuration_internlm_xcomposer2.InternLMXcomposer2Config' },
  model_type: 'internlmxcomposer2',
  bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 4096,
  intermediate_size: 14336,
  max_length: 16384,
  max_position_embeddings: 24576,
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 2.0, type: 'dynamic' },
  rope_theta: 1000000,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  vocab_size: 92544,
};

const errorOf = (f: () => unknown): { kind: string; message: string; subject?: string } => {
  try {
    f();
  } catch (e) {
    return e as { kind: string; message: string; subject?: string };
  }
  throw new Error('expected an error');
};

describe('IXC2.5 config.json', () => {
  it('resolves the release config: GQA 32/8, head 128, dynamic NTK, ViT-L/14 at 560 px by default', () => {
    const c = parseIxcConfig(IXC25_7B);
    expect(c).toMatchObject({
      family: 'ixc',
      vocab_size: 92544,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 128,
      rms_norm_eps: 1e-5,
      rope_theta: 1e6,
      rope_scaling: { type: 'dynamic', factor: 2 },
      max_position_embeddings: 24576,
      bias: false,
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: [2],
      pad_token_id: 2,
      torch_dtype: 'bfloat16',
      max_length: 16384,
      merge: 2,
      hd_num: 24,
      hd_num_multi: 6,
      plora_rank: null,
      vision_from_config: false,
    });
    expect(c.vision_config).toEqual({
      model_type: 'clip_vision_model',
      hidden_size: 1024,
      intermediate_size: 4096,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      num_channels: 3,
      image_size: 560,
      patch_size: 14,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      grid: 40,
      merged_side: 20,
    });
  });

  it('fills left-out fields with InternLMXcomposer2Config defaults (bias on, MHA, no scaling)', () => {
    const c = parseIxcConfig({ architectures: ['InternLMXComposer2ForCausalLM'] });
    expect(c).toMatchObject({
      vocab_size: 103168,
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      rope_scaling: { type: 'none' },
      bias: true,
      tie_word_embeddings: false,
      torch_dtype: null,
      max_length: null,
    });
    // model_type alone is enough to recognise the family; null fields count as left out.
    expect(parseIxcConfig({ model_type: 'internlmxcomposer2', num_key_value_heads: null }).num_key_value_heads).toBe(
      32,
    );
  });

  it('honours a vision_config block, hd_num and plora_rank when present', () => {
    const c = parseIxcConfig({
      ...IXC25_7B,
      vision_config: { hidden_size: 64, num_attention_heads: 4, image_size: 112, patch_size: 14, num_hidden_layers: 3 },
      hd_num: 4,
      plora_rank: 16,
    });
    expect(c.vision_from_config).toBe(true);
    expect(c.vision_config).toMatchObject({
      hidden_size: 64,
      image_size: 112,
      grid: 8,
      merged_side: 4,
      intermediate_size: 4096,
    });
    expect(c).toMatchObject({ hd_num: 4, hd_num_multi: 4, plora_rank: 16 });
  });

  it('accepts linear scaling and rope_type spelling; plain default means none', () => {
    expect(parseIxcConfig({ ...IXC25_7B, rope_scaling: { rope_type: 'linear', factor: 4 } }).rope_scaling).toEqual({
      type: 'linear',
      factor: 4,
    });
    expect(parseIxcConfig({ ...IXC25_7B, rope_scaling: null }).rope_scaling).toEqual({ type: 'none' });
  });

  it.each<[Record<string, unknown>, string, string]>([
    [{ hidden_size: 'big' }, 'bad-input', 'config.json: hidden_size = "big" is invalid'],
    [
      { num_key_value_heads: 5 },
      'bad-input',
      'config.json: num_key_value_heads = 5 does not divide num_attention_heads = 32',
    ],
    [
      { hidden_size: 4001 },
      'bad-input',
      'config.json: hidden_size = 4001 is not a multiple of num_attention_heads = 32',
    ],
    [{ hidden_size: 4000 }, 'bad-input', 'config.json: hidden_size = 4000 gives an odd head size 125'],
    [
      { rope_scaling: { type: 'yarn', factor: 2 } },
      'unsupported',
      'config.json: rope_scaling.type = "yarn" is not supported',
    ],
    [
      { rope_scaling: { type: 'dynamic' } },
      'bad-input',
      'config.json: rope_scaling.factor = undefined is required for dynamic',
    ],
    [{ rms_norm_eps: -1 }, 'bad-input', 'config.json: rms_norm_eps = -1 is invalid'],
    [{ hidden_act: 'gelu' }, 'unsupported', 'config.json: hidden_act = "gelu" is not supported; supported: silu'],
    [{ torch_dtype: 'int8' }, 'bad-input', 'config.json: torch_dtype = "int8" is invalid'],
    [
      { eos_token_id: 99999 },
      'bad-input',
      'config.json: eos_token_id = 99999 is outside the vocabulary (vocab_size = 92544)',
    ],
    [
      { vision_config: { image_size: 100 } },
      'bad-input',
      'config.json: vision_config.image_size = 100 is not a multiple of patch_size = 14',
    ],
    [
      { vision_config: { image_size: 42 } },
      'bad-input',
      'config.json: vision_config.image_size = 42 gives 3 patches per side',
    ],
    [{ vision_config: { patch_size: 0 } }, 'bad-input', 'config.json: vision_config.patch_size = 0 is invalid'],
  ])('refuses %j naming the field', (edit, kind, message) => {
    const e = errorOf(() => parseIxcConfig({ ...IXC25_7B, ...edit }));
    expect(e.kind).toBe(kind);
    expect(e.message).toContain(message);
  });

  it('names the file when loading from a folder', async () => {
    const dir = path.join(tmp, 'bad');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...IXC25_7B, num_hidden_layers: 0 }));
    await expect(loadIxcConfig(dir)).rejects.toThrow(
      `${path.join(dir, 'config.json')}: num_hidden_layers = 0 is invalid`,
    );
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(IXC25_7B));
    expect((await loadIxcConfig(dir)).num_key_value_heads).toBe(8);
  });
});

describe('model families', () => {
  it('recognises IXC2.5 by architectures or model_type, llava-hf as before, and flags the rest', () => {
    expect(familyOf(IXC25_7B)).toBe('ixc');
    expect(familyOf({ model_type: 'internlmxcomposer2' })).toBe('ixc');
    expect(familyOf({ architectures: ['LlavaForConditionalGeneration'], model_type: 'llava' })).toBe('llava');
    expect(familyOf({ text_config: {} })).toBe('llava');
    expect(familyOf({ architectures: ['Qwen2VLForConditionalGeneration'], model_type: 'qwen2_vl' })).toBe('unknown');
  });

  it('the llava path refuses an IXC folder as not runnable yet and an unknown one naming what is supported', async () => {
    const ixc = errorOf(() => parseLlavaConfig(IXC25_7B));
    expect(ixc.kind).toBe('unsupported');
    expect(ixc.message).toContain(
      'InternLM-XComposer-2.5 (InternLMXComposer2ForCausalLM) folders can be loaded and inspected',
    );
    const other = errorOf(() => parseLlavaConfig({ architectures: ['Qwen2VLForConditionalGeneration'] }));
    expect(other.kind).toBe('unsupported');
    expect(other.message).toContain(
      'config.json: architectures = ["Qwen2VLForConditionalGeneration"] is not supported',
    );
    expect(other.message).toContain('LlavaForConditionalGeneration (model_type llava); InternLMXComposer2ForCausalLM');
    expect(errorOf(() => parseIxcConfig({ model_type: 'qwen2_vl' })).message).toContain(
      'config.json: model_type = "qwen2_vl" is not supported',
    );
    const dir = path.join(tmp, 'unknown');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'qwen2_vl' }));
    await expect(loadLlavaConfig(dir)).rejects.toThrow(
      `${path.join(dir, 'config.json')}: model_type = "qwen2_vl" is not supported`,
    );
  });
});
