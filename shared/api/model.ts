// What `model.inspect` (and `mia-dpo model inspect --json`) says about a model
// folder: its architecture and sizes and whether this version can run it, or
// the reason it cannot. The respond form shows it before a run is started.
import { z } from 'zod';
import { ERROR_KINDS } from '../errors';

export const ModelInspection = z.discriminatedUnion('supported', [
  z.object({
    dir: z.string(),
    supported: z.literal(false),
    reason: z.string(),
    kind: z.enum(ERROR_KINDS),
  }),
  z.object({
    dir: z.string(),
    supported: z.literal(true),
    architecture: z.object({ text: z.string(), vision: z.string() }),
    layout: z.string(),
    dtype: z.string(),
    parameters: z.int().nonnegative(),
    text: z.object({
      hidden_size: z.int(),
      layers: z.int(),
      heads: z.int(),
      kv_heads: z.int(),
      vocab: z.int(),
      context: z.int(),
    }),
    vision: z.object({
      hidden_size: z.int(),
      layers: z.int(),
      image_size: z.int(),
      patch_size: z.int(),
      feature_layers: z.array(z.int()),
      select_strategy: z.string(),
    }),
    image_tokens_per_image: z.int(),
    /** The decoder layer whose attention respond reads when none is given (the middle one). */
    default_attention_layer: z.int().nonnegative(),
    chat_template: z.boolean(),
    preprocessor_config: z.boolean(),
  }),
]);
export type ModelInspection = z.infer<typeof ModelInspection>;
