// PEFT LoRA adapter folders (adapter_config.json + adapter_model.safetensors):
// loading onto a base checkpoint, whose keys `base_model.model.<module>.lora_A.weight`
// / `lora_B.weight` may use either llava-hf layout, failing loudly with every
// key that matches no module of the base; and writing one for export.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { fromFloat32, toFloat32 } from '../weights/decode';
import { SafetensorsFile } from '../weights/reader';
import type { TensorEntry } from '../weights/header';
import { writeSafetensors, type TensorsToWrite } from '../weights/writer';
import { canonicalName, layoutOfName, storedName, type WeightLayout } from './names';
import { loraConfigJson, loraScale, parseLoraConfig, type LoraConfig } from './peft-config';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
const KEY = /^base_model\.model\.(.+)\.lora_([AB])\.weight$/;

/** What the loader needs of the base model: the shape of a weight by canonical name (Checkpoint fits). */
export interface BaseModel {
  ref(canonical: string): { shape: readonly number[] } | undefined;
  /** A key's tensor name in canonical form (default: llava-hf's canonicalName; adapter-base.ts gives IXC2.5's). */
  canonical?(name: string): string | null;
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
    const file = await SafetensorsFile.open(path.join(dir, ADAPTER_WEIGHTS));
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
    const canonical = m ? (base.canonical ? base.canonical(`${m[1]}.weight`) : canonicalName(`${m[1]}.weight`)) : null;
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
    throw new AppError(
      'bad-file',
      `${file.path}: ${unmatched.length} adapter key(s) match no module of the base model:\n  ${unmatched.join('\n  ')}`,
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
