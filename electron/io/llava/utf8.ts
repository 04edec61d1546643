// UTF-8 validation for the LLaVA readers: Node's decoders replace invalid bytes
// with U+FFFD silently, so a dataset's bad bytes are found here, by offset, and
// reported as problems (decision 0202).
import { Transform, type TransformCallback } from 'node:stream';

/** Second-byte range of each multi-byte lead (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
function lead(c: number): { len: number; lo: number; hi: number } | null {
  if (c >= 0xc2 && c <= 0xdf) return { len: 2, lo: 0x80, hi: 0xbf };
  if (c === 0xe0) return { len: 3, lo: 0xa0, hi: 0xbf };
  if (c === 0xed) return { len: 3, lo: 0x80, hi: 0x9f };
  if (c >= 0xe1 && c <= 0xef) return { len: 3, lo: 0x80, hi: 0xbf };
  if (c === 0xf0) return { len: 4, lo: 0x90, hi: 0xbf };
  if (c === 0xf4) return { len: 4, lo: 0x80, hi: 0x8f };
  if (c >= 0xf1 && c <= 0xf3) return { len: 4, lo: 0x80, hi: 0xbf };
  return null;
}

/** The first invalid byte, `incomplete` bytes of a sequence cut at the end, or neither. */
function scan(b: Uint8Array): { bad: number } | { tail: number } {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const l = lead(c);
    if (l === null) return { bad: i };
    for (let k = 1; k < l.len; k++) {
      if (i + k >= b.length) return { tail: b.length - i };
      const x = b[i + k]!;
      if (k === 1 ? x < l.lo || x > l.hi : x < 0x80 || x > 0xbf) return { bad: i };
    }
    i += l.len;
  }
  return { tail: 0 };
}

/** The offset of the first byte that is not valid UTF-8 in a complete text, or -1. */
export function invalidUtf8At(b: Uint8Array): number {
  const r = scan(b);
  return 'bad' in r ? r.bad : r.tail > 0 ? b.length - r.tail : -1;
}

/**
 * Passes bytes through unchanged up to the first invalid UTF-8 byte, then ends with bytes no JSON parser accepts
 * (a NUL, a quote, a NUL: invalid inside or outside a string), so the parser fails right there, after every entry
 * before it, as it does for a truncated file; `problem` then says where the bad byte is.
 */
export class Utf8Check extends Transform {
  private carry = Buffer.alloc(0);
  private offset = 0;
  problem: string | null = null;

  private stop(at: number, valid: Buffer, what: string): Buffer {
    this.problem = `invalid UTF-8 at byte offset ${at} of the file${what}`;
    return Buffer.concat([valid, Buffer.from([0, 0x22, 0])]);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.problem !== null) return done();
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const r = scan(buf);
    if ('bad' in r) return done(null, this.stop(this.offset + r.bad, buf.subarray(0, r.bad), ''));
    const whole = buf.length - r.tail;
    this.carry = Buffer.from(buf.subarray(whole));
    this.offset += whole;
    done(null, buf.subarray(0, whole));
  }

  override _flush(done: TransformCallback): void {
    if (this.problem === null && this.carry.length > 0)
      return done(null, this.stop(this.offset, Buffer.alloc(0), ' (a sequence cut at the end)'));
    done();
  }
}
