// Opening InternLM-XComposer-2.5 folders written by the tiny random IXC
// writer: the engine's shape table against the writer's independent one,
// single and sharded files in fp32 / fp16 / bf16 with the stored values read
// back in place, the mode adapters recognised and ignored, the PLoRA rank read
// from the checkpoint, and missing / mis-shaped / unexpected tensors refused
// naming the file. A llava-hf folder still opens as before.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { IxcCheckpoint } from '../../../../electron/engine/models/checkpoint-ixc';
import {
  expectedIxcShapes,
  isIxcIgnorable,
  isIxcModeAdapter,
} from '../../../../electron/engine/models/checkpoint-ixc-shapes';
import { parseIxcConfig } from '../../../../electron/engine/models/config-ixc';
import {
  randomIxcConfig,
  randomIxcShapes,
  randomIxcTensors,
  writeRandomIxc,
  type RandomIxcOptions,
} from '../../../../electron/engine/models/random-ixc-checkpoint';
import { toFloat32 } from '../../../../electron/engine/weights/decode';
import type { TensorsToWrite } from '../../../../electron/engine/weights/writer';
import { writeSafetensors } from '../../../../electron/engine/weights/writer';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function ixc(o: RandomIxcOptions = {}): Promise<Awaited<ReturnType<typeof writeRandomIxc>>> {
  const t = await writeRandomIxc(o);
  dirs.push(t.dir);
  return t;
}

/** A single-file folder from the writer's tensors after `edit` (drop, reshape, add), with the writer's config. */
async function edited(
  edit: (t: TensorsToWrite) => void,
  o: RandomIxcOptions = {},
): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ixc-edit-'));
  dirs.push(dir);
  const t: TensorsToWrite = {};
  for (const [name, { shape, bytes }] of randomIxcTensors(o)) t[name] = { dtype: 'F32', shape, data: bytes };
  edit(t);
  const file = path.join(dir, 'model.safetensors');
  await writeSafetensors(file, t);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(randomIxcConfig(o)));
  return { dir, file };
}

const WQKV = 'model.layers.0.attention.wqkv.weight';

/** state_dict names and shapes of a torch module tree with the official attribute names (test/reference/ixc_modules_ref.py). */
function torchStateDict(c: Record<string, unknown>): Record<string, number[]> {
  const script = path.join(import.meta.dirname, '..', '..', '..', 'reference', 'ixc_modules_ref.py');
  const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';
  return JSON.parse(execFileSync(python, [script, JSON.stringify(c)], { encoding: 'utf8' })) as Record<
    string,
    number[]
  >;
}

