// adapter_config.json of a PEFT LoRA adapter: validated with zod, refusing
// the PEFT features this engine does not implement (DoRA, per-module ranks,
// extra saved modules, fan_in_fan_out) by field name; and the same file
// written back for export, with the fields PEFT writes itself.
import { z } from 'zod';
import { AppError } from '../../../shared/errors';

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  /** Module names (last path component) or one regular expression, as PEFT stores it. */
  targetModules: string[] | string;
  baseModel?: string;
  loraDropout: number;
}

const schema = z.looseObject({
  peft_type: z.string().nullish(),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  use_rslora: z.boolean().nullish(),
  target_modules: z.union([z.array(z.string()), z.string()]).nullish(),
  base_model_name_or_path: z.string().nullish(),
  lora_dropout: z.number().min(0).max(1).nullish(),
  bias: z.string().nullish(),
  fan_in_fan_out: z.boolean().nullish(),
  use_dora: z.boolean().nullish(),
  modules_to_save: z.array(z.string()).nullish(),
  rank_pattern: z.record(z.string(), z.unknown()).nullish(),
  alpha_pattern: z.record(z.string(), z.unknown()).nullish(),
});

/** Validates a parsed adapter_config.json; `file` names it in errors. */
export function parseLoraConfig(raw: unknown, file: string): LoraConfig {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    const field = issue.path.map(String).join('.') || '(root)';
    const value =
      typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[String(issue.path[0])] : raw;
    throw new AppError('bad-input', `${file}: ${field} = ${JSON.stringify(value)} is invalid: ${issue.message}`, {
      subject: field,
    });
  }
  const c = r.data;
  const unsupported = (field: string, value: unknown, why: string): never => {
    throw new AppError('unsupported', `${file}: ${field} = ${JSON.stringify(value)} is not supported (${why})`, {
      subject: field,
    });
  };
  if ((c.peft_type ?? 'LORA') !== 'LORA') unsupported('peft_type', c.peft_type, 'only LORA adapters load');
  if (c.use_dora) unsupported('use_dora', true, 'DoRA adapters are not implemented');
  if (c.fan_in_fan_out) unsupported('fan_in_fan_out', true, 'only nn.Linear layouts occur in LLaVA');
  if ((c.bias ?? 'none') !== 'none') unsupported('bias', c.bias, 'trained biases are not implemented');
  if (c.modules_to_save?.length)
    unsupported('modules_to_save', c.modules_to_save, 'fully trained modules are not implemented');
  if (Object.keys(c.rank_pattern ?? {}).length)
    unsupported('rank_pattern', c.rank_pattern, 'per-module ranks are not implemented');
  if (Object.keys(c.alpha_pattern ?? {}).length)
    unsupported('alpha_pattern', c.alpha_pattern, 'per-module alphas are not implemented');
  return {
    r: c.r,
    loraAlpha: c.lora_alpha,
    useRslora: c.use_rslora ?? false,
    targetModules: c.target_modules ?? [],
    ...(c.base_model_name_or_path ? { baseModel: c.base_model_name_or_path } : {}),
    loraDropout: c.lora_dropout ?? 0,
  };
}

/** The multiplier of B·A: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScale(c: LoraConfig): number {
  return c.useRslora ? c.loraAlpha / Math.sqrt(c.r) : c.loraAlpha / c.r;
}

/** adapter_config.json as PEFT writes it for a LoRA adapter. */
export function loraConfigJson(c: LoraConfig): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: c.baseModel ?? null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: c.targetModules,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: c.useRslora,
  };
}
