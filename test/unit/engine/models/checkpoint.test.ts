// Opening llava-hf folders written by the tiny-llava helper: both weight
// layouts onto one canonical naming, sharded bf16, tied embeddings, GQA,
// SigLIP, and a clear error for each kind of damage.
import { readFileSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { expectedShapes } from '../../../../electron/engine/models/checkpoint-shapes';
import { parseLlavaConfig } from '../../../../electron/engine/models/config';
import { TextTokenizer } from '../../../../electron/engine/text/tokenizer';
import { toFloat32 } from '../../../../electron/engine/weights/decode';
import { serializeSafetensors } from '../../../../electron/engine/weights/writer';
import { tinyLlavaConfig, tinyLlavaShapes, writeTinyLlava, type TinyLlavaOptions } from '../../../helpers/tiny-llava';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
async function tiny(o: TinyLlavaOptions = {}): Promise<ReturnType<typeof writeTinyLlava>> {
  const t = await writeTinyLlava({ vocab: 128, ...o });
  dirs.push(t.dir);
  return t;
}
function editConfig(dir: string, edit: (c: Record<string, Record<string, unknown>>) => void): void {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  edit(c);
  writeFileSync(file, JSON.stringify(c));
}

const Q0 = 'language_model.model.layers.0.self_attn.q_proj.weight';

describe('checkpoint folders', () => {
  it.each<TinyLlavaOptions>([
    {},
    { text: 'qwen2', attention: 'gqa', vision: 'siglip_vision_model', featureLayer: [-2, 1], tie: true },
    // Overridden sizes, with head_dim * heads != hidden (written as text_config.head_dim).
    {
      attention: 'gqa',
      size: { hidden: 48, heads: 4, headDim: 16, inter: 64, vHidden: 32, vHeads: 4, vInter: 48, image: 42, patch: 14 },
    },
  ])('the engine shape table agrees with the helper’s independent one: %j', (o) => {
    const engine = expectedShapes(parseLlavaConfig(tinyLlavaConfig({ vocab: 128, ...o })));
    if (o.tie) engine.delete('language_model.lm_head.weight');
    expect(Object.fromEntries(engine)).toEqual(Object.fromEntries(tinyLlavaShapes({ vocab: 128, ...o })));
  });

  it.each(['legacy', 'nested'] as const)(
    'maps the %s layout onto canonical names with the stored values',
    async (layout) => {
      const t = await tiny({ layout });
      const ck = await Checkpoint.open(t.dir);
      try {
        expect(ck.layout).toBe(layout);
        expect(ck.names().sort()).toEqual([...t.tensors.keys()].sort());
        expect(ck.get(Q0).name).toBe(
          layout === 'legacy' ? Q0 : 'model.language_model.layers.0.self_attn.q_proj.weight',
        );
        expect(ck.get('language_model.lm_head.weight').name).toBe(
          layout === 'legacy' ? 'language_model.lm_head.weight' : 'lm_head.weight',
        );
        expect(toFloat32('F32', await ck.read(Q0))).toEqual(t.tensors.get(Q0)?.values);
        expect(ck.dtype).toBe('F32');
        expect(ck.generation?.eosTokenIds).toEqual([2]);
        expect(ck.unused).toEqual([]);
      } finally {
        await ck.close();
      }
    },
  );

  it('opens a checkpoint written with overridden sizes: every tensor passes the shape check', async () => {
    const t = await tiny({
      text: 'qwen2',
      size: { hidden: 48, heads: 4, headDim: 16, inter: 64, image: 42, patch: 14 },
    });
    const ck = await Checkpoint.open(t.dir);
    try {
      expect(ck.names().sort()).toEqual([...t.tensors.keys()].sort());
      expect(ck.config.text_config.head_dim).toBe(16);
      expect(ck.get('language_model.model.layers.0.self_attn.q_proj.weight').shape).toEqual([64, 48]);
    } finally {
      await ck.close();
    }
  });

  it('opens a sharded bf16 checkpoint and reports its dtype', async () => {
    const t = await tiny({ dtype: 'BF16', shardBytes: 20_000, layout: 'nested' });
    const ck = await Checkpoint.open(t.dir);
    expect(ck.dtype).toBe('BF16');
    expect(new Set(ck.names().map((n) => ck.get(n).location)).size).toBeGreaterThan(1);
    const head = 'language_model.lm_head.weight';
    expect(toFloat32('BF16', await ck.read(head))).toEqual(t.tensors.get(head)?.values);
    await ck.close();
  });

  it('ties lm_head to embed_tokens for a Qwen2 with GQA and SigLIP', async () => {
    const t = await tiny({ text: 'qwen2', attention: 'gqa', vision: 'siglip_vision_model', tie: true });
    const ck = await Checkpoint.open(t.dir);
    expect(ck.tiedEmbeddings).toBe(true);
    expect(ck.get('language_model.lm_head.weight').name).toBe('language_model.model.embed_tokens.weight');
    expect(ck.get('language_model.model.layers.1.self_attn.k_proj.bias').shape).toEqual([16]);
    expect(ck.config.text_config).toMatchObject({ model_type: 'qwen2', num_key_value_heads: 2, qkv_bias: true });
    await ck.close();
  });

  it('the helper writes a tokenizer with llava-hf’s added tokens and a processor config', async () => {
    const t = await tiny({ chatTemplate: true });
    const tok = await TextTokenizer.fromFolder(t.dir);
    expect(tok.special).toMatchObject({ image: { id: 32000 }, pad: { id: 32001 }, bos: { id: 1 }, eos: { id: 2 } });
    const ids = tok.encode('USER: <image>\nWhat is this? ASSISTANT:');
    expect(ids[0]).toBe(1);
    expect(ids.filter((id) => id === 32000)).toHaveLength(1);
    expect(tok.chatTemplate).toContain('ASSISTANT:');
    const pre = JSON.parse(readFileSync(path.join(t.dir, 'preprocessor_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(pre).toMatchObject({
      image_processor_type: 'CLIPImageProcessor',
      crop_size: { height: 28, width: 28 },
      size: { shortest_edge: 28 },
    });
  });

  it('lists tensors the model does not read instead of failing', async () => {
    const t = await tiny({ visionLayers: 2 });
    const extra = {
      'language_model.model.layers.0.self_attn.rotary_emb.inv_freq': {
        dtype: 'F32' as const,
        shape: [4],
        data: new Float32Array(4),
      },
    };
    writeFileSync(path.join(t.dir, 'model.safetensors'), serializeSafetensors({ ...(await readAll(t.dir)), ...extra }));
    const ck = await Checkpoint.open(t.dir);
    expect(ck.unused).toEqual(['language_model.model.layers.0.self_attn.rotary_emb.inv_freq']);
    await ck.close();
  });
});

async function readAll(dir: string): Promise<Parameters<typeof serializeSafetensors>[0]> {
  const ck = await Checkpoint.open(dir);
  const out: Parameters<typeof serializeSafetensors>[0] = {};
  for (const n of ck.weights.names()) {
    const r = ck.weights.get(n);
    out[n] = { dtype: r.dtype, shape: r.shape, data: await ck.weights.read(n) };
  }
  await ck.close();
  return out;
}

describe('bad checkpoint folders', () => {
  it('wrong shape: names the tensor, the expected and the found shape', async () => {
    const t = await tiny();
    editConfig(t.dir, (c) => void (c['text_config']!['intermediate_size'] = 50));
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringMatching(
        /"language_model\.model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[48, 32\], expected \[50, 32\]/,
      ),
    });
  });

  it('missing lm_head without tie_word_embeddings says so', async () => {
    const t = await tiny({ tie: true });
    editConfig(t.dir, (c) => {
      c['text_config']!['tie_word_embeddings'] = false;
      (c as Record<string, unknown>)['tie_word_embeddings'] = false;
    });
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringMatching(/tie_word_embeddings is false.*language_model\.lm_head\.weight/),
    });
  });

  it('unsupported architecture names field and value', async () => {
    const t = await tiny();
    editConfig(t.dir, (c) => void (c['text_config']!['model_type'] = 'gemma2'));
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringContaining('text_config.model_type = "gemma2" is not supported'),
    });
  });

  it('truncated weights, corrupt config, missing files and folders', async () => {
    const t = await tiny();
    const st = path.join(t.dir, 'model.safetensors');
    truncateSync(st, statSync(st).size - 3);
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({ kind: 'bad-file', rule: 'file-size' });
    rmSync(st);
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining('no .safetensors file'),
    });
    writeFileSync(path.join(t.dir, 'config.json'), '{]');
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining('config.json: not valid JSON'),
    });
    rmSync(path.join(t.dir, 'config.json'));
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({ kind: 'not-found' });
    await expect(Checkpoint.open(path.join(t.dir, 'missing'))).rejects.toMatchObject({ kind: 'not-found' });
  });

  it('a shard missing from a sharded checkpoint', async () => {
    const t = await tiny({ shardBytes: 50_000 });
    const index = JSON.parse(readFileSync(path.join(t.dir, 'model.safetensors.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    const shards = [...new Set(Object.values(index.weight_map))].sort();
    expect(shards.length).toBeGreaterThan(1);
    rmSync(path.join(t.dir, shards[1]!));
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({ kind: 'bad-file', rule: 'shard-missing' });
  });

  it('a mix of both layouts', async () => {
    const t = await tiny();
    const all = await readAll(t.dir);
    const moved = all[Q0]!;
    delete all[Q0];
    all['model.language_model.layers.0.self_attn.q_proj.weight'] = moved;
    writeFileSync(path.join(t.dir, 'model.safetensors'), serializeSafetensors(all));
    await expect(Checkpoint.open(t.dir)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining('mix the older llava-hf layout'),
    });
  });
});
