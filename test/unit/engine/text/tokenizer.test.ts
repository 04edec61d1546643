// Tokenizer loading and encode/decode on real tokenizers; expected ids come from
// the vocabulary of the tokenizer.json files, looked up by token string.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../../../electron/engine/text';
import { QWEN_DIR, byteLevelChars, fileVocab, idOf, llavaTokenizerFolder } from './tokenizer-fixtures';

describe('llava-1.5 style tokenizer (SentencePiece BPE, byte fallback)', () => {
  let dir: string;
  let tok: TextTokenizer;
  let vocab: Map<string, number>;
  beforeAll(async () => {
    dir = llavaTokenizerFolder();
    tok = await TextTokenizer.fromFolder(dir);
    vocab = fileVocab(dir);
  });

  it('knows the special tokens of llava-hf', () => {
    expect(tok.special.bos).toEqual({ token: '<s>', id: 1 });
    expect(tok.special.eos).toEqual({ token: '</s>', id: 2 });
    expect(tok.special.unk).toEqual({ token: '<unk>', id: 0 });
    expect(tok.special.image).toEqual({ token: '<image>', id: 32000 });
    expect(tok.special.pad).toEqual({ token: '<pad>', id: 32001 });
    expect(tok.vocabSize).toBe(32002);
    expect(tok.isSpecial(32000)).toBe(true);
    expect(tok.isSpecial(idOf(vocab, '▁Hello'))).toBe(false);
  });

  it('encodes words to their vocabulary ids with BOS first (add_bos_token)', () => {
    expect(tok.encode('Hello world')).toEqual([1, idOf(vocab, '▁Hello'), idOf(vocab, '▁world')]);
    expect(tok.encode('Hello world', { addSpecialTokens: false })).toEqual([
      idOf(vocab, '▁Hello'),
      idOf(vocab, '▁world'),
    ]);
  });

  it('keeps <image> and <pad> whole, with the SentencePiece space llava-hf puts around <image>', () => {
    const ids = tok.encode('USER: <image>\nWhat is this? ASSISTANT:');
    const at = ids.indexOf(32000);
    expect(ids.filter((id) => id === 32000)).toHaveLength(1);
    // llava-hf's own ids read [..., 29871 '▁', 32000, 29871 '▁', 13 '<0x0A>', ...] in the Llama vocabulary.
    expect(ids.slice(at - 1, at + 3)).toEqual([idOf(vocab, '▁'), 32000, idOf(vocab, '▁'), idOf(vocab, '<0x0A>')]);
    expect(tok.encode('<pad>', { addSpecialTokens: false })).toEqual([32001]);
    expect(tok.tokenString(32000)).toBe('<image>');
    expect(tok.tokenId('<pad>')).toBe(32001);
  });

  it('falls back to UTF-8 byte tokens for characters outside the vocabulary', () => {
    const flamingo = '🦩';
    expect(vocab.has(flamingo)).toBe(false);
    const bytes = [...Buffer.from(flamingo, 'utf8')].map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    expect(tok.encode(flamingo, { addSpecialTokens: false })).toEqual([
      idOf(vocab, '▁'),
      ...bytes.map((b) => idOf(vocab, b)),
    ]);
    expect(tok.decode(tok.encode(flamingo), { skipSpecialTokens: true })).toBe(flamingo);
  });

  it('decodes with and without special tokens', () => {
    const ids = [1, idOf(vocab, '▁Hello'), 32000, idOf(vocab, '▁world'), 2];
    expect(tok.decode(ids)).toBe('<s> Hello<image> world</s>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('Hello world');
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([1.5])).toThrow(/token id 1.5/);
  });

  it('round-trips unicode text', () => {
    for (const s of [
      'héllo wörld',
      '日本語のテキスト',
      'emoji 😀🦩👩‍👩‍👧',
      '  two leading spaces',
      'tabs\tand\nnewlines\n',
    ]) {
      expect(tok.decode(tok.encode(s), { skipSpecialTokens: true })).toBe(s);
    }
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        // '<' could spell an added token; '▁' itself is SentencePiece's space and decodes as ' ' (HF does the same).
        fc.pre(!s.includes('<') && !s.includes('▁'));
        expect(tok.decode(tok.encode(s), { skipSpecialTokens: true })).toBe(s);
      }),
      { numRuns: 150 },
    );
  });

  it('honours add_bos_token = false and add_eos_token = true from tokenizer_config.json', async () => {
    const t = await TextTokenizer.fromFolder(
      llavaTokenizerFolder({ config: { add_bos_token: false, add_eos_token: true } }),
    );
    expect(t.encode('Hello')).toEqual([idOf(vocab, '▁Hello'), 2]);
    expect(t.encode('Hello', { addSpecialTokens: false })).toEqual([idOf(vocab, '▁Hello')]);
  });

  it('registers tokens that only tokenizer_config.json added_tokens_decoder lists', async () => {
    const d = llavaTokenizerFolder({
      config: {
        added_tokens_decoder: {
          '32002': { content: '<extra>', special: true, lstrip: false, rstrip: false, normalized: false },
        },
      },
    });
    const t = await TextTokenizer.fromFolder(d);
    expect(t.tokenId('<extra>')).toBe(32002);
    expect(t.encode('a<extra>', { addSpecialTokens: false })).toContain(32002);
  });
});

