// A PEFT LoRA adapter trained on an InternLM-XComposer-2.5 folder, read back
// for inference: the official fine-tuning's layout (finetune.py through PEFT:
// keys `base_model.model.model.layers.N.attention.wqkv.lora_A.weight`, ...,
// `adapter_config.json` with r, lora_alpha and target_modules
// `attention.wqkv`, `attention.wo`, `feed_forward.w1`, `w2`, `w3`), which is
// also what the DPO trainer exports (peft.ts layout 'ixc'). The keys keep the
// model's own module paths, so they are matched against the checkpoint's
// names as stored; every module must be one of the decoder layers' five
// linears, with the base's shapes (packed wqkv: B is [(heads + 2 kv) * hd, r]),
// and be selected by the config's target_modules. The weights go into the
// graphs as lora.ts's unmerged branch (beside the frozen weights and the
// frozen PLoRA, on every row, scale alpha / r) or merged into W.
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import type { IxcCheckpoint } from './checkpoint-ixc';
import type { LoraModuleWeights, LoraWeights } from './lora';
import { ADAPTER_CONFIG, PeftAdapter, type BaseModel } from './peft';

/** A module the fine-tuning LoRA may adapt: one of a decoder layer's five linears. */
export const IXC_LORA_MODULE = /^model\.layers\.\d+\.(?:attention\.(?:wqkv|wo)|feed_forward\.w[123])$/;

/** The checkpoint as PeftAdapter.load matches keys against it: IXC2.5's names as they are. */
export function ixcPeftBase(checkpoint: IxcCheckpoint): BaseModel {
  return {
    ref: (name) => checkpoint.ref(name),
    canonical: (stored) => (checkpoint.ref(stored) ? stored : null),
    family: 'ixc',
  };
}

/**
 * Whether PEFT would wrap `module` given `target_modules`: a string is a regex full-matched against the module
 * name; a list entry matches the name itself or its last components (PEFT's `endswith("." + key)`).
 */
export function peftTargets(targetModules: string[] | string, module: string): boolean {
  if (typeof targetModules === 'string') return new RegExp(`^(?:${targetModules})$`).test(module);
  return targetModules.some((t) => module === t || module.endsWith(`.${t}`));
}

/** Reads the adapter in `dir` against an IXC2.5 checkpoint into LoRA weights keyed by the graphs' module names. */
export async function loadIxcAdapter(dir: string, checkpoint: IxcCheckpoint): Promise<LoraWeights> {
  const adapter = await PeftAdapter.load(dir, ixcPeftBase(checkpoint));
  try {
    const configFile = path.join(dir, ADAPTER_CONFIG);
    const modules = new Map<string, LoraModuleWeights>();
    const r = adapter.config.r;
    for (const module of adapter.modules.keys()) {
      if (!IXC_LORA_MODULE.test(module))
        throw new AppError(
          'unsupported',
          `${dir}: LoRA on ${module} is not supported; only the decoder layers' attention.wqkv, attention.wo and feed_forward.w1, w2, w3 take adapters`,
          { subject: module },
        );
      const targets = adapter.config.targetModules;
      if ((typeof targets === 'string' || targets.length > 0) && !peftTargets(targets, module))
        throw new AppError(
          'bad-file',
          `${configFile}: target_modules ${JSON.stringify(targets)} does not select ${module}, which the weights adapt`,
          { subject: configFile },
        );
      const { a, b } = await adapter.read(module);
      modules.set(module, { a, b, inFeatures: a.length / r, outFeatures: b.length / r });
    }
    return { rank: r, scale: adapter.scale, modules };
  } finally {
    await adapter.close();
  }
}
