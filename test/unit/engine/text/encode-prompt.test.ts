// The whole text side on a llava-1.5 style tokenizer: template, encode, image
// expansion with spans, and the context-length and image-count errors.

import { beforeAll, describe, expect, it } from 'vitest';
import { TextTokenizer, encodePrompt } from '../../../../electron/engine/text';
import { QWEN_DIR, fileVocab, idOf, llavaTokenizerFolder } from './tokenizer-fixtures';

describe('encodePrompt', () => {
  let tok: TextTokenizer;
  let vocab: Map<string, number>;
  beforeAll(async () => {
    const dir = llavaTokenizerFolder();
    tok = await TextTokenizer.fromFolder(dir);
    vocab = fileVocab(dir);
  });

  it('renders, encodes and expands two images to their spans', () => {
    const p = encodePrompt(
      tok,
      { messages: [{ role: 'user', content: 'Image1:<image>\nImage2:<image>\nIn Image2, what?' }] },
      { featureTokens: [4, 4] },
    );
    expect(p.text).toBe('USER: Image1:<image>\nImage2:<image>\nIn Image2, what? ASSISTANT:');
    expect(p.ids[0]).toBe(1);
    expect(p.spans).toHaveLength(2);
    for (const s of p.spans) {
      expect(p.ids.slice(s.start, s.end)).toEqual([32000, 32000, 32000, 32000]);
      expect(p.ids[s.start - 1]).toBe(idOf(vocab, ':'));
    }
    expect(p.ids.filter((id) => id === 32000)).toHaveLength(8);
    expect(p.ids.at(-1)).toBe(idOf(vocab, ':'));
  });

  it('encodes raw text without a template', () => {
    const p = encodePrompt(tok, { raw: 'Hello <image>' }, { featureTokens: [2] });
    expect(p.text).toBe('Hello <image>');
    expect(p.ids).toEqual([1, idOf(vocab, '▁Hello'), idOf(vocab, '▁'), 32000, 32000]);
    expect(p.spans).toEqual([{ start: 3, end: 5 }]);
  });

  it('refuses a prompt longer than the context, counting image tokens', () => {
    expect(() => encodePrompt(tok, { raw: '<image>' }, { featureTokens: [576], maxLength: 512 })).toThrow(
      "the prompt is 577 tokens with its image tokens, longer than the model's context of 512",
    );
  });

  it('refuses more images than placeholders', () => {
    expect(() => encodePrompt(tok, { raw: 'no image here' }, { featureTokens: [576] })).toThrow(
      /0 image placeholders but 1 image was given/,
    );
  });

  it('refuses images for a tokenizer without an image token', async () => {
    const qwen = await TextTokenizer.fromFolder(QWEN_DIR);
    expect(() => encodePrompt(qwen, { raw: 'x' }, { featureTokens: [1] })).toThrow(/has no image token/);
    expect(encodePrompt(qwen, { raw: 'x' }, { featureTokens: [] }).spans).toEqual([]);
  });
});