describe('Qwen2-family tokenizer (byte-level BPE)', () => {
  let tok: TextTokenizer;
  let vocab: Map<string, number>;
  beforeAll(async () => {
    tok = await TextTokenizer.fromFolder(QWEN_DIR);
    vocab = fileVocab(QWEN_DIR);
  });

  it('adds no BOS and knows its special tokens', () => {
    expect(tok.special.bos).toBeUndefined();
    expect(tok.special.eos).toEqual({ token: '<|im_end|>', id: idOf(vocab, '<|im_end|>') });
    expect(tok.special.pad).toEqual({ token: '<|endoftext|>', id: idOf(vocab, '<|endoftext|>') });
    expect(tok.special.image).toBeUndefined();
    expect(tok.encode('Hello world')).toEqual([idOf(vocab, 'Hello'), idOf(vocab, 'Ġworld')]);
    expect(tok.encode('<|im_start|>user')).toEqual([idOf(vocab, '<|im_start|>'), idOf(vocab, 'user')]);
  });

  it('maps UTF-8 bytes to byte-level characters', () => {
    for (const s of ['héllo wörld', ' 😀 €', '中文']) {
      const tokens = tok
        .encode(s)
        .map((id) => tok.tokenString(id))
        .join('');
      expect(tokens).toBe(byteLevelChars(Buffer.from(s, 'utf8')));
    }
  });

  it('round-trips unicode text (NFC-normalised, as its normalizer does)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        fc.pre(!s.includes('<|'));
        expect(tok.decode(tok.encode(s))).toBe(s.normalize('NFC'));
      }),
      { numRuns: 150 },
    );
  });

  it('takes an explicit image token, and rejects one missing from the vocabulary', async () => {
    const t = await TextTokenizer.fromFolder(QWEN_DIR, { imageToken: '<|image_pad|>' });
    expect(t.special.image?.id).toBe(idOf(vocab, '<|image_pad|>'));
    await expect(TextTokenizer.fromFolder(QWEN_DIR, { imageToken: '<img>' })).rejects.toThrow(
      /"<img>" is not in the vocabulary/,
    );
  });
});

describe('tokenizer folder errors', () => {
  it('names the missing tokenizer.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-missing-'));
    await expect(TextTokenizer.fromFolder(dir)).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(join(dir, 'tokenizer.json')),
    });
  });

  it('names a corrupt tokenizer_config.json', async () => {
    const dir = llavaTokenizerFolder();
    writeFileSync(join(dir, 'tokenizer_config.json'), '{"add_bos_token": tru');
    await expect(TextTokenizer.fromFolder(dir)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining('tokenizer_config.json is not valid JSON'),
    });
  });

  it('reports a tokenizer.json the library cannot build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tok-bad-'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'NoSuchModel' }, added_tokens: [] }));
    await expect(TextTokenizer.fromFolder(dir)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringContaining('tokenizer cannot be built'),
    });
  });
});
