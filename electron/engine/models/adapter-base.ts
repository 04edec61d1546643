// The base model a PEFT LoRA adapter is written for, read against or merged
// into, whatever its family (config.json's architecture, arch.ts familyOf):
// llava-hf (canonical names in either key layout, the language model's
// q/k/v/o/gate/up/down, target_modules a regex, decision 0620) or
// InternLM-XComposer-2.5 (official module paths kept as they are, LoRA on
// wqkv / wo / w1 / w2 / w3, target_modules the official finetune.py list,
// decision 0722). Export, checkpoints, copies and merges take the family's
// facts from here, never by testing the family themselves.
import { AppError } from '../../../shared/errors';
import type { TensorRef, WeightSet } from '../weights/weight-set';
import { familyOf, type ModelFamily } from './arch';
import { Checkpoint } from './checkpoint';
import { IxcCheckpoint } from './checkpoint-ixc';
import { readConfigJson } from './config';
import { ixcLoraModules, IXC_LORA_TARGETS, IXC_PEFT_TARGET_MODULES, ixcSpec, type IxcLoraTarget } from './ixc';
import { IXC_LORA_MODULE } from './ixc-peft';
import { llavaSpec } from './llava';
import { LORA_TARGETS, loraModules, type LoraTarget } from './lora';
import { canonicalName, type WeightLayout } from './names';

export interface AdapterBase {
  dir: string;
  family: ModelFamily;
  /** How adapter keys name modules: llava-hf's stored layout, or IXC2.5's official paths ('ixc'). */
  layout: WeightLayout | 'ixc';
  /** The LoRA target names this family takes. */
  targets: readonly string[];
  /** The weights as stored (names, dtypes, reads): what a merge copies. */
  weights: WeightSet;
  /** The weight behind a canonical name (what PEFT keys resolve to), with its shape. */
  ref(canonical: string): Pick<TensorRef, 'shape'> | undefined;
  /** A stored or adapter-key tensor name in canonical form, or null when it is no weight of this family. */
  canonical(name: string): string | null;
  /** The modules `targets` select, in the order a fresh LoRA initialises them, with their [out, in] sizes. */
  loraModules(targets: readonly string[]): { module: string; inFeatures: number; outFeatures: number }[];
  /** Whether a module path is one of the language model's linear layers that LoRA may adapt. */
  isLanguageModule(module: string): boolean;
  /** adapter_config.json's target_modules for `targets`. */
  targetModules(targets: readonly string[]): string | string[];
  /** The weight files the model reads (what engine/generate/model-id.ts hashes, as the family's session does). */
  weightFiles(): string[];
  close(): Promise<void>;
}

const LLAVA_LM_LAYERS = 'language_model.model.layers.';

/**
 * PEFT's target_modules for llava-hf `targets`: a regex PEFT full-matches against module
 * names, written so that only the language model's decoder layers match, in
 * both the older (`language_model.model.layers.N`) and newer
 * (`model.language_model.layers.N`) transformers layouts. A plain list would
 * also match CLIP's and SigLIP's `self_attn.{q,k,v}_proj`.
 */
export function targetModulesRegex(targets: readonly LoraTarget[]): string {
  return `(?:.*\\.)?language_model\\.(?:model\\.)?layers\\.\\d+\\.(?:self_attn|mlp)\\.(?:${targets.join('|')})`;
}

/** Refuses target names of another family, naming the ones this family takes. */
export function checkFamilyTargets(dir: string, family: ModelFamily, targets: readonly string[]): void {
  const valid: readonly string[] = family === 'ixc' ? IXC_LORA_TARGETS : LORA_TARGETS;
  const wrong = targets.filter((t) => !valid.includes(t));
  if (wrong.length > 0) {
    const name = family === 'ixc' ? 'an InternLM-XComposer-2.5' : 'a llava-hf';
    throw new AppError(
      'bad-input',
      `${dir} is ${name} model: LoRA target${wrong.length === 1 ? '' : 's'} ${wrong.join(', ')} ${wrong.length === 1 ? 'is' : 'are'} not among its layers; valid targets: ${valid.join(', ')}`,
      { subject: 'loraTargets' },
    );
  }
}

/** config.json's family ('llava' when it cannot be read: the llava path names the folder and the problem). */
export async function modelFamilyOf(dir: string): Promise<ModelFamily> {
  try {
    const f = familyOf((await readConfigJson(dir)).json);
    return f === 'unknown' ? 'llava' : f;
  } catch {
    return 'llava';
  }
}

/** Opens `dir` as the base of adapters, by its family. */
export async function openAdapterBase(dir: string): Promise<AdapterBase> {
  if ((await modelFamilyOf(dir)) === 'ixc') {
    const c = await IxcCheckpoint.open(dir);
    const spec = ixcSpec(c.config, c.ploraRank);
    return {
      dir,
      family: 'ixc',
      layout: 'ixc',
      targets: IXC_LORA_TARGETS,
      weights: c.weights,
      ref: (name) => c.ref(name),
      canonical: (name) => (c.shapes.has(name) ? name : null),
      loraModules: (targets) => ixcLoraModules(spec, targets),
      isLanguageModule: (m) => IXC_LORA_MODULE.test(m),
      targetModules: (targets) =>
        IXC_LORA_TARGETS.filter((t) => targets.includes(t)).map((t) => IXC_PEFT_TARGET_MODULES[t as IxcLoraTarget]),
      weightFiles: () => [...new Set(c.names().map((n) => c.get(n).location))],
      close: () => c.close(),
    };
  }
  const c = await Checkpoint.open(dir);
  return {
    dir,
    family: 'llava',
    layout: c.layout,
    targets: LORA_TARGETS,
    weights: c.weights,
    ref: (name) => c.ref(name),
    canonical: canonicalName,
    loraModules: (targets) => loraModules(llavaSpec(c.config).text, targets),
    isLanguageModule: (m) => m.startsWith(LLAVA_LM_LAYERS),
    targetModules: (targets) => targetModulesRegex(targets as readonly LoraTarget[]),
    weightFiles: () => [...new Set(c.names().map((n) => c.get(n).location))],
    close: () => c.close(),
  };
}
