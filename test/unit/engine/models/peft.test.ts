// PEFT LoRA adapters: written and loaded in both key layouts onto bases of
// either layout, rsLoRA scaling, and loud failures (every unmatched key
// listed, wrong shapes, half pairs, unsupported PEFT features).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  PeftAdapter,
  writePeftAdapter,
  type AdapterToWrite,
} from '../../../../electron/engine/models/peft';
import type { LoraConfig } from '../../../../electron/engine/models/peft-config';
import { SafetensorsFile } from '../../../../electron/engine/weights/reader';
import { serializeSafetensors } from '../../../../electron/engine/weights/writer';
import { TINY_LLAVA, writeTinyLlava } from '../../../helpers/tiny-llava';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'peft-'));
let legacyBase: Checkpoint;
let nestedBase: Checkpoint;
beforeAll(async () => {
  legacyBase = await Checkpoint.open(
    (await writeTinyLlava({ vocab: 128, attention: 'gqa' }, path.join(tmp, 'base-legacy'))).dir,
  );
  nestedBase = await Checkpoint.open(
    (await writeTinyLlava({ vocab: 128, attention: 'gqa', layout: 'nested' }, path.join(tmp, 'base-nested'))).dir,
  );
});
afterAll(async () => {
  await Promise.all([legacyBase.close(), nestedBase.close()]);
  rmSync(tmp, { recursive: true, force: true });
});

const H = TINY_LLAVA.hidden;
const KV = 2 * TINY_LLAVA.headDim;
const config: LoraConfig = {
  r: 4,
  loraAlpha: 8,
  useRslora: false,
  targetModules: ['q_proj', 'v_proj'],
  loraDropout: 0.05,
};
const seq = (n: number, k: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => ((i * 7 + k) % 11) / 16 - 0.25);

function adapter(layout: 'legacy' | 'nested', cfg = config): AdapterToWrite {
  const modules = new Map<string, { a: Float32Array; b: Float32Array; inFeatures: number; outFeatures: number }>();
  for (let l = 0; l < 2; l++) {
    modules.set(`language_model.model.layers.${l}.self_attn.q_proj`, {
      a: seq(cfg.r * H, l),
      b: seq(H * cfg.r, l + 1),
      inFeatures: H,
      outFeatures: H,
    });
    modules.set(`language_model.model.layers.${l}.self_attn.v_proj`, {
      a: seq(cfg.r * H, l + 2),
      b: seq(KV * cfg.r, l + 3),
      inFeatures: H,
      outFeatures: KV,
    });
  }
  return { config: cfg, layout, modules };
}

let n = 0;
async function written(a: AdapterToWrite): Promise<string> {
  const dir = path.join(tmp, `adapter${n++}`);
  await writePeftAdapter(dir, a);
  return dir;
}

