// The weight formats a model can run in (issue 15), defined once: the engine's
// model id and loader, the `pipeline.respond` request and the CLI's --weights
// and --weight-block derive from these. `auto` picks per machine and says why.
import { z } from 'zod';

export const WEIGHT_FORMATS = ['fp32', 'fp16', 'int8', 'int4'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

export const WEIGHT_CHOICES = ['auto', ...WEIGHT_FORMATS] as const;
export const WeightsChoice = z.enum(WEIGHT_CHOICES);
export type WeightsChoice = z.infer<typeof WeightsChoice>;

/** What a training run's frozen base may be held in (no fp16 base: decision 0840); fp32 first, the default. */
export const TRAIN_WEIGHT_CHOICES = ['fp32', 'auto', 'int8', 'int4'] as const;

/** One line per choice for the UI's selects. */
export const WEIGHT_LABELS: Record<WeightsChoice, string> = {
  auto: 'Automatic (fp16 on a GPU that can, else what fits in memory)',
  fp32: 'fp32 (full precision)',
  fp16: 'fp16 (GPUs that compute in it)',
  int8: 'int8 (about a third of fp32)',
  int4: 'int4 (about a sixth of fp32)',
};

/** Weights per quantization scale for int8/int4 (32: llama.cpp's Q8_0/Q4_0; 128: smaller files, coarser). */
export const WEIGHT_BLOCKS = [32, 128] as const;
export type WeightBlock = (typeof WEIGHT_BLOCKS)[number];
export const WeightBlock = z
  .int()
  .refine((b) => (WEIGHT_BLOCKS as readonly number[]).includes(b), { message: 'must be 32 or 128' })
  .transform((b) => b as WeightBlock);
