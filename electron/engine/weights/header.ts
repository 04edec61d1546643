// Parses and validates a safetensors header exactly as the reference (Rust)
// implementation does, as a pure function of the header bytes and the file
// size, so random-byte tests need no files. Layout: u64 LE header length n,
// n bytes of UTF-8 JSON, then the raw little-endian tensor bytes.
import { SAFETENSORS_DTYPES, isSafetensorsDType, type SafetensorsDType } from './dtypes';
import { SafetensorsError } from './errors';

/** The reference implementation refuses headers above this many bytes. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte offset of the first element from the start of the FILE (not of the data section). */
  offset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  /** Where the data section starts in the file: 8 + header length. */
  dataStart: number;
  /** Sorted by offset, as stored. */
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

/** Reads the declared header length from the first 8 bytes. */
export function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new SafetensorsError(
      'file-too-small',
      file,
      `file has ${fileSize} bytes, fewer than the 8-byte header length`,
    );
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      'header-too-large',
      file,
      `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  if (8n + n > BigInt(fileSize)) {
    throw new SafetensorsError(
      'header-out-of-file',
      file,
      `header length ${n} runs past the end of the ${fileSize}-byte file`,
    );
  }
  return Number(n);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeJson(bytes: Uint8Array, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (e) {
    throw new SafetensorsError('header-utf8', file, 'header is not valid UTF-8', e);
  }
  if (!text.startsWith('{'))
    throw new SafetensorsError(
      'header-start',
      file,
      `header must start with '{', found ${JSON.stringify(text.slice(0, 8))}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('header-json', file, `header is not valid JSON: ${(e as Error).message}`, e);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SafetensorsError('header-json', file, 'header JSON is not an object');
  }
  return parsed as Record<string, unknown>;
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError('metadata', file, '__metadata__ must be an object of string values');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string')
      throw new SafetensorsError('metadata', file, `__metadata__.${k} is ${JSON.stringify(v)}, not a string`);
    out[k] = v;
  }
  return out;
}

const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

interface RawEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, raw: unknown, file: string): RawEntry {
  const bad = (what: string): never => {
    throw new SafetensorsError('tensor-entry', file, `tensor "${name}": ${what}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') return bad('dtype missing or not a string');
  if (!Array.isArray(shape) || !shape.every(isIndex)) return bad('shape must be an array of non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    return bad('data_offsets must be [begin, end] with non-negative integers');
  }
  if (!isSafetensorsDType(dtype)) {
    throw new SafetensorsError(
      'dtype',
      file,
      `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(SAFETENSORS_DTYPES).join(', ')}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin: offsets[0] as number, end: offsets[1] as number };
}

function expectedBytes(e: RawEntry, file: string): number {
  let n = SAFETENSORS_DTYPES[e.dtype].bytes;
  for (const d of e.shape) n *= d;
  if (!Number.isSafeInteger(n))
    throw new SafetensorsError('byte-length', file, `tensor "${e.name}": shape [${e.shape.join(', ')}] is too large`);
  return n;
}

/** Validates the header bytes (those after the 8-byte length) against a file of `fileSize` bytes. */
export function parseHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const json = decodeJson(bytes, file);
  const metadata = parseMetadata(json['__metadata__'], file);
  const raw = Object.entries(json)
    .filter(([k]) => k !== '__metadata__')
    .map(([k, v]) => parseEntry(k, v, file));
  // The reference sorts by (begin, end) before checking contiguity.
  raw.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + bytes.length;
  let cursor = 0;
  const tensors: TensorEntry[] = [];
  for (const e of raw) {
    if (e.begin !== cursor || e.end < e.begin) {
      const why =
        e.end < e.begin
          ? `end ${e.end} < begin ${e.begin}`
          : e.begin > cursor
            ? `gap before it (previous tensor ends at ${cursor})`
            : `overlaps the previous tensor (which ends at ${cursor})`;
      throw new SafetensorsError('offsets', file, `tensor "${e.name}": data_offsets [${e.begin}, ${e.end}]: ${why}`);
    }
    const want = expectedBytes(e, file);
    if (e.end - e.begin !== want) {
      throw new SafetensorsError(
        'byte-length',
        file,
        `tensor "${e.name}": ${e.dtype} [${e.shape.join(', ')}] needs ${want} bytes, data_offsets span ${e.end - e.begin}`,
      );
    }
    cursor = e.end;
    tensors.push({ name: e.name, dtype: e.dtype, shape: e.shape, offset: dataStart + e.begin, byteLength: want });
  }
  if (dataStart + cursor !== fileSize) {
    throw new SafetensorsError(
      'file-size',
      file,
      `tensor data ends at byte ${dataStart + cursor} but the file has ${fileSize} bytes`,
    );
  }
  return { dataStart, tensors, metadata };
}
