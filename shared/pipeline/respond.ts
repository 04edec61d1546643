// The parameters of a respond run (issue #4, step 3), defined once with their
// defaults: the `pipeline.respond` request, the respond job's stored params
// (electron/pipeline/jobs/respond-job.ts) and `mia-dpo respond`'s options all
// derive from this schema.
import { z } from 'zod';
import { EpChoice } from '../ep';
import { WeightBlock, WeightsChoice } from '../weights';

export const RespondOptions = z.strictObject({
  /** The llava-hf model folder. */
  model: z.string().min(1),
  /** A PEFT LoRA adapter folder applied to the model; part of the model's identity. */
  adapter: z.string().min(1).optional(),
  ep: EpChoice.default('auto'),
  /** The weight format (issue 15): 'auto' keeps fp32 unless the model would not fit in free memory. Part of the model id. */
  weights: WeightsChoice.default('auto'),
  /** Weights per quantization scale for int8/int4. */
  weightBlock: WeightBlock.default(32),
  /** Decoder layer whose attention is read; default the model's middle layer. */
  layer: z.int().nonnegative().optional(),
  maxNewTokens: z.int().positive().default(512),
  /** 0 = greedy, the reference default. */
  temperature: z.number().min(0).default(0),
  seed: z.int().nonnegative().default(0),
  /** Apply the per-format noise of the settings' `perturb` to the images handed to the model (on by default, as the reference: decision 0105). */
  perturb: z.boolean().default(true),
  /**
   * How an image is fitted to the vision tower: 'pad', LLaVA-1.5's expand-to-square with the mean colour (the reference's
   * `image_aspect_ratio pad`, so a 1x3 collage keeps all three tiles: decision 0105), or 'crop', the processor's centre crop.
   */
  aspect: z.enum(['crop', 'pad']).default('pad'),
  /**
   * The prompt format: 'model', the model's own chat template (llava-hf: `USER: ... ASSISTANT:`), or 'llava_v0', the
   * conversation the reference generated with (system prompt, `###Human: ... ###Assistant:`).
   */
  template: z.enum(['model', 'llava_v0']).default('model'),
});
export type RespondOptions = z.output<typeof RespondOptions>;
