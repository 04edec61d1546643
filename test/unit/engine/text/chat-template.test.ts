// Prompt strings from chat messages: LLaVA-1.5's default format, llava-hf's own
// chat_template.json and Qwen's template, compared character for character.

import { beforeAll, describe, expect, it } from 'vitest';
import {
  TextTokenizer,
  renderPrompt,
  expectsContentParts,
  templateRenderOptions,
  LLAVA_15_TEMPLATE,
  LLAVA_V0_SYSTEM,
} from '../../../../electron/engine/text';
import type { ChatMessage } from '../../../../electron/engine/text';
import { LLAVA_HF_TEMPLATE, QWEN_DIR, llavaTokenizerFolder } from './tokenizer-fixtures';

const oneTurn: ChatMessage[] = [
  { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in the picture?' }] },
];

const twoTurns: ChatMessage[] = [
  { role: 'user', content: '<image>\nWhat animal is this?' },
  { role: 'assistant', content: 'A cat.' },
  { role: 'user', content: 'What colour is it?' },
];

describe('LLaVA-1.5 default format (no template in the folder)', () => {
  let tok: TextTokenizer;
  beforeAll(async () => {
    tok = await TextTokenizer.fromFolder(llavaTokenizerFolder());
  });

  it('has no template of its own', () => {
    expect(tok.chatTemplate).toBeUndefined();
  });

  it('renders one turn with the generation prompt', () => {
    expect(renderPrompt(tok, oneTurn, { addGenerationPrompt: true })).toBe(
      'USER: <image>\nWhat is in the picture? ASSISTANT:',
    );
    expect(renderPrompt(tok, oneTurn)).toBe('USER: <image>\nWhat is in the picture? ');
  });

  it('ends answers with </s> in multi-turn prompts', () => {
    expect(renderPrompt(tok, twoTurns, { addGenerationPrompt: true })).toBe(
      'USER: <image>\nWhat animal is this? ASSISTANT: A cat.</s>USER: What colour is it? ASSISTANT:',
    );
  });

  it('keeps MIA-DPO sequence placeholders where the text puts them, and a system prompt first', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Image1:<image>\nImage2:<image>\nIn Image2, what is on the table?' },
    ];
    expect(renderPrompt(tok, messages, { addGenerationPrompt: true })).toBe(
      'You are helpful. USER: Image1:<image>\nImage2:<image>\nIn Image2, what is on the table? ASSISTANT:',
    );
  });

  it('rejects unknown roles and malformed parts, naming the message', () => {
    expect(() => renderPrompt(tok, [{ role: 'tool' as 'user', content: 'x' }])).toThrow(/message 1: role "tool"/);
    expect(() => renderPrompt(tok, [{ role: 'user', content: [{ type: 'audio' } as never] }])).toThrow(
      /message 1, part 1/,
    );
  });
});

describe("LLaVA's llava_v0 conversation (the reference's prompt format, decision 0105)", () => {
  let tok: TextTokenizer;
  beforeAll(async () => {
    // A folder with llava-hf's own template: the named v0 format replaces it.
    tok = await TextTokenizer.fromFolder(llavaTokenizerFolder({ chatTemplate: true }));
  });
  const v0 = templateRenderOptions('llava_v0');

  it('opens with the system prompt and `###`, turns are `Human: ...###`, the generation prompt is `Assistant:`', () => {
    // conv_llava_v0.get_prompt(): system + sep, then role + ': ' + message + sep per turn, and role + ':' for the open one.
    expect(renderPrompt(tok, oneTurn, { addGenerationPrompt: true, ...v0 })).toBe(
      `${LLAVA_V0_SYSTEM}###Human: <image>\nWhat is in the picture?###Assistant:`,
    );
    expect(renderPrompt(tok, twoTurns, { addGenerationPrompt: true, ...v0 })).toBe(
      `${LLAVA_V0_SYSTEM}###Human: <image>\nWhat animal is this?###Assistant: A cat.###Human: What colour is it?###Assistant:`,
    );
  });

  it('takes a system message in place of its own system prompt; the model template stays the default', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are helpful.' },
      { role: 'user', content: 'Image1:<image>\nImage2:<image>\nIn Image2, what is on the table?' },
    ];
    expect(renderPrompt(tok, messages, { addGenerationPrompt: true, ...v0 })).toBe(
      'You are helpful.###Human: Image1:<image>\nImage2:<image>\nIn Image2, what is on the table?###Assistant:',
    );
    expect(templateRenderOptions('model')).toEqual({});
    expect(renderPrompt(tok, oneTurn, { addGenerationPrompt: true, ...templateRenderOptions('model') })).toMatch(
      /^USER: <image>\nWhat is in the picture\? ASSISTANT:$/,
    );
  });
});

describe("llava-hf's chat_template.json", () => {
  let tok: TextTokenizer;
  beforeAll(async () => {
    tok = await TextTokenizer.fromFolder(llavaTokenizerFolder({ chatTemplate: true }));
  });

  it('is loaded from chat_template.json and takes content parts', () => {
    expect(tok.chatTemplate).toBe(LLAVA_HF_TEMPLATE);
    expect(expectsContentParts(LLAVA_HF_TEMPLATE)).toBe(true);
    expect(expectsContentParts(LLAVA_15_TEMPLATE)).toBe(false);
  });

  it('renders the prompt format of llava-1.5-hf', () => {
    expect(renderPrompt(tok, oneTurn, { addGenerationPrompt: true })).toBe(
      'USER: <image>\nWhat is in the picture? ASSISTANT:',
    );
    const turns: ChatMessage[] = [
      { role: 'user', content: [{ type: 'text', text: 'Compare.' }, { type: 'image' }, { type: 'image' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Same.' }] },
    ];
    expect(renderPrompt(tok, turns)).toBe('USER: <image>\n<image>\nCompare. ASSISTANT: Same. ');
  });

  it('passes string content as one text part', () => {
    expect(renderPrompt(tok, [{ role: 'user', content: 'Image1:<image>\nQ?' }], { addGenerationPrompt: true })).toBe(
      'USER: Image1:<image>\nQ? ASSISTANT:',
    );
  });
});

describe("Qwen's own template (tokenizer_config.json)", () => {
  it('renders the ChatML format with the image token inline', async () => {
    const tok = await TextTokenizer.fromFolder(QWEN_DIR, { imageToken: '<|image_pad|>' });
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] },
    ];
    expect(renderPrompt(tok, messages, { addGenerationPrompt: true, variables: { enable_thinking: false } })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<|image_pad|>\nWhat is this?<|im_end|>\n' +
        '<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('reports a template that raises, with its message', async () => {
    const tok = await TextTokenizer.fromFolder(QWEN_DIR);
    expect(() => renderPrompt(tok, oneTurn, { template: "{{ raise_exception('only text') }}" })).toThrow(
      /given chat template failed to render: only text/,
    );
  });
});
