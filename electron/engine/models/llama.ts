// Llama-family decoder facts (Llama 2, Vicuna, Mistral): q/k/v/o without bias.
// The shared block code is in decoder.ts; this module only states what makes
// the architecture itself. Reference: HF modeling_llama.py.
import type { TextArch } from './decoder-arch';

export const LLAMA: TextArch = {
  attentionBias: false,
};
