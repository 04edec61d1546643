// The byte offset where each element of a top-level JSON array ends, found by
// a scan of the bytes on their way to the parser (strings, escapes, nesting).
// The import's progress counts the bytes of the entries really parsed, not the
// bytes read ahead: a file smaller than one read would otherwise show
// done == total from its first entry (issue 13).
import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
/** Byte classes (0: any other), looked up per byte: the scan runs over every byte of a multi-GB file. */
const OPEN = 1;
const CLOSE = 2;
const SPACE = 3;
const CLASS = new Uint8Array(256);
CLASS[0x5b] = CLASS[0x7b] = OPEN;
CLASS[0x5d] = CLASS[0x7d] = CLOSE;
CLASS[0x20] = CLASS[0x09] = CLASS[0x0a] = CLASS[0x0d] = SPACE;

export class ElementEnds extends Transform {
  private offset = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** A value started at depth 1 since the last element ended. */
  private open = false;
  /** Ends (file offsets just past each element) not yet taken, from element `first` on. */
  private ends: number[] = [];
  private first = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const b = chunk[i]!;
      const c = CLASS[b]!;
      if (this.depth === 1 && c !== SPACE && c !== CLOSE && b !== COMMA) this.open = true;
      if (b === QUOTE) this.inString = true;
      else if (c === OPEN) this.depth++;
      else if (c === CLOSE) {
        if (this.depth === 1) this.endElement(this.offset + i);
        this.depth--;
      } else if (b === COMMA && this.depth === 1) this.endElement(this.offset + i);
      i++;
    }
    this.offset += chunk.length;
    done(null, chunk);
  }

  /** From inside a string at `i`: the index past its closing quote, or the chunk's end. Quotes are found natively. */
  private skipString(chunk: Buffer, i: number): number {
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    for (;;) {
      const q = chunk.indexOf(QUOTE, i);
      const stop = q === -1 ? chunk.length : q;
      // A quote is escaped by an odd run of backslashes before it (from i on: i itself is never escaped).
      let run = 0;
      while (stop - run - 1 >= i && chunk[stop - run - 1] === BACKSLASH) run++;
      if (q === -1) {
        this.escaped = run % 2 === 1;
        return chunk.length;
      }
      if (run % 2 === 0) {
        this.inString = false;
        return q + 1;
      }
      i = q + 1;
    }
  }

  private endElement(at: number): void {
    if (this.open) this.ends.push(at);
    this.open = false;
  }

  /** The offset where element `index` ends, once scanned (null before); earlier ones are forgotten. */
  endOf(index: number): number | null {
    if (index < this.first) return null;
    const drop = index - this.first;
    if (drop >= this.ends.length) return null;
    const at = this.ends[drop]!;
    this.ends = this.ends.slice(drop + 1);
    this.first = index + 1;
    return at;
  }

  /** Bytes scanned so far. */
  get scanned(): number {
    return this.offset;
  }
}
