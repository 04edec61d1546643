// Reads a SentencePiece `tokenizer.model`: the ModelProto protobuf of sentencepiece's
// src/sentencepiece_model.proto (field numbers below), decoded with protobufjs's wire
// Reader. Only the fields the encoder and decoder use are kept; the proto2 defaults
// are applied here, and the checks of sentencepiece's ModelInterface::InitializePieces.

import protobuf from 'protobufjs/minimal.js';
import { AppError } from '../../../shared/errors';

/** ModelProto.SentencePiece.Type. */
export const PIECE_TYPES = {
  1: 'normal',
  2: 'unknown',
  3: 'control',
  4: 'user-defined',
  5: 'unused',
  6: 'byte',
} as const;
export type PieceType = (typeof PIECE_TYPES)[keyof typeof PIECE_TYPES];

/** TrainerSpec.ModelType. */
const MODEL_TYPES = { 1: 'unigram', 2: 'bpe', 3: 'word', 4: 'char' } as const;
export type ModelType = (typeof MODEL_TYPES)[keyof typeof MODEL_TYPES];

export interface SentencePiece {
  piece: string;
  /** float32 in the file; BPE merges the pair whose piece has the highest score. */
  score: number;
  type: PieceType;
}

export interface TrainerSpec {
  modelType: ModelType;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  /** -1 when the model has no padding piece. */
  padId: number;
  /** Text that decoding writes for the `<unk>` piece. */
  unkSurface: string;
}

