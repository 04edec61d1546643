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
    /** The model family (absent from older versions: llava). */
    family: z.enum(['llava', 'ixc']).optional(),
    /** The tokenizer file the folder ships: tokenizer.json (HF fast), tokenizer.model (SentencePiece) or none. */
    tokenizer: z.enum(['tokenizer.json', 'tokenizer.model', 'none']).optional(),
    /** False when this version can describe the folder but not generate with it yet (absent: it can). */
    can_generate: z.boolean().optional(),
    /** Why can_generate is false, for people. */
    note: z.string().optional(),
    /** InternLM-XComposer-2.5 only: the HD crop scheme and Partial LoRA. */
    ixc: z
      .object({
        crop_size: z.int(),
        /** Tokens merged per side (2: 2x2). */
        merge: z.int(),
        hd_num: z.int(),
        hd_num_multi: z.int(),
        plora_rank: z.int(),
        /** The mode adapters present (lora_sft, lora_dpo, lora_web), unused for chat. */
        mode_adapters: z.array(z.string()),
        /** none, or `dynamic xF` / `linear xF`. */
        rope_scaling: z.string(),
        /** Tokens per image, separators included: fewest (one crop), most at hd_num and at hd_num_multi. */
        image_tokens: z.object({ min: z.int(), max: z.int(), max_multi: z.int() }),
      })
      .optional(),
  }),
]);
export type ModelInspection = z.infer<typeof ModelInspection>;
