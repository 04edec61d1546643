// Writes .safetensors files the reference implementation accepts: keys
// sorted, header padded with spaces to a multiple of 8 so the data section
// starts 8-byte aligned, optional string metadata. Used for exports (PEFT
// adapters), training checkpoints and test fixtures.
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { SAFETENSORS_DTYPES, type SafetensorsDType } from './dtypes';
import { INDEX_FILE } from './weight-set';

export interface TensorToWrite {
  dtype: SafetensorsDType;
  shape: number[];
  /** Little-endian element bytes; a typed array's bytes are taken as they are. */
  data: ArrayBufferView;
}

export type TensorsToWrite = Record<string, TensorToWrite>;

const bytesOf = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** A tensor's place in a header: its bytes are checked when given, else only its size is computed. */
export interface TensorLayout {
  dtype: SafetensorsDType;
  shape: number[];
  data?: ArrayBufferView;
}

/** The 8-byte length plus padded JSON header for `tensors` (names sorted). */
export function encodeHeader(tensors: Record<string, TensorLayout>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let cursor = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name] as TensorLayout;
    const want = t.shape.reduce((a, b) => a * b, SAFETENSORS_DTYPES[t.dtype].bytes);
    if (t.data !== undefined && t.data.byteLength !== want) {
      throw new AppError(
        'internal',
        `tensor "${name}": ${t.dtype} [${t.shape.join(', ')}] needs ${want} bytes, got ${t.data.byteLength}`,
      );
    }
    // defineProperty, not assignment: a tensor named "__proto__" must become a key, not a prototype.
    Object.defineProperty(header, name, {
      value: { dtype: t.dtype, shape: t.shape, data_offsets: [cursor, cursor + want] },
      enumerable: true,
    });
    cursor += want;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** A whole safetensors file in memory (for small files: adapters, fixtures). */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>): Uint8Array {
  const header = encodeHeader(tensors, metadata);
  const names = Object.keys(tensors).sort();
  const total = names.reduce((n, k) => n + (tensors[k] as TensorToWrite).data.byteLength, header.length);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.length;
  for (const k of names) {
    const b = bytesOf((tensors[k] as TensorToWrite).data);
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Streams the file to disk tensor by tensor, never holding a second copy of the data. */
export async function writeSafetensors(
  filePath: string,
  tensors: TensorsToWrite,
  metadata?: Record<string, string>,
): Promise<void> {
  const handle = await open(filePath, 'w');
  try {
    await handle.write(encodeHeader(tensors, metadata));
    for (const k of Object.keys(tensors).sort()) await handle.write(bytesOf((tensors[k] as TensorToWrite).data));
  } finally {
    await handle.close();
  }
}

/**
 * Streams a file whose tensors are produced one at a time, in name order, by `produce` (e.g. quantized
 * from another file): only the tensor being written is in memory. A produced tensor of the wrong size
 * is an internal error (the header already promised its size).
 */
export async function writeSafetensorsStreamed(
  filePath: string,
  layout: Record<string, TensorLayout>,
  produce: (name: string) => Promise<ArrayBufferView>,
  metadata?: Record<string, string>,
): Promise<void> {
  const handle = await open(filePath, 'w');
  try {
    await handle.write(encodeHeader(layout, metadata));
    for (const k of Object.keys(layout).sort()) {
      const t = layout[k] as TensorLayout;
      const data = await produce(k);
      const want = t.shape.reduce((a, b) => a * b, SAFETENSORS_DTYPES[t.dtype].bytes);
      if (data.byteLength !== want)
        throw new AppError('internal', `tensor "${k}": produced ${data.byteLength} bytes, the header says ${want}`);
      await handle.write(bytesOf(data));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `tensors` as HF does for large models: shards of at most
 * `maxShardBytes` (a tensor is never split) named model-0000i-of-0000n.safetensors,
 * plus model.safetensors.index.json mapping each tensor to its shard.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: TensorsToWrite,
  maxShardBytes: number,
): Promise<string[]> {
  const shards: string[][] = [[]];
  let size = 0;
  for (const name of Object.keys(tensors).sort()) {
    const n = (tensors[name] as TensorToWrite).data.byteLength;
    const current = shards[shards.length - 1] as string[];
    if (current.length > 0 && size + n > maxShardBytes) {
      shards.push([name]);
      size = n;
    } else {
      current.push(name);
      size += n;
    }
  }
  const pad = (i: number): string => String(i).padStart(5, '0');
  const files = shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (const [i, names] of shards.entries()) {
    const file = files[i] as string;
    const part: TensorsToWrite = Object.fromEntries(names.map((n) => [n, tensors[n] as TensorToWrite]));
    for (const n of names) {
      weightMap[n] = file;
      total += (tensors[n] as TensorToWrite).data.byteLength;
    }
    await writeSafetensors(path.join(dir, file), part, { format: 'pt' });
  }
  await writeFile(
    path.join(dir, INDEX_FILE),
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2),
  );
  return files;
}