describe('IXC2.5 checkpoint folders', () => {
  it.each<RandomIxcOptions>([{}, { bias: true, textLayers: 3, visionLayers: 1, rank: 4 }])(
    'the engine shape table agrees with the writer’s independent one: %j',
    (o) => {
      const engine = expectedIxcShapes(parseIxcConfig(randomIxcConfig(o)), o.rank ?? 8);
      expect(Object.fromEntries(engine)).toEqual(Object.fromEntries(randomIxcShapes(o)));
    },
  );

  it.each([
    // The 7B release: GQA 32/8, no bias, PLoRA rank 256, ViT-L/14 at 560 px (hard-coded, no vision_config).
    [
      { hidden_size: 4096, num_attention_heads: 32, num_key_value_heads: 8, intermediate_size: 14336, bias: false },
      { hidden: 4096, heads: 32, kv_heads: 8, inter: 14336, layers: 32, vocab: 92544, bias: false, rank: 256 },
      { v_hidden: 1024, v_heads: 16, v_inter: 4096, v_layers: 24, image: 560, patch: 14 },
    ],
    // A tiny one with biases and a vision_config.
    [
      {
        hidden_size: 32,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        intermediate_size: 48,
        num_hidden_layers: 2,
        vocab_size: 64,
        vision_config: {
          hidden_size: 16,
          num_attention_heads: 2,
          intermediate_size: 24,
          num_hidden_layers: 1,
          image_size: 56,
        },
      },
      { hidden: 32, heads: 4, kv_heads: 2, inter: 48, layers: 2, vocab: 64, bias: true, rank: 4 },
      { v_hidden: 16, v_heads: 2, v_inter: 24, v_layers: 1, image: 56, patch: 14 },
    ],
  ])('the table equals a torch module tree’s state_dict, less mode adapters and buffers (%#)', (cfg, text, vision) => {
    const c = parseIxcConfig({ architectures: ['InternLMXComposer2ForCausalLM'], vocab_size: 92544, ...cfg });
    const torch = torchStateDict({ ...text, ...vision });
    const read = Object.entries(torch).filter(([n]) => !isIxcModeAdapter(n) && !isIxcIgnorable(n));
    expect(Object.keys(torch).filter(isIxcIgnorable)).toEqual([
      'vit.vision_tower.vision_model.embeddings.position_ids',
    ]);
    expect(Object.keys(torch).filter(isIxcModeAdapter)).toHaveLength(text.layers * 5 * 6);
    expect(Object.fromEntries(expectedIxcShapes(c, text.rank))).toEqual(Object.fromEntries(read));
  });

  it('the table has the 7B release shapes (packed GQA wqkv, PLoRA rank 256, 4x1024 merged separators)', () => {
    const c = parseIxcConfig({
      architectures: ['InternLMXComposer2ForCausalLM'],
      bias: false,
      hidden_size: 4096,
      intermediate_size: 14336,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 92544,
    });
    const s = expectedIxcShapes(c, 256);
    expect(s.get(WQKV)).toEqual([6144, 4096]);
    expect(s.get('model.layers.31.attention.wqkv.Plora_B.weight')).toEqual([6144, 256]);
    expect(s.get('model.layers.0.feed_forward.w2.Plora_A.weight')).toEqual([256, 14336]);
    expect(s.get('model.layers.0.attention.wqkv.bias')).toBeUndefined();
    expect(s.get('plora_glb_GN')).toEqual([1, 1, 4096]);
    expect(s.get('plora_sub_GN')).toEqual([1, 1, 1, 4096]);
    expect(s.get('vision_proj.0.weight')).toEqual([4096, 4096]);
    expect(s.get('vit.vision_tower.vision_model.embeddings.position_embedding.weight')).toEqual([1601, 1024]);
    expect(s.get('vit.vision_tower.vision_model.encoder.layers.23.mlp.fc1.weight')).toEqual([4096, 1024]);
    expect(s.get('output.weight')).toEqual([92544, 4096]);
  });

  it('opens a single fp32 file with the stored values, the rank read from Plora_A', async () => {
    const t = await ixc();
    const ck = await IxcCheckpoint.open(t.dir);
    try {
      expect(ck.dtype).toBe('F32');
      expect(ck.ploraRank).toBe(8);
      expect(ck.modeAdapters).toEqual([]);
      expect(ck.names().sort()).toEqual([...t.tensors.keys()].sort());
      expect(ck.get(WQKV).location).toBe('model.safetensors');
      expect(toFloat32('F32', await ck.read(WQKV))).toEqual(t.tensors.get(WQKV)?.values);
      expect(ck.parameterCount()).toBe([...t.tensors.values()].reduce((n, x) => n + x.values.length, 0));
    } finally {
      await ck.close();
    }
  });

  it.each(['BF16', 'F16'] as const)(
    'opens sharded %s weights with mode adapters, which are recognised and left out',
    async (dtype) => {
      const t = await ixc({ dtype, shardBytes: 20_000, modeAdapters: true });
      const ck = await IxcCheckpoint.open(t.dir);
      try {
        expect(ck.weights.fileNames().length).toBeGreaterThan(2);
        expect(ck.dtype).toBe(dtype);
        expect(ck.modeAdapters).toEqual(['lora_sft', 'lora_dpo', 'lora_web']);
        const read = [...t.tensors.keys()].filter((n) => !isIxcModeAdapter(n));
        expect(read.length).toBeLessThan(t.tensors.size);
        expect(ck.names().sort()).toEqual(read.sort());
        expect(ck.has('model.layers.0.attention.wqkv.lora_sft_A.weight')).toBe(false);
        const b = 'model.layers.1.feed_forward.w2.Plora_B.weight';
        expect(ck.get(b).location).toMatch(/^model-\d{5}-of-\d{5}\.safetensors$/);
        expect(toFloat32(dtype, await ck.read(b))).toEqual(t.tensors.get(b)?.values);
      } finally {
        await ck.close();
      }
    },
  );

  it('resolves output.weight to the embeddings when tied and ignores a CLIP position_ids buffer', async () => {
    const { dir } = await edited(
      (t) => {
        delete t['output.weight'];
        t['vit.vision_tower.vision_model.embeddings.position_ids'] = {
          dtype: 'I64',
          shape: [1, 17],
          data: new BigInt64Array(17),
        };
      },
      { config: { tie_word_embeddings: true } },
    );
    const ck = await IxcCheckpoint.open(dir);
    try {
      expect(ck.get('output.weight').name).toBe('model.tok_embeddings.weight');
      expect(ck.ignored).toEqual(['vit.vision_tower.vision_model.embeddings.position_ids']);
    } finally {
      await ck.close();
    }
  });

  it('refuses missing tensors naming the weights file and the tensors', async () => {
    const { dir } = await edited((t) => {
      delete t['plora_sub_GN'];
      delete t['model.layers.1.attention.wo.Plora_A.weight'];
    });
    await expect(IxcCheckpoint.open(dir)).rejects.toThrow(
      `${dir}: the weights (model.safetensors) lack tensors its config.json needs: plora_sub_GN, model.layers.1.attention.wo.Plora_A.weight`,
    );
    const { dir: untied } = await edited((t) => delete t['output.weight']);
    await expect(IxcCheckpoint.open(untied)).rejects.toThrow('(no output.weight and tie_word_embeddings is false)');
  });

  it('refuses an InternLM-XComposer2 (pre-2.5) folder, which has no HD separators, saying so', async () => {
    const { dir } = await edited((t) => {
      delete t['plora_glb_GN'];
      delete t['plora_sub_GN'];
    });
    await expect(IxcCheckpoint.open(dir)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringContaining(
        `${dir}: no plora_glb_GN / plora_sub_GN tensors: this looks like an InternLM-XComposer2 checkpoint`,
      ) as unknown,
    });
  });

  it('refuses a missing tensor of a sharded folder naming the index', async () => {
    const t = await ixc({ shardBytes: 20_000 });
    // A config with one more decoder layer than the shards hold.
    writeFileSync(path.join(t.dir, 'config.json'), JSON.stringify(randomIxcConfig({ textLayers: 3 })));
    await expect(IxcCheckpoint.open(t.dir)).rejects.toThrow(
      `${t.dir}: the weights (model.safetensors.index.json) lack tensors its config.json needs: model.layers.2.`,
    );
  });

  it('refuses a mis-shaped tensor naming the file, the tensor and both shapes', async () => {
    const { dir, file } = await edited((t) => {
      t['model.layers.0.feed_forward.w3.weight'] = { dtype: 'F32', shape: [32, 48], data: new Float32Array(32 * 48) };
    });
    await expect(IxcCheckpoint.open(dir)).rejects.toThrow(
      `${file}: tensor "model.layers.0.feed_forward.w3.weight" has shape [32, 48], expected [48, 32] from config.json`,
    );
    // A PLoRA rank in config.json that the tensors do not have.
    const { dir: ranked } = await edited(() => undefined, { config: { plora_rank: 16 } });
    await expect(IxcCheckpoint.open(ranked)).rejects.toThrow(
      'tensor "model.layers.0.attention.wqkv.Plora_A.weight" has shape [8, 32], expected [16, 32]',
    );
  });

  it('refuses unexpected tensors naming each with its file, and non-float weights', async () => {
    const { dir } = await edited((t) => {
      t['model.layers.0.attention.wq.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
      t['model.layers.0.attention.wqkv.lora_foo_A.weight'] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
    });
    await expect(IxcCheckpoint.open(dir)).rejects.toThrow(
      `${dir}: tensors that are not InternLM-XComposer-2.5 weights for its config.json: "model.layers.0.attention.wq.weight" (model.safetensors), "model.layers.0.attention.wqkv.lora_foo_A.weight" (model.safetensors)`,
    );
    const { dir: ints, file } = await edited((t) => {
      t['model.norm.weight'] = { dtype: 'I32', shape: [32], data: new Int32Array(32) };
    });
    await expect(IxcCheckpoint.open(ints)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringContaining(`${file}: tensor "model.norm.weight" has dtype I32`) as unknown,
    });
  });

  it('refuses a folder of PyTorch .bin shards saying so', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ixc-bin-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(randomIxcConfig()));
    writeFileSync(path.join(dir, 'pytorch_model-00001-of-00002.bin'), '');
    writeFileSync(path.join(dir, 'pytorch_model.bin.index.json'), '{}');
    await expect(IxcCheckpoint.open(dir)).rejects.toThrow(
      `${dir}: no .safetensors file (PyTorch .bin weights are not read: convert them to safetensors)`,
    );
  });

  it('the llava-hf opener refuses an IXC folder clearly and still opens a llava-hf folder', async () => {
    const t = await ixc();
    await expect(Checkpoint.open(t.dir)).rejects.toThrow(
      `${path.join(t.dir, 'config.json')}: InternLM-XComposer-2.5 (InternLMXComposer2ForCausalLM) folders can be loaded and inspected`,
    );
    const llava = await writeTinyLlava({ vocab: 128 });
    dirs.push(llava.dir);
    const ck = await Checkpoint.open(llava.dir);
    try {
      expect(ck.names().length).toBe(llava.tensors.size);
    } finally {
      await ck.close();
    }
    await expect(IxcCheckpoint.open(llava.dir)).rejects.toThrow('not an InternLM-XComposer-2.5 config');
  });
});
