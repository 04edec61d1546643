// Streaming detokenisation: turns generated ids, one at a time, into text pieces
// whose concatenation equals decoding all ids at once. Holds text back while it
// ends in an incomplete UTF-8 sequence (byte-fallback tokens like `<0xE2>`).

import type { DecodeOptions, TextTokenizer } from './tokenizer';

const REPLACEMENT = '\uFFFD';

/**
 * Decodes a window that starts one token before the new ones and emits the difference,
 * so a SentencePiece `▁` that the decoder strips at the start of a text is kept as a
 * space between pieces (the algorithm of text-generation-inference).
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  /** Start of the decoding window. */
  private prefixOffset = 0;
  /** Ids before this position have been emitted as text. */
  private readOffset = 0;

  constructor(
    private readonly tokenizer: Pick<TextTokenizer, 'decode'>,
    private readonly options: DecodeOptions = {},
  ) {}

  /** Adds one generated id; returns the text it completes ('' while a character is unfinished). */
  push(id: number): string {
    this.ids.push(id);
    const prefixText = this.decodeRange(this.prefixOffset, this.readOffset);
    const fullText = this.decodeRange(this.prefixOffset, this.ids.length);
    if (fullText.length <= prefixText.length || fullText.endsWith(REPLACEMENT) || !fullText.startsWith(prefixText))
      return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return fullText.slice(prefixText.length);
  }

  /** The text still held back (an unfinished character decodes to U+FFFD here); call once at the end. */
  flush(): string {
    const prefixText = this.decodeRange(this.prefixOffset, this.readOffset);
    const fullText = this.decodeRange(this.prefixOffset, this.ids.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    return fullText.startsWith(prefixText) ? fullText.slice(prefixText.length) : '';
  }

  /** Every id pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  private decodeRange(start: number, end: number): string {
    return this.tokenizer.decode(this.ids.slice(start, end), this.options);
  }
}
