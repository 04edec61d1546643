// Turns chat messages (text and image parts) into the prompt string the tokenizer
// encodes: the model's own Jinja chat template through @huggingface/jinja, else
// LLaVA-1.5's `USER: <image>\n{question} ASSISTANT:` format; or, asked for by
// name, the built-in `llava_v0` conversation the MIA-DPO reference generated with.

import { Template } from '@huggingface/jinja';
import { AppError } from '../../../shared/errors';
import { IMAGE_PLACEHOLDER } from './image-placeholders';
import type { TextTokenizer } from './tokenizer';

export type ContentPart = { type: 'text'; text: string } | { type: 'image' };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  /** A string may hold image placeholders (the image token, e.g. `<image>`) where images go. */
  content: string | readonly ContentPart[];
}

export interface RenderOptions {
  /** End with the assistant's turn opener (`ASSISTANT:`) so the model answers next. */
  addGenerationPrompt?: boolean;
  /** Use this template instead of the model's own (or the LLaVA-1.5 default). */
  template?: string;
  /** More template variables, e.g. `{ enable_thinking: false }`. */
  variables?: Record<string, unknown>;
}

/**
 * LLaVA-1.5 (conv_vicuna_v1 without a system prompt): user turns end with a space,
 * answers with the EOS token. Multi-turn: `USER: q1 ASSISTANT: a1</s>USER: q2 ASSISTANT:`.
 */
export const LLAVA_15_TEMPLATE = [
  '{%- for message in messages -%}',
  "{%- if message.role == 'system' -%}{{ message.content + ' ' }}",
  "{%- elif message.role == 'user' -%}{{ 'USER: ' + message.content + ' ' }}",
  "{%- else -%}{{ 'ASSISTANT: ' + message.content + eos_token }}",
  '{%- endif -%}',
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{ 'ASSISTANT:' }}{%- endif -%}",
].join('');

/** The prompt formats a caller can name: the model's own chat template, or LLaVA's `llava_v0` conversation. */
export type PromptTemplate = 'model' | 'llava_v0';

/** conv_llava_v0's system prompt, used when the messages bring none. */
export const LLAVA_V0_SYSTEM =
  "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions.";

/**
 * LLaVA's `llava_v0` conversation (SeparatorStyle.SINGLE, separator `###`, roles Human / Assistant), which the MIA-DPO
 * reference generated its responses with: `{system}###Human: <image>\n{q}###Assistant: {a}###Human: {q2}###Assistant:`.
 * Every turn, answers included, ends with the separator (no EOS token), so generation stops at `###` (LLAVA_V0_STOP).
 */
export const LLAVA_V0_TEMPLATE = [
  "{%- if messages[0].role == 'system' -%}{{ messages[0].content }}{%- else -%}{{ system_prompt }}{%- endif -%}",
  "{{ '###' }}",
  '{%- for message in messages -%}',
  "{%- if message.role == 'user' -%}{{ 'Human: ' + message.content + '###' }}",
  "{%- elif message.role == 'assistant' -%}{{ 'Assistant: ' + message.content + '###' }}",
  '{%- endif -%}',
  '{%- endfor -%}',
  "{%- if add_generation_prompt -%}{{ 'Assistant:' }}{%- endif -%}",
].join('');

/** Where a llava_v0 answer ends: the separator the model writes before the next `Human:` turn. */
export const LLAVA_V0_STOP = '###';

/** The render options of a named template: none for the model's own, the built-in source for llava_v0. */
export function templateRenderOptions(template: PromptTemplate): RenderOptions {
  return template === 'llava_v0' ? { template: LLAVA_V0_TEMPLATE, variables: { system_prompt: LLAVA_V0_SYSTEM } } : {};
}

const compiled = new Map<string, Template>();

/** The prompt text for `messages`; images appear as the tokenizer's image token. */
export function renderPrompt(
  tokenizer: Pick<TextTokenizer, 'chatTemplate' | 'special' | 'source'>,
  messages: readonly ChatMessage[],
  options: RenderOptions = {},
): string {
  validateMessages(messages);
  const source = options.template ?? tokenizer.chatTemplate ?? LLAVA_15_TEMPLATE;
  const imageToken = tokenizer.special.image?.token ?? IMAGE_PLACEHOLDER;
  const asParts = expectsContentParts(source);
  const context = {
    messages: messages.map((m) => ({
      role: m.role,
      content: asParts ? toParts(m.content) : toText(m.content, imageToken),
    })),
    add_generation_prompt: options.addGenerationPrompt ?? false,
    bos_token: tokenizer.special.bos?.token ?? '',
    eos_token: tokenizer.special.eos?.token ?? '',
    pad_token: tokenizer.special.pad?.token ?? '',
    unk_token: tokenizer.special.unk?.token ?? '',
    image_token: imageToken,
    ...options.variables,
  };
  try {
    return compile(source).render(context);
  } catch (e) {
    const which =
      options.template !== undefined ? 'the given chat template' : `the chat template of ${tokenizer.source}`;
    throw new AppError('bad-input', `${which} failed to render: ${(e as Error).message}`, {
      subject: tokenizer.source,
      cause: e,
    });
  }
}

/**
 * Multimodal templates (llava-hf's chat_template.json, Qwen2-VL) iterate over typed
 * content parts and test `type == 'image'`; text-only templates concatenate strings.
 */
export function expectsContentParts(template: string): boolean {
  return /['"]image['"]/.test(template);
}

function compile(source: string): Template {
  let t = compiled.get(source);
  if (t === undefined) {
    t = new Template(source);
    compiled.set(source, t);
  }
  return t;
}

/** A string stays one text part: its image placeholders are rendered where the user put them. */
function toParts(content: ChatMessage['content']): readonly ContentPart[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/** Parts in order; each image becomes the image token on its own line, as LLaVA's prompts put it. */
function toText(content: ChatMessage['content'], imageToken: string): string {
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'image' ? `${imageToken}\n` : p.text)).join('');
}

function validateMessages(messages: readonly ChatMessage[]): void {
  messages.forEach((m, i) => {
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant') {
      throw new AppError(
        'bad-input',
        `message ${i + 1}: role ${JSON.stringify(m.role)} is not one of system, user, assistant`,
      );
    }
    if (typeof m.content === 'string') return;
    if (!Array.isArray(m.content))
      throw new AppError('bad-input', `message ${i + 1}: content is neither text nor a list of parts`);
    m.content.forEach((p, j) => {
      const ok = p.type === 'image' || (p.type === 'text' && typeof p.text === 'string');
      if (!ok)
        throw new AppError(
          'bad-input',
          `message ${i + 1}, part ${j + 1}: expected {type: 'text', text} or {type: 'image'}`,
        );
    });
  });
}
