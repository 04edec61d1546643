// The execution providers a model can run on, defined once: the engine's
// session options, the `pipeline.respond` request and the CLI's --ep all
// derive from these lists. `auto` tries CUDA, then WebGPU, then the CPU.
import { z } from 'zod';

export const EXPLICIT_EPS = ['cpu', 'webgpu', 'cuda'] as const;
export type ExplicitEp = (typeof EXPLICIT_EPS)[number];

export const EP_CHOICES = ['auto', ...EXPLICIT_EPS] as const;
export const EpChoice = z.enum(EP_CHOICES);
export type EpChoice = z.infer<typeof EpChoice>;
