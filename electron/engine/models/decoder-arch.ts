// The table of supported language-model architectures, keyed by
// text_config.model_type: adding a model type without an entry fails to compile.
import { LLAMA } from './llama';
import { QWEN2 } from './qwen2';
import type { TextModelType } from './spec';

export interface TextArch {
  /** Whether q_proj/k_proj/v_proj have a bias the checkpoint must provide. */
  attentionBias: boolean;
}

export const TEXT_ARCHS = {
  llama: LLAMA,
  mistral: LLAMA,
  qwen2: QWEN2,
} satisfies Record<TextModelType, TextArch>;
