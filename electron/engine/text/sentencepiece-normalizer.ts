// SentencePiece text normalization, as sentencepiece's src/normalizer.cc does it:
// user-defined pieces copied as they are, the precompiled character map (a darts-clone
// double-array trie over UTF-8 bytes) applied longest match first, leading/trailing/
// repeated spaces dropped (remove_extra_whitespaces), the dummy prefix, and spaces
// escaped to U+2581. Works on JavaScript strings; the trie is walked over UTF-8 bytes.

import { AppError } from '../../../shared/errors';
import type { NormalizerSpec } from './sentencepiece-model';

/** The visible space of SentencePiece pieces (U+2581 LOWER ONE EIGHTH BLOCK). */
export const SPACE_SYMBOL = '\u2581';

/** Longest-match lookup of user-defined pieces (sentencepiece's PrefixMatcher). */
export class PrefixMatcher {
  /** First code unit -> the pieces starting with it, longest first. */
  private readonly byFirst = new Map<string, string[]>();

  constructor(pieces: Iterable<string>) {
    for (const p of pieces) {
      const list = this.byFirst.get(p[0]!) ?? [];
      list.push(p);
      this.byFirst.set(p[0]!, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.length - a.length);
  }

  /** Length (code units) of the longest piece starting at `pos`, or 0 for none. */
  match(text: string, pos: number): number {
    const list = this.byFirst.get(text[pos]!);
    if (list === undefined) return 0;
    for (const p of list) if (text.startsWith(p, pos)) return p.length;
    return 0;
  }
}

/** Length in code units of the code point at `pos` (a surrogate pair is 2). */
export function charLength(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  return c >= 0xd800 && c <= 0xdbff && pos + 1 < text.length ? 2 : 1;
}

/**
 * A precompiled charsmap: `uint32 trie_size (LE) | trie units (uint32 LE) | replacement strings,
 * each NUL-terminated`; a trie value is the byte offset of its replacement.
 */
class CharsMap {
  private readonly units: Uint32Array;
  private readonly replacements: Uint8Array;
  private readonly decoded = new Map<number, string>();

  constructor(blob: Uint8Array, source: string) {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieSize = blob.byteLength > 4 ? view.getUint32(0, true) : 0;
    if (blob.byteLength <= 4 || trieSize >= blob.byteLength - 4 || trieSize % 4 !== 0 || trieSize === 0) {
      throw new AppError('bad-file', `${source}: the normalizer's precompiled_charsmap is broken`, { subject: source });
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + i * 4, true);
    this.replacements = blob.subarray(4 + trieSize);
  }

  /**
   * The longest rule matching `text` at `pos`: its length in code units and replacement.
   * darts-clone commonPrefixSearch, fed the UTF-8 bytes of the text one code point at a time.
   */
  longestMatch(text: string, pos: number): { length: number; replacement: string } | undefined {
    const units = this.units;
    let node = offsetOf(units[0]!);
    let best: { length: number; value: number } | undefined;
    let at = pos;
    const bytes: number[] = [];
    while (at < text.length) {
      const n = charLength(text, at);
      utf8Bytes(text.codePointAt(at)!, bytes);
      at += n;
      for (let k = 0; k < bytes.length; k++) {
        const c = bytes[k]!;
        node ^= c;
        const unit = units[node];
        if (unit === undefined || labelOf(unit) !== c) return this.result(best);
        node ^= offsetOf(unit);
        // A value ending inside a character cannot be a rule of whole characters: skip it.
        if (hasLeaf(unit) && k === bytes.length - 1) best = { length: at - pos, value: units[node]! & 0x7fffffff };
      }
      bytes.length = 0;
    }
    return this.result(best);
  }

  private result(best: { length: number; value: number } | undefined) {
    return best === undefined ? undefined : { length: best.length, replacement: this.replacement(best.value) };
  }

  private replacement(offset: number): string {
    let s = this.decoded.get(offset);
    if (s === undefined) {
      let end = offset;
      while (end < this.replacements.length && this.replacements[end] !== 0) end++;
      s = new TextDecoder().decode(this.replacements.subarray(offset, end));
      this.decoded.set(offset, s);
    }
    return s;
  }
}

// darts-clone unit layout: label in bits 0-7 (bit 31 set on value units), has-leaf in bit 8,
// offset in bits 10-30, scaled by 256 when bit 9 is set.
const hasLeaf = (unit: number): boolean => ((unit >>> 8) & 1) === 1;
const labelOf = (unit: number): number => (unit & 0x800000ff) >>> 0;
const offsetOf = (unit: number): number => (unit >>> 10) << ((unit & 0x200) >>> 6);

function utf8Bytes(cp: number, out: number[]): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

export class Normalizer {
  private readonly charsMap: CharsMap | undefined;

  constructor(
    private readonly spec: NormalizerSpec,
    private readonly userDefined: PrefixMatcher,
    source: string,
  ) {
    this.charsMap = spec.precompiledCharsmap.length > 0 ? new CharsMap(spec.precompiledCharsmap, source) : undefined;
  }

  /** Normalizer::Normalize. Lone surrogates are first made U+FFFD, as UTF-8 encoding would. */
  normalize(input: string): string {
    const text = input.replace(/\p{Cs}/gu, '\uFFFD');
    const { addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces } = this.spec;
    let pos = 0;
    if (removeExtraWhitespaces) {
      while (pos < text.length) {
        const p = this.normalizePrefix(text, pos);
        if (p.text !== ' ') break;
        pos += p.length;
      }
    }
    if (pos >= text.length) return '';
    const space = escapeWhitespaces ? SPACE_SYMBOL : ' ';
    let out = addDummyPrefix ? space : '';
    let prevIsSpace = removeExtraWhitespaces;
    while (pos < text.length) {
      const p = this.normalizePrefix(text, pos);
      let piece = p.text;
      if (prevIsSpace) piece = piece.replace(/^ +/, '');
      if (piece !== '') {
        out += escapeWhitespaces ? piece.replaceAll(' ', SPACE_SYMBOL) : piece;
        prevIsSpace = piece.endsWith(' ');
      }
      pos += p.length;
      if (!removeExtraWhitespaces) prevIsSpace = false;
    }
    if (removeExtraWhitespaces) {
      while (out.endsWith(space)) out = out.slice(0, -space.length);
    }
    return out;
  }

  /** Normalizer::NormalizePrefix: what the text at `pos` becomes, and how much of it that consumes. */
  private normalizePrefix(text: string, pos: number): { text: string; length: number } {
    const user = this.userDefined.match(text, pos);
    if (user > 0) return { text: text.slice(pos, pos + user), length: user };
    const rule = this.charsMap?.longestMatch(text, pos);
    if (rule !== undefined) return { text: rule.replacement, length: rule.length };
    const n = charLength(text, pos);
    return { text: text.slice(pos, pos + n), length: n };
  }
}
