// From a user's prompt (chat messages, or raw text with `<image>` placeholders)
// and the images' feature-token counts to the model's input ids and image spans:
// the one call the generation and scoring code makes on the text side.

import { AppError } from '../../../shared/errors';
import { renderPrompt } from './chat-template';
import type { ChatMessage, RenderOptions } from './chat-template';
import { expandImageTokens } from './image-tokens';
import type { ImageSpan } from './image-tokens';
import type { TextTokenizer } from './tokenizer';

export type PromptSource =
  | { messages: readonly ChatMessage[]; render?: RenderOptions }
  /** The full text given to the tokenizer, no chat template (the CLI's `--raw`). */
  | { raw: string };

export interface EncodedPrompt {
  /** The text the tokenizer encoded. */
  text: string;
  /** Input ids with each image's placeholder expanded to its feature tokens. */
  ids: number[];
  spans: ImageSpan[];
}

export interface EncodePromptOptions {
  /** Feature tokens of each image in prompt order (576 for LLaVA-1.5 at 336 px). */
  featureTokens: readonly number[];
  /** The model's context length; a longer merged prompt is an error. */
  maxLength?: number;
}

export function encodePrompt(
  tokenizer: TextTokenizer,
  prompt: PromptSource,
  options: EncodePromptOptions,
): EncodedPrompt {
  const text =
    'raw' in prompt
      ? prompt.raw
      : renderPrompt(tokenizer, prompt.messages, { addGenerationPrompt: true, ...prompt.render });
  const ids = tokenizer.encode(text);
  const image = tokenizer.special.image;
  if (image === undefined) {
    if (options.featureTokens.length > 0) {
      throw new AppError(
        'unsupported',
        `${tokenizer.source} has no image token, so the prompt cannot take ${options.featureTokens.length} image(s)`,
      );
    }
    return checkLength({ text, ids, spans: [] }, options.maxLength);
  }
  return checkLength({ text, ...expandImageTokens(ids, image.id, options.featureTokens) }, options.maxLength);
}

function checkLength(prompt: EncodedPrompt, maxLength: number | undefined): EncodedPrompt {
  if (maxLength !== undefined && prompt.ids.length > maxLength) {
    throw new AppError(
      'bad-input',
      `the prompt is ${prompt.ids.length} tokens with its image tokens, longer than the model's context of ${maxLength}`,
    );
  }
  return prompt;
}
