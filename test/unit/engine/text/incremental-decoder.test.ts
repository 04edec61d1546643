// Streaming decode: pieces emitted one id at a time concatenate to the full decode,
// SentencePiece spaces survive between pieces, and split UTF-8 waits until complete.

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { IncrementalDecoder, TextTokenizer } from '../../../../electron/engine/text';
import { QWEN_DIR, fileVocab, idOf, llavaTokenizerFolder } from './tokenizer-fixtures';

function stream(tok: TextTokenizer, ids: readonly number[], skipSpecialTokens = false): string[] {
  const dec = new IncrementalDecoder(tok, { skipSpecialTokens });
  const pieces = ids.map((id) => dec.push(id));
  pieces.push(dec.flush());
  return pieces;
}

describe('IncrementalDecoder with SentencePiece byte fallback', () => {
  let tok: TextTokenizer;
  let vocab: Map<string, number>;
  beforeAll(async () => {
    const dir = llavaTokenizerFolder();
    tok = await TextTokenizer.fromFolder(dir);
    vocab = fileVocab(dir);
  });

  it('keeps the spaces of ▁ tokens between pieces', () => {
    const ids = ['▁The', '▁cat', '▁sat', '.'].map((t) => idOf(vocab, t));
    expect(stream(tok, ids)).toEqual(['The', ' cat', ' sat', '.', '']);
  });

  it('emits a byte-fallback character only when its UTF-8 bytes are complete', () => {
    const bytes = ['<0xF0>', '<0x9F>', '<0xA6>', '<0xA9>'].map((t) => idOf(vocab, t));
    const ids = [idOf(vocab, '▁A'), idOf(vocab, '▁'), ...bytes, idOf(vocab, '▁bird')];
    expect(stream(tok, ids)).toEqual(['A', ' ', '', '', '', '🦩', ' bird', '']);
  });

  it('emits an unfinished character as U+FFFD at flush', () => {
    const ids = [idOf(vocab, '▁x'), idOf(vocab, '<0xE2>'), idOf(vocab, '<0x82>')];
    expect(stream(tok, ids).join('')).toBe(tok.decode(ids));
    expect(stream(tok, ids).at(-1)).toContain('\uFFFD');
  });

  it('skips special tokens when asked', () => {
    const ids = [idOf(vocab, '▁Yes'), 2];
    expect(stream(tok, ids, true)).toEqual(['Yes', '', '']);
    expect(stream(tok, ids).join('')).toBe('Yes</s>');
  });

  it('matches decoding all ids at once, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        const ids = tok.encode(s, { addSpecialTokens: false });
        expect(stream(tok, ids).join('')).toBe(tok.decode(ids));
      }),
      { numRuns: 100 },
    );
  });
});

describe('IncrementalDecoder with byte-level BPE', () => {
  let tok: TextTokenizer;
  beforeAll(async () => {
    tok = await TextTokenizer.fromFolder(QWEN_DIR);
  });

  it('matches decoding all ids at once, with multi-byte characters split across tokens', () => {
    const ids = tok.encode('价格是 €5 😀👩‍👩‍👧 done');
    const pieces = stream(tok, ids);
    expect(pieces.join('')).toBe(tok.decode(ids));
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
  });
});
