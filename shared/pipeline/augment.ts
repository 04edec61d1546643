// The parameters of an augmentation run (issue #4, step 1), defined once with
// their defaults: the `pipeline.augment` request, the augment job's stored
// params (electron/pipeline/jobs/augment-job.ts) and `mia-dpo augment`'s
// options derive from this schema.
import { z } from 'zod';
import { FORMATS } from './formats';

export const AugmentOptions = z.strictObject({
  /** Seed of every random choice (formats, image counts, target, partner images). */
  seed: z.int().nonnegative().default(0),
  /** How many augmented samples to make; all the imported samples allow when absent. */
  count: z.int().positive().optional(),
  /** Only these formats; the settings' mix when absent. */
  formats: z.array(z.enum(FORMATS)).min(1).optional(),
});
export type AugmentOptions = z.output<typeof AugmentOptions>;
