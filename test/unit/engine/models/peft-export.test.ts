// Adapters out and in: exportPeftAdapter writes a PEFT folder (fields PEFT
// reads, keys in the base's layout, a target regex that matches only the
// language model) that reloads with the trained values, atomically and beside
// an existing checkpoints/ folder; loadInitAdapter reads one trained elsewhere
// and refuses adapters of another model with errors naming the file.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../../electron/engine/generate/sampling';
import { initLora, type LoraWeights } from '../../../../electron/engine/models/lora';
import { openModel, type OpenModel } from '../../../../electron/engine/models/open';
import {
  ADAPTER_CONFIG,
  ADAPTER_WEIGHTS,
  PeftAdapter,
  writePeftAdapter,
} from '../../../../electron/engine/models/peft';
import {
  exportPeftAdapter,
  loadInitAdapter,
  targetModulesRegex,
  type AdapterSettings,
} from '../../../../electron/engine/models/peft-export';
import { SafetensorsFile } from '../../../../electron/engine/weights/reader';
import { TINY_LLAVA, nestedName, tinyLlavaShapes, writeTinyLlava } from '../../../helpers/tiny-llava';

const tmp = path.join(os.tmpdir(), `peft-export-${process.pid}`);
let legacy: OpenModel;
let nested: OpenModel;
let other: OpenModel;
beforeAll(async () => {
  mkdirSync(tmp, { recursive: true });
  legacy = await openModel((await writeTinyLlava({ vocab: 128, attention: 'gqa' }, path.join(tmp, 'legacy'))).dir);
  nested = await openModel(
    (await writeTinyLlava({ vocab: 128, attention: 'gqa', layout: 'nested' }, path.join(tmp, 'nested'))).dir,
  );
  // Another model: wider hidden size, so every adapter matrix has the wrong shape for `legacy`.
  other = await openModel(
    (await writeTinyLlava({ vocab: 128, attention: 'gqa', size: { hidden: 48, headDim: 12 } }, path.join(tmp, 'o')))
      .dir,
  );
});
afterAll(async () => {
  await Promise.all([legacy, nested, other].map((m) => m.checkpoint.close()));
  rmSync(tmp, { recursive: true, force: true });
});

const SETTINGS: AdapterSettings = {
  r: 4,
  alpha: 8,
  dropout: 0.05,
  rslora: false,
  targets: ['q_proj', 'v_proj', 'down_proj'],
};

/** Trained-looking weights: PEFT init, then B random so the adapter changes the model. */
function trained(model: OpenModel, s: AdapterSettings = SETTINGS, seed = 3): LoraWeights {
  const rng = createRng(seed);
  const w = initLora(model.spec.text, { rank: s.r, alpha: s.alpha, rslora: s.rslora, targets: s.targets }, rng);
  for (const m of w.modules.values()) m.b = Float32Array.from(m.b, () => rng() - 0.5);
  return w;
}

let n = 0;
const fresh = (): string => path.join(tmp, `out${n++}`);

