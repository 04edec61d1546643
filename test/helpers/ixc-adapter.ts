// A PEFT LoRA adapter for a tiny IXC2.5 folder with random weights in the
// official layout (keys `base_model.model.model.layers.N.attention.wqkv.lora_A.weight`,
// ..., target_modules as finetune.py lists them), written by peft.ts's writer
// as the DPO trainer's export does. B is random too (not PEFT's zeros), so the
// adapter changes the model's outputs.
import {
  IXC_LORA_TARGETS,
  IXC_PEFT_TARGET_MODULES,
  ixcLoraModules,
  type IxcSpec,
} from '../../electron/engine/models/ixc';
import type { LoraModuleWeights } from '../../electron/engine/models/lora';
import { writePeftAdapter } from '../../electron/engine/models/peft';

export interface RandomIxcAdapterOptions {
  r?: number;
  alpha?: number;
  seed?: number;
  /** Largest |value| of A and B. */
  magnitude?: number;
  dtype?: 'F32' | 'F16' | 'BF16';
}

/** Writes the adapter into `dir`; returns its modules as written (float32) and its scale. */
export async function writeRandomIxcAdapter(
  dir: string,
  spec: IxcSpec,
  o: RandomIxcAdapterOptions = {},
): Promise<{ modules: Map<string, LoraModuleWeights>; scale: number }> {
  const r = o.r ?? 4;
  const alpha = o.alpha ?? 8;
  const mag = o.magnitude ?? 0.3;
  let state = (o.seed ?? 1) >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 2 ** 32) * 2 - 1;
  };
  const modules = new Map<string, LoraModuleWeights>();
  for (const m of ixcLoraModules(spec, IXC_LORA_TARGETS)) {
    modules.set(m.module, {
      a: Float32Array.from({ length: r * m.inFeatures }, () => rand() * mag),
      b: Float32Array.from({ length: m.outFeatures * r }, () => rand() * mag),
      inFeatures: m.inFeatures,
      outFeatures: m.outFeatures,
    });
  }
  await writePeftAdapter(dir, {
    config: {
      r,
      loraAlpha: alpha,
      useRslora: false,
      loraDropout: 0.05,
      targetModules: IXC_LORA_TARGETS.map((t) => IXC_PEFT_TARGET_MODULES[t]),
    },
    layout: 'ixc',
    modules,
    ...(o.dtype ? { dtype: o.dtype } : {}),
  });
  return { modules, scale: alpha / r };
}
