// The byte offset where each element of a top-level JSON array ends, found by
// a scan of the bytes on their way to the parser (strings, escapes, nesting).
// The import's progress counts the bytes of the entries really parsed, not the
// bytes read ahead: a file smaller than one read would otherwise show
// done == total from its first entry (issue 13).
import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);
const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

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
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (this.depth === 1 && !SPACE.has(b) && b !== COMMA && !CLOSERS.has(b)) this.open = true;
      if (b === QUOTE) this.inString = true;
      else if (OPENERS.has(b)) this.depth++;
      else if (CLOSERS.has(b)) {
        if (this.depth === 1) this.endElement(this.offset + i);
        this.depth--;
      } else if (b === COMMA && this.depth === 1) this.endElement(this.offset + i);
    }
    this.offset += chunk.length;
    done(null, chunk);
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