export interface NormalizerSpec {
  /** The rule set's name (`identity`, `nmt_nfkc`, ...); empty when the file does not say. */
  name: string;
  /** Compiled normalization rules (a darts-clone trie and the replacement strings); empty for none. */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface SentencePieceModelProto {
  pieces: SentencePiece[];
  trainer: TrainerSpec;
  normalizer: NormalizerSpec;
  /** Present when the file has a denormalizer_spec (applied to decoded text). */
  denormalizer: NormalizerSpec | undefined;
}

type Reader = protobuf.Reader;

/** Wire type of a field key: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * Parses the bytes of a `tokenizer.model` file. `source` names the file in errors: a
 * truncated or non-protobuf file is 'bad-file', a valid model this reader cannot run
 * (not BPE, unknown piece type) is 'unsupported'.
 */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModelProto {
  let proto: SentencePieceModelProto;
  try {
    proto = readModelProto(protobuf.Reader.create(bytes), source);
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw notAModel(source, (e as Error).message, e);
  }
  checkPieces(proto, source);
  return proto;
}

function notAModel(source: string, why: string, cause?: unknown): AppError {
  return new AppError('bad-file', `${source} is not a SentencePiece model (truncated or not a ModelProto): ${why}`, {
    subject: source,
    cause,
  });
}

function readModelProto(r: Reader, source: string): SentencePieceModelProto {
  const pieces: SentencePiece[] = [];
  let trainer = readTrainerSpec(undefined, source);
  let normalizer = readNormalizerSpec(undefined, source);
  let denormalizer: NormalizerSpec | undefined;
  forEachField(r, source, (field, wire) => {
    if (field === 1 && wire === LENGTH_DELIMITED) pieces.push(readPiece(sub(r), source));
    else if (field === 2 && wire === LENGTH_DELIMITED) trainer = readTrainerSpec(sub(r), source);
    else if (field === 3 && wire === LENGTH_DELIMITED) normalizer = readNormalizerSpec(sub(r), source);
    else if (field === 5 && wire === LENGTH_DELIMITED) denormalizer = readNormalizerSpec(sub(r), source);
    else return false;
    return true;
  });
  return { pieces, trainer, normalizer, denormalizer };
}

function readPiece(r: Reader, source: string): SentencePiece {
  let piece = '';
  let score = 0;
  let typeCode = 1;
  forEachField(r, source, (field, wire) => {
    if (field === 1 && wire === LENGTH_DELIMITED) piece = r.string();
    else if (field === 2 && wire === FIXED32) score = r.float();
    else if (field === 3 && wire === VARINT) typeCode = r.int32();
    else return false;
    return true;
  });
  const type = PIECE_TYPES[typeCode as keyof typeof PIECE_TYPES];
  if (type === undefined) {
    throw new AppError('unsupported', `${source}: piece ${JSON.stringify(piece)} has an unknown type ${typeCode}`, {
      subject: source,
    });
  }
  return { piece, score, type };
}

function readTrainerSpec(r: Reader | undefined, source: string): TrainerSpec {
  let modelTypeCode = 1;
  const spec: TrainerSpec = {
    modelType: 'unigram',
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkSurface: ' \u2047 ',
  };
  if (r === undefined) return spec;
  forEachField(r, source, (field, wire) => {
    if (wire === VARINT && field === 3) modelTypeCode = r.int32();
    else if (wire === VARINT && field === 24) spec.treatWhitespaceAsSuffix = r.bool();
    else if (wire === VARINT && field === 35) spec.byteFallback = r.bool();
    else if (wire === VARINT && field === 40) spec.unkId = r.int32();
    else if (wire === VARINT && field === 41) spec.bosId = r.int32();
    else if (wire === VARINT && field === 42) spec.eosId = r.int32();
    else if (wire === VARINT && field === 43) spec.padId = r.int32();
    else if (wire === LENGTH_DELIMITED && field === 44) spec.unkSurface = r.string();
    else return false;
    return true;
  });
  const modelType = MODEL_TYPES[modelTypeCode as keyof typeof MODEL_TYPES];
  if (modelType === undefined) {
    throw new AppError('unsupported', `${source}: unknown SentencePiece model_type ${modelTypeCode}`, {
      subject: source,
    });
  }
  spec.modelType = modelType;
  return spec;
}

function readNormalizerSpec(r: Reader | undefined, source: string): NormalizerSpec {
  const spec: NormalizerSpec = {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  if (r === undefined) return spec;
  forEachField(r, source, (field, wire) => {
    if (wire === LENGTH_DELIMITED && field === 1) spec.name = r.string();
    else if (wire === LENGTH_DELIMITED && field === 2) spec.precompiledCharsmap = r.bytes();
    else if (wire === VARINT && field === 3) spec.addDummyPrefix = r.bool();
    else if (wire === VARINT && field === 4) spec.removeExtraWhitespaces = r.bool();
    else if (wire === VARINT && field === 5) spec.escapeWhitespaces = r.bool();
    else return false;
    return true;
  });
  return spec;
}

/** A reader over the next length-delimited field (a sub-message). */
function sub(r: Reader): Reader {
  return protobuf.Reader.create(r.bytes());
}

/**
 * Calls `read` for each field of the message; `read` consumes the value and returns true, or
 * returns false to have an unknown field skipped (as protobuf parsers do). The Reader throws
 * a RangeError when a value runs past the end: a truncated file.
 */
function forEachField(r: Reader, source: string, read: (field: number, wire: number) => boolean): void {
  while (r.pos < r.len) {
    const key = r.uint32();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0) throw notAModel(source, `field number 0 at byte ${r.pos}`);
    if (!read(field, wire)) r.skipType(wire);
  }
}

/** The checks of sentencepiece's ModelInterface::InitializePieces. */
function checkPieces(proto: SentencePieceModelProto, source: string): void {
  const bad = (why: string): AppError => new AppError('bad-file', `${source}: ${why}`, { subject: source });
  if (proto.pieces.length === 0) throw notAModel(source, 'it has no pieces');
  const seen = new Set<string>();
  let unk = -1;
  let bytes = 0;
  proto.pieces.forEach((p, id) => {
    if (p.piece === '') throw bad(`piece ${id} is empty`);
    if (seen.has(p.piece)) throw bad(`piece ${JSON.stringify(p.piece)} is defined twice`);
    seen.add(p.piece);
    if (p.type === 'unknown') {
      if (unk >= 0) throw bad(`more than one unknown piece (${unk} and ${id})`);
      unk = id;
    }
    if (p.type === 'byte') {
      if (!proto.trainer.byteFallback) throw bad(`byte piece ${p.piece} is found although byte_fallback is false`);
      if (!/^<0x[0-9A-F]{2}>$/.test(p.piece)) throw bad(`byte piece ${JSON.stringify(p.piece)} is invalid`);
      bytes++;
    }
  });
  if (unk < 0) throw bad('no piece has type UNKNOWN (<unk>)');
  if (proto.trainer.byteFallback && bytes !== 256) {
    throw bad(`byte_fallback is on but there are ${bytes} byte pieces, not 256`);
  }
}
