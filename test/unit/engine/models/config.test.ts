// config.json resolution: HF defaults per model_type (checked against the
// values transformers' config classes document), unsupported architectures
// and invalid values refused naming field and value; generation_config.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { featureLayerIndices, loadLlavaConfig, parseLlavaConfig } from '../../../../electron/engine/models/config';
import { loadGenerationConfig, parseGenerationConfig } from '../../../../electron/engine/models/config-generation';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'llava-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** llava-hf/llava-1.5-7b-hf's config.json as published (text_config omits most fields). */
const LLAVA_15 = {
  architectures: ['LlavaForConditionalGeneration'],
  ignore_index: -100,
  image_token_index: 32000,
  model_type: 'llava',
  pad_token_id: 32001,
  projector_hidden_act: 'gelu',
  text_config: {
    _name_or_path: 'lmsys/vicuna-7b-v1.5',
    architectures: ['LlamaForCausalLM'],
    max_position_embeddings: 4096,
    model_type: 'llama',
    rms_norm_eps: 1e-5,
    torch_dtype: 'float16',
    vocab_size: 32064,
  },
  tie_word_embeddings: false,
  torch_dtype: 'float16',
  transformers_version: '4.36.0.dev0',
  vision_config: {
    hidden_size: 1024,
    image_size: 336,
    intermediate_size: 4096,
    model_type: 'clip_vision_model',
    num_attention_heads: 16,
    num_hidden_layers: 24,
    patch_size: 14,
    projection_dim: 768,
    vocab_size: 32000,
  },
  vision_feature_layer: -2,
  vision_feature_select_strategy: 'default',
  vocab_size: 32064,
};

const withText = (text: object): object => ({ ...LLAVA_15, text_config: text });
const errorOf = (f: () => unknown): { kind: string; message: string; subject?: string } => {
  try {
    f();
  } catch (e) {
    return e as { kind: string; message: string; subject?: string };
  }
  throw new Error('expected an error');
};

