// A SentencePiece BPE tokenizer in TypeScript, equal to sentencepiece 0.1.97's
// SentencePieceProcessor on `tokenizer.model` files (InternLM2 / IXC2.5, Llama):
// normalize (sentencepiece-normalizer.ts), split into characters with user-defined
// pieces kept whole, merge the adjacent pair whose piece scores highest (leftmost on
// ties) as src/bpe_model.cc does, then byte fallback for unknown characters.
// Decoding follows SentencePieceProcessor::Decode. Unigram models are refused.

import { readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors';
import { parseSentencePieceModel, type SentencePiece, type SentencePieceModelProto } from './sentencepiece-model';
import { Normalizer, PrefixMatcher, SPACE_SYMBOL, charLength } from './sentencepiece-normalizer';

/** `<0x41>` -> 0x41 for byte pieces. */
const bytePieceValue = (piece: string): number => parseInt(piece.slice(3, 5), 16);

export class SentencePieceProcessor {
  readonly pieces: readonly SentencePiece[];
  readonly unkId: number;
  /** -1 when the model has none (as in the trainer spec). */
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly byteFallback: boolean;
  private readonly proto: SentencePieceModelProto;
  /** NORMAL, USER_DEFINED and UNUSED pieces: the ones merges may produce (ModelInterface::pieces_). */
  private readonly mergeable = new Map<string, number>();
  /** CONTROL, UNKNOWN and BYTE pieces (ModelInterface::reserved_id_map_). */
  private readonly reserved = new Map<string, number>();
  private readonly userDefined: PrefixMatcher;
  private readonly normalizer: Normalizer;
  /** Byte value -> id of its `<0xXX>` piece. */
  private readonly byteIds: Int32Array;

  constructor(proto: SentencePieceModelProto, source: string) {
    const { trainer } = proto;
    if (trainer.modelType !== 'bpe') {
      throw new AppError(
        'unsupported',
        `${source}: SentencePiece model_type ${trainer.modelType} is not supported (only BPE models are)`,
        { subject: source },
      );
    }
    if (trainer.treatWhitespaceAsSuffix) {
      throw new AppError('unsupported', `${source}: treat_whitespace_as_suffix models are not supported`, {
        subject: source,
      });
    }
    if (proto.denormalizer !== undefined && proto.denormalizer.precompiledCharsmap.length > 0) {
      throw new AppError('unsupported', `${source}: models with a denormalizer are not supported`, {
        subject: source,
      });
    }
    this.proto = proto;
    this.pieces = proto.pieces;
    this.byteFallback = trainer.byteFallback;
    this.byteIds = new Int32Array(256).fill(-1);
    let unk = -1;
    proto.pieces.forEach((p, id) => {
      const normal = p.type === 'normal' || p.type === 'user-defined' || p.type === 'unused';
      (normal ? this.mergeable : this.reserved).set(p.piece, id);
      if (p.type === 'unknown') unk = id;
      if (p.type === 'byte') this.byteIds[bytePieceValue(p.piece)] = id;
    });
    this.unkId = unk;
    const idOrNone = (id: number): number => (id >= 0 && id < proto.pieces.length ? id : -1);
    this.bosId = idOrNone(trainer.bosId);
    this.eosId = idOrNone(trainer.eosId);
    this.padId = idOrNone(trainer.padId);
    this.userDefined = new PrefixMatcher(proto.pieces.filter((p) => p.type === 'user-defined').map((p) => p.piece));
    this.normalizer = new Normalizer(proto.normalizer, this.userDefined, source);
  }

  /** Reads and checks a `tokenizer.model` file. */
  static async fromFile(path: string): Promise<SentencePieceProcessor> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new AppError('not-found', `${path} does not exist`, { subject: path, cause: e });
      throw new AppError('bad-file', `${path} cannot be read: ${(e as Error).message}`, { subject: path, cause: e });
    }
    return new SentencePieceProcessor(parseSentencePieceModel(bytes, path), path);
  }

  get normalizerSpec() {
    return this.proto.normalizer;
  }

  /** The id of a piece string (unknown strings give undefined, unlike sentencepiece's unk id). */
  pieceToId(piece: string): number | undefined {
    return this.reserved.get(piece) ?? this.mergeable.get(piece);
  }

  idToPiece(id: number): string | undefined {
    return this.pieces[id]?.piece;
  }

  /** The text as ids, without BOS/EOS (sentencepiece's `encode(text)`). */
  encode(text: string): number[] {
    const normalized = this.normalizer.normalize(text);
    const ids: number[] = [];
    let prevUnknown = false;
    for (const piece of this.bpe(normalized)) {
      const id = this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
      const unknown = id === this.unkId;
      if (unknown && this.byteFallback) {
        for (const b of new TextEncoder().encode(piece)) ids.push(this.byteIds[b]!);
      } else if (!(unknown && prevUnknown)) {
        // Runs of unknown characters become one <unk> (PopulateSentencePieceText).
        ids.push(id);
      }
      prevUnknown = unknown;
    }
    return ids;
  }

  /** The pieces of a normalized text (bpe::Model::Encode): user-defined pieces are never merged. */
  private bpe(text: string): string[] {
    if (text === '') return [];
    // symbols[i] = [start, end) in `text`; prev/next link the live symbols.
    const start: number[] = [];
    const end: number[] = [];
    const frozen: boolean[] = [];
    for (let pos = 0; pos < text.length;) {
      const user = this.userDefined.match(text, pos);
      const n = user > 0 ? user : charLength(text, pos);
      start.push(pos);
      end.push(pos + n);
      frozen.push(user > 0);
      pos += n;
    }
    const count = start.length;
    const prev = Array.from({ length: count }, (_, i) => i - 1);
    const next = Array.from({ length: count }, (_, i) => (i + 1 < count ? i + 1 : -1));
    const agenda = new PairHeap();
    // Merged unused pieces are split back into the pair that made them.
    const unusedSplits = new Map<string, [string, string]>();
    const addPair = (left: number, right: number): void => {
      if (left === -1 || right === -1 || frozen[left] || frozen[right]) return;
      const piece = text.slice(start[left], end[right]);
      const id = this.mergeable.get(piece);
      if (id === undefined) return;
      agenda.push({ left, right, score: this.pieces[id]!.score, size: piece.length });
      if (this.pieces[id]!.type === 'unused') {
        unusedSplits.set(piece, [text.slice(start[left], end[left]), text.slice(start[right], end[right])]);
      }
    };
    for (let i = 1; i < count; i++) addPair(i - 1, i);
    for (let top = agenda.pop(); top !== undefined; top = agenda.pop()) {
      const { left, right } = top;
      const leftSize = end[left]! - start[left]!;
      const rightSize = end[right]! - start[right]!;
      // A pair is stale once either side was merged elsewhere.
      if (leftSize === 0 || rightSize === 0 || leftSize + rightSize !== top.size) continue;
      end[left] = end[right]!;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      end[right] = start[right]!;
      addPair(prev[left]!, left);
      addPair(left, next[left]!);
    }
    const out: string[] = [];
    const resegment = (piece: string): void => {
      const id = this.mergeable.get(piece);
      const split = id !== undefined && this.pieces[id]!.type === 'unused' ? unusedSplits.get(piece) : undefined;
      if (split === undefined) out.push(piece);
      else split.forEach(resegment);
    };
    for (let i = 0; i !== -1; i = next[i]!) resegment(text.slice(start[i], end[i]));
    return out;
  }

  /** SentencePieceProcessor::Decode of ids (every id must be a piece of the model). */
  decode(ids: readonly number[]): string {
    const { addDummyPrefix, removeExtraWhitespaces } = this.proto.normalizer;
    const stripBosSpace = addDummyPrefix || removeExtraWhitespaces;
    let text = '';
    let bytes: number[] = [];
    let expectBosSpace = true;
    let bosSpaceSeen = false;
    for (const id of ids) {
      const p = this.pieces[id];
      if (p === undefined) {
        throw new AppError('bad-input', `token id ${id} is outside the vocabulary (0..${this.pieces.length - 1})`);
      }
      if (p.type === 'byte') {
        bytes.push(bytePieceValue(p.piece));
        continue;
      }
      text += decodeBytes(bytes);
      bytes = [];
      if (bosSpaceSeen || text !== '') expectBosSpace = false;
      bosSpaceSeen = false;
      if (p.type === 'control') continue;
      if (p.type === 'unknown') {
        text += this.proto.trainer.unkSurface;
        continue;
      }
      let piece = p.piece;
      if (expectBosSpace && stripBosSpace && piece.startsWith(SPACE_SYMBOL)) {
        piece = piece.slice(SPACE_SYMBOL.length);
        // With remove_extra_whitespaces every leading space is dropped, not just the first.
        bosSpaceSeen = !removeExtraWhitespaces;
      }
      text += piece.replaceAll(SPACE_SYMBOL, ' ');
    }
    return text + decodeBytes(bytes);
  }
}