describe('PEFT adapters', () => {
  it.each([
    ['legacy', 'legacy'],
    ['nested', 'legacy'],
    ['legacy', 'nested'],
    ['nested', 'nested'],
  ] as const)('a %s-layout adapter loads onto a %s-layout base with its values', async (adapterLayout, baseLayout) => {
    const src = adapter(adapterLayout);
    const dir = await written(src);
    const file = await SafetensorsFile.open(path.join(dir, ADAPTER_WEIGHTS));
    const keys = file.tensors.map((t) => t.name);
    await file.close();
    expect(keys).toContain(
      adapterLayout === 'legacy'
        ? 'base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight'
        : 'base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.weight',
    );
    const loaded = await PeftAdapter.load(dir, baseLayout === 'legacy' ? legacyBase : nestedBase);
    expect(loaded.layout).toBe(adapterLayout);
    expect([...loaded.modules.keys()].sort()).toEqual([...src.modules.keys()].sort());
    for (const [module, m] of src.modules) {
      const got = await loaded.read(module);
      expect(got.a).toEqual(m.a);
      expect(got.b).toEqual(m.b);
    }
    expect(loaded.scale).toBe(2);
    expect(loaded.config).toMatchObject({ r: 4, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'] });
    await loaded.close();
  });

  it('rsLoRA scales by alpha / sqrt(r); bf16 adapters read back within bf16 rounding', async () => {
    const dir = await written({ ...adapter('legacy', { ...config, useRslora: true }), dtype: 'BF16' });
    const loaded = await PeftAdapter.load(dir, legacyBase);
    expect(loaded.scale).toBe(4);
    const { a } = await loaded.read('language_model.model.layers.1.self_attn.q_proj');
    expect(a).toEqual(seq(4 * H, 1)); // these values are exact in bf16
    await loaded.close();
  });

  it('fails loudly listing every key that matches no module', async () => {
    const dir = await written(adapter('legacy'));
    const bogus = {
      'base_model.model.language_model.model.layers.9.self_attn.q_proj.lora_A.weight': [4, H],
      'base_model.model.model.language_model.layers.0.self_attn.qq_proj.lora_A.weight': [4, H],
      'base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_embedding_A': [4, H],
      'some.other.key': [1],
    };
    const tensors = Object.fromEntries(
      Object.entries(bogus).map(([k, shape]) => [
        k,
        { dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((x, y) => x * y, 1)) },
      ]),
    );
    writeFileSync(
      path.join(dir, ADAPTER_WEIGHTS),
      serializeSafetensors({
        ...tensors,
        'base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_A.weight': {
          dtype: 'F32',
          shape: [4, H],
          data: new Float32Array(4 * H),
        },
      }),
    );
    const err = (await PeftAdapter.load(dir, legacyBase).catch((e: unknown) => e)) as Error & { kind: string };
    expect(err.kind).toBe('bad-file');
    expect(err.message).toContain('4 adapter key(s) match no module');
    for (const k of Object.keys(bogus)) expect(err.message).toContain(k);
  });

  it('refuses wrong shapes and half pairs, naming the key', async () => {
    const wrong = adapter('legacy');
    const q0 = 'language_model.model.layers.0.self_attn.q_proj';
    const dir = await written({
      ...wrong,
      modules: new Map([[q0, { a: seq(4 * KV, 0), b: seq(H * 4, 0), inFeatures: KV, outFeatures: H }]]),
    });
    await expect(PeftAdapter.load(dir, legacyBase)).rejects.toMatchObject({
      message: expect.stringMatching(/q_proj\.lora_A\.weight" has shape \[4, 16\], expected \[4, 32\]/),
    });
    writeFileSync(
      path.join(dir, ADAPTER_WEIGHTS),
      serializeSafetensors({
        [`base_model.model.${q0}.lora_A.weight`]: { dtype: 'F32', shape: [4, H], data: new Float32Array(4 * H) },
      }),
    );
    await expect(PeftAdapter.load(dir, legacyBase)).rejects.toMatchObject({
      message: expect.stringContaining(`${q0} has lora_A but no lora_B`),
    });
  });

  it.each([
    [{ r: 0 }, 'bad-input', /r = 0 is invalid/],
    [{ lora_alpha: 'x' }, 'bad-input', /lora_alpha = "x"/],
    [{ peft_type: 'IA3' }, 'unsupported', /peft_type = "IA3" is not supported/],
    [{ use_dora: true }, 'unsupported', /use_dora/],
    [{ rank_pattern: { q_proj: 8 } }, 'unsupported', /rank_pattern/],
    [{ modules_to_save: ['lm_head'] }, 'unsupported', /modules_to_save/],
  ])('adapter_config.json %j is refused', async (patch, kind, message) => {
    const dir = await written(adapter('legacy'));
    const file = path.join(dir, ADAPTER_CONFIG);
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), ...patch }));
    await expect(PeftAdapter.load(dir, legacyBase)).rejects.toMatchObject({
      kind,
      message: expect.stringMatching(message),
    });
  });

  it('missing files are not-found; a corrupt weights file is bad-file', async () => {
    const dir = await written(adapter('legacy'));
    writeFileSync(path.join(dir, ADAPTER_WEIGHTS), new Uint8Array([1, 2, 3]));
    await expect(PeftAdapter.load(dir, legacyBase)).rejects.toMatchObject({ kind: 'bad-file', rule: 'file-too-small' });
    rmSync(path.join(dir, ADAPTER_WEIGHTS));
    await expect(PeftAdapter.load(dir, legacyBase)).rejects.toMatchObject({ kind: 'not-found' });
    await expect(PeftAdapter.load(path.join(tmp, 'none'), legacyBase)).rejects.toMatchObject({ kind: 'not-found' });
  });
});