describe('llava config', () => {
  it('fills llava-1.5-hf text_config from LlamaConfig defaults', () => {
    const c = parseLlavaConfig(LLAVA_15);
    expect(c.text_config).toEqual({
      model_type: 'llama',
      vocab_size: 32064,
      hidden_size: 4096,
      intermediate_size: 11008,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      head_dim: 128,
      hidden_act: 'silu',
      max_position_embeddings: 4096,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      rope_linear_factor: 1,
      tie_word_embeddings: false,
      qkv_bias: false,
      o_bias: false,
      mlp_bias: false,
      sliding_window: null,
    });
    expect(c.vision_config).toMatchObject({
      model_type: 'clip_vision_model',
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      num_channels: 3,
      image_size: 336,
      patch_size: 14,
    });
    expect(c).toMatchObject({
      image_token_index: 32000,
      projector_hidden_act: 'gelu',
      vision_feature_select_strategy: 'default',
      multimodal_projector_bias: true,
    });
    expect(featureLayerIndices(c)).toEqual([23]);
  });

  it('takes Qwen2, Mistral and SigLIP defaults from their own classes; null means default', () => {
    const q = parseLlavaConfig(
      withText({ model_type: 'qwen2', num_key_value_heads: null, tie_word_embeddings: true }),
    ).text_config;
    expect(q).toMatchObject({
      vocab_size: 151936,
      intermediate_size: 22016,
      max_position_embeddings: 32768,
      num_key_value_heads: 32,
      qkv_bias: true,
      o_bias: false,
      tie_word_embeddings: true,
    });
    const m = parseLlavaConfig(withText({ model_type: 'mistral' })).text_config;
    expect(m).toMatchObject({
      intermediate_size: 14336,
      num_key_value_heads: 8,
      sliding_window: 4096,
      max_position_embeddings: 131072,
    });
    const s = parseLlavaConfig({ ...LLAVA_15, vision_config: { model_type: 'siglip_vision_model' } }).vision_config;
    expect(s).toMatchObject({ patch_size: 16, image_size: 224, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6 });
  });

  it('resolves windows, biases and tying per architecture as transformers does', () => {
    expect(
      parseLlavaConfig(withText({ model_type: 'mistral', sliding_window: null })).text_config.sliding_window,
    ).toBeNull();
    expect(
      parseLlavaConfig(withText({ model_type: 'qwen2', sliding_window: 32768, use_sliding_window: false })).text_config
        .sliding_window,
    ).toBeNull();
    expect(
      parseLlavaConfig(withText({ model_type: 'qwen2', sliding_window: 32768, use_sliding_window: true })).text_config
        .sliding_window,
    ).toBe(32768);
    expect(
      parseLlavaConfig(withText({ model_type: 'mistral', max_position_embeddings: null, sliding_window: null }))
        .text_config.max_position_embeddings,
    ).toBe(131072);
  });

  it("refuses Qwen2's sliding window narrower than the context (per-layer windows are not implemented), naming config.json and the field", () => {
    const e = errorOf(() =>
      parseLlavaConfig(withText({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 1024 })),
    );
    expect(e.kind).toBe('unsupported');
    expect(e.subject).toBe('text_config.sliding_window');
    expect(e.message).toBe(
      'config.json: text_config.sliding_window = 1024 is below max_position_embeddings = 32768; sliding-window attention is not supported for qwen2',
    );
    expect(parseLlavaConfig(withText({ mlp_bias: true })).text_config).toMatchObject({
      mlp_bias: true,
      qkv_bias: false,
    });
    // Tying follows the text config only (LlavaConfig's own field is not consulted).
    expect(parseLlavaConfig({ ...LLAVA_15, tie_word_embeddings: true }).text_config.tie_word_embeddings).toBe(false);
  });

  it('builds LlavaConfig defaults when sub-configs are absent', () => {
    const c = parseLlavaConfig({});
    expect(c.vision_config).toMatchObject({
      model_type: 'clip_vision_model',
      hidden_size: 1024,
      image_size: 336,
      patch_size: 14,
      num_hidden_layers: 24,
    });
    expect(c.text_config).toMatchObject({ model_type: 'llama', max_position_embeddings: 2048, vocab_size: 32000 });
  });

  it('reads linear rope scaling, list feature layers and llama attention_bias', () => {
    const c = parseLlavaConfig({
      ...withText({ rope_scaling: { type: 'linear', factor: 2 }, attention_bias: true }),
      vision_feature_layer: [-2, -5, 3],
    });
    expect(c.text_config).toMatchObject({ rope_linear_factor: 2, qkv_bias: true, o_bias: true });
    expect(featureLayerIndices(c)).toEqual([23, 20, 3]);
  });

  it('refuses unsupported architectures naming field, value and the supported list', () => {
    const e = errorOf(() => parseLlavaConfig(withText({ model_type: 'gemma2' })));
    expect(e.kind).toBe('unsupported');
    expect(e.message).toContain('text_config.model_type = "gemma2" is not supported; supported: llama, mistral, qwen2');
    expect(errorOf(() => parseLlavaConfig({ ...LLAVA_15, vision_config: { model_type: 'dinov2' } })).message).toContain(
      'vision_config.model_type = "dinov2" is not supported; supported: clip_vision_model, siglip_vision_model',
    );
    expect(errorOf(() => parseLlavaConfig(withText({ rope_scaling: { type: 'dynamic', factor: 2 } }))).kind).toBe(
      'unsupported',
    );
  });

  it.each([
    [withText({ hidden_size: 'big' }), 'text_config.hidden_size = "big"'],
    [withText({ num_attention_heads: 32, num_key_value_heads: 3 }), 'text_config.num_key_value_heads = 3'],
    [withText({ rms_norm_eps: -1 }), 'text_config.rms_norm_eps = -1'],
    [{ ...LLAVA_15, vision_feature_layer: 30 }, 'vision_feature_layer = 30'],
    [{ ...LLAVA_15, vision_feature_select_strategy: 'cls' }, 'vision_feature_select_strategy = "cls"'],
    [{ ...LLAVA_15, vision_config: { ...LLAVA_15.vision_config, patch_size: 5 } }, 'vision_config.image_size = 336'],
    [[1, 2], 'not a JSON object'],
  ])('refuses bad values naming the field: %#', (raw, text) => {
    const e = errorOf(() => parseLlavaConfig(raw));
    expect(e.kind).toBe('bad-input');
    expect(e.message).toContain(text);
  });

  it('loadLlavaConfig names the file for missing, invalid JSON and invalid fields', async () => {
    await expect(loadLlavaConfig(path.join(tmp, 'nope'))).rejects.toMatchObject({ kind: 'not-found' });
    writeFileSync(path.join(tmp, 'config.json'), '{"text_config": ');
    await expect(loadLlavaConfig(tmp)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining(path.join(tmp, 'config.json')),
    });
    writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(withText({ vocab_size: 0 })));
    await expect(loadLlavaConfig(tmp)).rejects.toMatchObject({
      kind: 'bad-input',
      message: expect.stringContaining(`${path.join(tmp, 'config.json')}: text_config.vocab_size = 0`),
    });
  });
});

describe('generation config', () => {
  it('normalises eos to a list and keeps the sampling defaults', () => {
    expect(
      parseGenerationConfig({
        bos_token_id: 1,
        eos_token_id: 2,
        pad_token_id: 0,
        max_new_tokens: 64,
        temperature: 0.2,
        top_p: 0.9,
        do_sample: true,
        transformers_version: 'x',
      }),
    ).toEqual({
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: 0,
      maxNewTokens: 64,
      temperature: 0.2,
      topP: 0.9,
      doSample: true,
    });
    expect(parseGenerationConfig({ eos_token_id: [151645, 151643] }).eosTokenIds).toEqual([151645, 151643]);
  });

  it('is optional, and wrong when a field has the wrong type', async () => {
    expect(await loadGenerationConfig(path.join(tmp, 'absent'))).toBeUndefined();
    expect(() => parseGenerationConfig({ eos_token_id: 'eos' })).toThrow(/eos_token_id is invalid/);
  });
});