describe('exportPeftAdapter', () => {
  it.each([
    ['legacy', () => legacy],
    ['nested', () => nested],
  ] as const)('writes a %s-layout PEFT folder that reloads with every value', async (layout, model) => {
    const lora = trained(model());
    const dir = fresh();
    await exportPeftAdapter(dir, { baseDir: model().dir, lora, settings: SETTINGS });
    expect(readdirSync(dir).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS]);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const config = JSON.parse(readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 8,
      lora_dropout: 0.05,
      use_rslora: false,
      base_model_name_or_path: path.resolve(model().dir),
      target_modules: targetModulesRegex(SETTINGS.targets),
    });
    const file = await SafetensorsFile.open(path.join(dir, ADAPTER_WEIGHTS));
    const keys = file.tensors.map((t) => t.name);
    await file.close();
    const root = layout === 'legacy' ? 'language_model.model.layers' : 'model.language_model.layers';
    expect(keys).toContain(`base_model.model.${root}.1.mlp.down_proj.lora_B.weight`);
    expect(keys).toHaveLength(2 * lora.modules.size);
    const loaded = await PeftAdapter.load(dir, legacy.checkpoint);
    expect(loaded.scale).toBe(lora.scale);
    for (const [module, m] of lora.modules) {
      const got = await loaded.read(module);
      expect(got.a).toEqual(m.a);
      expect(got.b).toEqual(m.b);
    }
    await loaded.close();
  });

  it('target_modules full-matches the language model layers of both layouts and no vision module', () => {
    const all: typeof SETTINGS.targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
    // PEFT: re.fullmatch(target_modules, module_name) over the model's named modules.
    const re = new RegExp(`^(?:${targetModulesRegex(all)})$`);
    const modules = [...tinyLlavaShapes({ vision: 'clip_vision_model' }).keys()]
      .filter((k) => k.endsWith('.weight'))
      .map((k) => k.slice(0, -'.weight'.length));
    const names = modules.flatMap((m) => [m, nestedName(`${m}.weight`).slice(0, -'.weight'.length)]);
    const lm = names.filter((name) => /language_model\.(model\.)?layers\.\d+\.(self_attn|mlp)\.\w+_proj$/.test(name));
    expect(lm).toHaveLength(2 * 2 * 7);
    expect(names.filter((name) => re.test(name))).toEqual(lm);
    // The same with Python's re.fullmatch, as PEFT (peft/utils/other.py match_target_against_key) calls it.
    const py = execFileSync(
      process.env.MIA_PYTHON ?? '/usr/bin/python3',
      [
        '-c',
        'import json, re, sys; p, names = json.load(sys.stdin); print(json.dumps([n for n in names if re.fullmatch(p, n)]))',
      ],
      { input: JSON.stringify([targetModulesRegex(all), names]), encoding: 'utf8' },
    );
    expect(JSON.parse(py)).toEqual(lm);
    expect(modules.some((m) => m.startsWith('vision_tower') && m.endsWith('self_attn.q_proj'))).toBe(true);
  });

  it('replaces the adapter files in an existing --out, keeping checkpoints/; bf16 reloads within its rounding', async () => {
    const dir = fresh();
    mkdirSync(path.join(dir, 'checkpoints', 'step-000001'), { recursive: true });
    writeFileSync(path.join(dir, 'checkpoints', 'step-000001', 'x'), 'kept');
    await exportPeftAdapter(dir, { baseDir: legacy.dir, lora: trained(legacy, SETTINGS, 1), settings: SETTINGS });
    const lora = trained(legacy, SETTINGS, 2);
    await exportPeftAdapter(dir, { baseDir: legacy.dir, lora, settings: SETTINGS, dtype: 'BF16' });
    expect(readdirSync(dir).sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS, 'checkpoints']);
    expect(readFileSync(path.join(dir, 'checkpoints', 'step-000001', 'x'), 'utf8')).toBe('kept');
    const loaded = await PeftAdapter.load(dir, legacy.checkpoint);
    const [module, m] = [...lora.modules][0]!;
    const { b } = await loaded.read(module);
    expect(Math.max(...b.map((v, i) => Math.abs(v - m.b[i]!)))).toBeLessThanOrEqual(2 ** -9);
    expect(Math.max(...b.map((v, i) => Math.abs(v - m.b[i]!)))).toBeGreaterThan(0);
    await loaded.close();
    const r2 = { ...SETTINGS, r: 2, alpha: 2 };
    await exportPeftAdapter(dir, { baseDir: legacy.dir, lora: trained(legacy, r2), settings: r2 });
    const again = await PeftAdapter.load(dir, legacy.checkpoint);
    expect([again.config.r, again.scale]).toEqual([2, 1]);
    await again.close();
  });

  it('refuses weights that disagree with their settings, writing nothing', async () => {
    const dir = fresh();
    const lora = trained(legacy);
    await expect(
      exportPeftAdapter(dir, { baseDir: legacy.dir, lora, settings: { ...SETTINGS, r: 8 } }),
    ).rejects.toThrow(/rank 4, the settings r = 8/);
    await expect(
      exportPeftAdapter(dir, { baseDir: legacy.dir, lora, settings: { ...SETTINGS, targets: ['q_proj', 'v_proj'] } }),
    ).rejects.toThrow(/down_proj is not one of the language model's q_proj, v_proj layers/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('loadInitAdapter (--init-adapter)', () => {
  it('reads an adapter trained elsewhere back into the same LoRA weights and settings', async () => {
    const lora = trained(nested);
    const dir = fresh();
    await exportPeftAdapter(dir, { baseDir: nested.dir, lora, settings: SETTINGS });
    const got = await loadInitAdapter(dir, legacy);
    expect(got.settings).toEqual(SETTINGS);
    expect(got.lora.scale).toBe(lora.scale);
    expect([...got.lora.modules.keys()]).toEqual([...lora.modules.keys()]);
    for (const [k, m] of lora.modules) expect(got.lora.modules.get(k)).toEqual(m);
  });

  it('starts targets the adapter lacks fresh (B = 0) and refuses conflicting options', async () => {
    const dir = fresh();
    await exportPeftAdapter(dir, { baseDir: legacy.dir, lora: trained(legacy), settings: SETTINGS });
    const wider = await loadInitAdapter(
      dir,
      legacy,
      { targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
      createRng(1),
    );
    const o = wider.lora.modules.get('language_model.model.layers.1.self_attn.o_proj')!;
    expect(o.b.every((v) => v === 0)).toBe(true);
    expect(o.a.some((v) => v !== 0)).toBe(true);
    expect(wider.lora.modules.size).toBe(2 * 4);
    await expect(loadInitAdapter(dir, legacy, { r: 128 })).rejects.toThrow(
      /adapter_config\.json: the adapter has --lora-r 4 but 128 was asked/,
    );
    await expect(loadInitAdapter(dir, legacy, { targets: ['q_proj'] })).rejects.toThrow(
      /has targets q_proj,v_proj,down_proj/,
    );
  });

  it('an adapter of another model is refused with the key, the shapes and the file', async () => {
    const dir = fresh();
    await exportPeftAdapter(dir, { baseDir: other.dir, lora: trained(other), settings: SETTINGS });
    const err = (await loadInitAdapter(dir, legacy).catch((e: unknown) => e)) as Error & { kind: string };
    expect(err.kind).toBe('bad-file');
    expect(err.message).toContain(path.join(dir, ADAPTER_WEIGHTS));
    expect(err.message).toMatch(/lora_B\.weight" has shape \[48, 4\], expected \[32, 4\]/);
  });

  it('an adapter with vision modules is refused as unsupported', async () => {
    const dir = fresh();
    const h = TINY_LLAVA.vHidden;
    await writePeftAdapter(dir, {
      config: { r: 2, loraAlpha: 4, useRslora: false, targetModules: ['q_proj'], loraDropout: 0 },
      layout: 'legacy',
      modules: new Map([
        [
          'vision_tower.vision_model.encoder.layers.0.self_attn.q_proj',
          { a: new Float32Array(2 * h), b: new Float32Array(h * 2), inFeatures: h, outFeatures: h },
        ],
      ]),
    });
    await expect(loadInitAdapter(dir, legacy)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringMatching(/vision_tower.*only the language model's decoder layers take adapters/),
    });
  });

  it('a key that matches no module of the base is refused, listing the key and naming the file', async () => {
    const dir = fresh();
    await writePeftAdapter(dir, {
      config: { r: 2, loraAlpha: 4, useRslora: false, targetModules: ['q_proj'], loraDropout: 0 },
      layout: 'legacy',
      modules: new Map([
        [
          'language_model.model.layers.7.self_attn.q_proj',
          { a: new Float32Array(2 * 32), b: new Float32Array(32 * 2), inFeatures: 32, outFeatures: 32 },
        ],
      ]),
    });
    await expect(loadInitAdapter(dir, legacy)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringMatching(
        /adapter_model\.safetensors: 2 adapter key\(s\) match no module of the base model:\n {2}base_model\.model\.language_model\.model\.layers\.7\.self_attn\.q_proj\.lora_A\.weight/,
      ),
    });
  });

  it('a missing adapter_config.json or a truncated adapter_model.safetensors names the file', async () => {
    const dir = fresh();
    await exportPeftAdapter(dir, { baseDir: legacy.dir, lora: trained(legacy), settings: SETTINGS });
    truncateSync(path.join(dir, ADAPTER_WEIGHTS), 1000);
    await expect(loadInitAdapter(dir, legacy)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining(path.join(dir, ADAPTER_WEIGHTS)),
    });
    rmSync(path.join(dir, ADAPTER_CONFIG));
    await expect(loadInitAdapter(dir, legacy)).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(path.join(dir, ADAPTER_CONFIG)),
    });
  });
});