/**
 * UTF-8 bytes of byte pieces as text, one character at a time: each byte that does not
 * start a valid character becomes one U+FFFD (string_util::DecodeUTF8), unlike TextDecoder,
 * which replaces a maximal invalid subsequence once.
 */
function decodeBytes(bytes: readonly number[]): string {
  let s = '';
  let i = 0;
  const trail = (k: number): boolean => i + k < bytes.length && (bytes[i + k]! & 0xc0) === 0x80;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let cp = -1;
    let n = 1;
    if (b < 0x80) cp = b;
    else if ((b & 0xe0) === 0xc0 && trail(1)) {
      cp = ((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
      n = 2;
      if (cp < 0x80) cp = -1;
    } else if ((b & 0xf0) === 0xe0 && trail(1) && trail(2)) {
      cp = ((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
      n = 3;
      if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)) cp = -1;
    } else if ((b & 0xf8) === 0xf0 && trail(1) && trail(2) && trail(3)) {
      cp = ((b & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
      n = 4;
      if (cp < 0x10000 || cp > 0x10ffff) cp = -1;
    }
    if (cp < 0) {
      s += '\uFFFD';
      i += 1;
    } else {
      s += String.fromCodePoint(cp);
      i += n;
    }
  }
  return s;
}

interface Pair {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** Max-heap of merge candidates: highest score first, then the leftmost (bpe_model.cc's comparator). */
class PairHeap {
  private readonly items: Pair[] = [];

  push(p: Pair): void {
    const a = this.items;
    let i = a.length;
    a.push(p);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(p, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = p;
  }

  pop(): Pair | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    // Sift the last item down from the root, moving the hole instead of swapping.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const child = l + 1 < a.length && before(a[l + 1]!, a[l]!) ? l + 1 : l;
      if (!before(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }
}

const before = (a: Pair, b: Pair): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);
