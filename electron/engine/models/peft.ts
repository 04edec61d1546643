// PEFT LoRA adapter folders (adapter_config.json + adapter_model.safetensors):
// loading onto a base checkpoint, whose keys `base_model.model.<module>.lora_A.weight`
// / `lora_B.weight` may use either llava-hf layout, failing loudly with every
// key that matches no module of the base; and writing one for export.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { fromFloat32, toFloat32 } from '../weights/decode';
import { SafetensorsFile } from '../weights/reader';
import type { TensorEntry } from '../weights/header';
import { writeSafetensors, type TensorsToWrite } from '../weights/writer';
import type { ModelFamily } from './arch';
import { canonicalName, layoutOfName, storedName, type WeightLayout } from './names';
import { loraConfigJson, loraScale, parseLoraConfig, type LoraConfig } from './peft-config';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** What older PEFT (and the official IXC2.5 fine-tuning's version) saves by default: a PyTorch pickle. */
export const ADAPTER_PICKLE = 'adapter_model.bin';
const KEY = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

/** What the loader needs of the base model: the shape of a weight by canonical name (Checkpoint fits). */
export interface BaseModel {
  ref(canonical: string): { shape: readonly number[] } | undefined;
  /**
   * The canonical name of a stored weight name (`<module>.weight` from a PEFT key), null when it names nothing of
   * this family. Default: llava-hf's (names.ts canonicalName, both layouts). IXC2.5 keeps its names as they are.
   */
  canonical?(stored: string): string | null;
  /** The base's family, for messages about an adapter of another one (default llava). */
  family?: ModelFamily;
}

/** PEFT module paths (between `base_model.model.` and `.lora_A`) that give away an adapter's family. */
const FAMILY_OF_MODULE: [RegExp, ModelFamily][] = [
  [/(?:^|\.)layers\.\d+\.(?:attention\.(?:wqkv|wo)|feed_forward\.w[123])$/, 'ixc'],
  [/(?:^|\.)layers\.\d+\.(?:self_attn\.[qkvo]_proj|mlp\.(?:gate|up|down)_proj)$/, 'llava'],
];

const FAMILY_NAME: Record<ModelFamily, string> = { llava: 'llava-hf', ixc: 'InternLM-XComposer-2.5' };

/** The family whose module names `keys` (unmatched adapter keys) use, when they all agree on one. */
function familyOfKeys(keys: readonly string[]): ModelFamily | undefined {
  const found = new Set(
    keys.map((k) => {
      const module = KEY.exec(k)?.[1];
      return module === undefined ? undefined : FAMILY_OF_MODULE.find(([re]) => re.test(module))?.[1];
    }),
  );
  return found.size === 1 ? [...found][0] : undefined;
}

export interface LoraModule {
  /** Canonical module path, e.g. `language_model.model.layers.0.self_attn.q_proj`. */
  module: string;
  a: TensorEntry; // [r, in]
  b: TensorEntry; // [out, r]
}

export class PeftAdapter {
  private constructor(
    readonly dir: string,
    readonly config: LoraConfig,
    readonly layout: WeightLayout,
    /** By canonical module path. */
    readonly modules: ReadonlyMap<string, LoraModule>,
    private readonly file: SafetensorsFile,
  ) {}

  /** The multiplier of B·A. */
  get scale(): number {
    return loraScale(this.config);
  }

  static async load(dir: string, base: BaseModel): Promise<PeftAdapter> {
    const configFile = path.join(dir, ADAPTER_CONFIG);
    let raw: string;
    try {
      raw = await readFile(configFile, 'utf8');
    } catch (e) {
      throw new AppError('not-found', `${configFile}: cannot read the adapter config (${(e as Error).message})`, {
        subject: configFile,
        cause: e,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new AppError('bad-file', `${configFile}: not valid JSON (${(e as Error).message})`, {
        subject: configFile,
        cause: e,
      });
    }
    const config = parseLoraConfig(json, configFile);
    const weightsFile = path.join(dir, ADAPTER_WEIGHTS);
    const pickled = path.join(dir, ADAPTER_PICKLE);
    if (!existsSync(weightsFile) && existsSync(pickled))
      throw new AppError(
        'unsupported',
        `${pickled}: PyTorch pickle adapters are not read (they can run code when loaded); save the adapter as ${ADAPTER_WEIGHTS} (PEFT save_pretrained(..., safe_serialization=True))`,
        { subject: pickled },
      );
    const file = await SafetensorsFile.open(weightsFile);
    try {
      const { modules, layout } = matchModules(file, base, config);
      return new PeftAdapter(dir, config, layout, modules, file);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** A module's A [r, in] and B [out, r] as float32. */
  async read(module: string): Promise<{ a: Float32Array; b: Float32Array }> {
    const m = this.modules.get(module);
    if (!m)
      throw new AppError('not-found', `${this.dir}: the adapter has no LoRA weights for ${module}`, {
        subject: module,
      });
    const [a, b] = await Promise.all([this.file.read(m.a.name), this.file.read(m.b.name)]);
    return { a: toFloat32(m.a.dtype, a), b: toFloat32(m.b.dtype, b) };
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function matchModules(
  file: SafetensorsFile,
  base: BaseModel,
  config: LoraConfig,
): { modules: Map<string, LoraModule>; layout: WeightLayout } {
  const unmatched: string[] = [];
  const halves = new Map<string, { a?: TensorEntry; b?: TensorEntry }>();
  let layout: WeightLayout | null = null;
  for (const entry of file.tensors) {
    const m = KEY.exec(entry.name);
    const canonical = m ? (base.canonical ?? canonicalName)(`${m[1]}.weight`) : null;
    const target = canonical === null ? undefined : base.ref(canonical);
    if (!m || canonical === null || !target) {
      unmatched.push(entry.name);
      continue;
    }
    layout ??= layoutOfName(m[1] as string);
    const module = canonical.slice(0, -'.weight'.length);
    const pair = halves.get(module) ?? {};
    pair[m[2] === 'A' ? 'a' : 'b'] = entry;
    halves.set(module, pair);
  }
  if (unmatched.length > 0) {
    const baseFamily = base.family ?? 'llava';
    const keysFamily = familyOfKeys(unmatched);
    const why =
      keysFamily !== undefined && keysFamily !== baseFamily && halves.size === 0
        ? `this is an adapter for ${FAMILY_NAME[keysFamily]} models (module names such as "${KEY.exec(unmatched[0]!)?.[1]}"); the base model is ${baseFamily === 'llava' ? 'a llava-hf' : 'an InternLM-XComposer-2.5'} folder. `
        : '';
    throw new AppError(
      'bad-file',
      `${file.path}: ${why}${unmatched.length} adapter key(s) match no module of the base model:\n  ${unmatched.join('\n  ')}`,
      { subject: file.path },
    );
  }
  const modules = new Map<string, LoraModule>();
  for (const [module, { a, b }] of halves) {
    if (!a || !b)
      throw new AppError('bad-file', `${file.path}: ${module} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`, {
        subject: module,
      });
    const [out, inF] = base.ref(`${module}.weight`)?.shape ?? [];
    checkShape(file.path, a, [config.r, inF as number]);
    checkShape(file.path, b, [out as number, config.r]);
    modules.set(module, { module, a, b });
  }
  if (modules.size === 0)
    throw new AppError('bad-file', `${file.path}: the adapter holds no LoRA weights`, { subject: file.path });
  return { modules, layout: layout ?? 'legacy' };
}

function checkShape(file: string, e: TensorEntry, want: number[]): void {
  if (e.shape.length !== 2 || e.shape[0] !== want[0] || e.shape[1] !== want[1]) {
    throw new AppError(
      'bad-file',
      `${file}: "${e.name}" has shape [${e.shape.join(', ')}], expected [${want.join(', ')}] (r from adapter_config.json, features from the base weight)`,
      {
        subject: e.name,
      },
    );
  }
}

export interface AdapterToWrite {
  config: LoraConfig;
  /**
   * Key names follow this layout; match the base checkpoint's so PEFT loads it onto the same transformers version.
   * 'ixc': InternLM-XComposer-2.5's module paths as they are (`model.layers.N.attention.wqkv`), as PEFT names them
   * on InternLMXComposer2ForCausalLM.
   */
  layout: WeightLayout | 'ixc';
  dtype?: 'F32' | 'F16' | 'BF16';
  /** By canonical module path: A [r, in] and B [out, r], row-major float32. */
  modules: ReadonlyMap<string, { a: Float32Array; b: Float32Array; inFeatures: number; outFeatures: number }>;
}

/** Writes a PEFT adapter folder that `PeftModel.from_pretrained` loads. */
export async function writePeftAdapter(dir: string, adapter: AdapterToWrite): Promise<void> {
  const dtype = adapter.dtype ?? 'F32';
  const r = adapter.config.r;
  const tensors: TensorsToWrite = {};
  for (const [module, m] of adapter.modules) {
    if (m.a.length !== r * m.inFeatures || m.b.length !== m.outFeatures * r) {
      throw new AppError(
        'internal',
        `LoRA weights of ${module} do not match r = ${r}, in = ${m.inFeatures}, out = ${m.outFeatures}`,
      );
    }
    const stored =
      adapter.layout === 'ixc' ? module : storedName(`${module}.weight`, adapter.layout).slice(0, -'.weight'.length);
    const key = `base_model.model.${stored}`;
    tensors[`${key}.lora_A.weight`] = { dtype, shape: [r, m.inFeatures], data: fromFloat32(dtype, m.a) };
    tensors[`${key}.lora_B.weight`] = { dtype, shape: [m.outFeatures, r], data: fromFloat32(dtype, m.b) };
  }
  await mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
  await writeFile(path.join(dir, ADAPTER_CONFIG), JSON.stringify(loraConfigJson(adapter.config), null, 2));
}
