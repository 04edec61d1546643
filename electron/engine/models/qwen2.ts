// Qwen2 decoder facts: the same block as Llama but q/k/v projections carry a
// bias (o does not). Small Qwen2 models tie lm_head to embed_tokens, which the
// config states (tie_word_embeddings). Reference: HF modeling_qwen2.py.
import type { TextArch } from './decoder-arch';

export const QWEN2: TextArch = {
  attentionBias: true,
};
