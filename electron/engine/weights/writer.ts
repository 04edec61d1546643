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

/** A tensor's place in a header: what encodeHeader needs before any data exists. */
export interface TensorSpec {
  dtype: SafetensorsDType;
  shape: number[];
}

const byteSize = (t: TensorSpec): number => t.shape.reduce((a, b) => a * b, SAFETENSORS_DTYPES[t.dtype].bytes);

/** The 8-byte length plus padded JSON header for `tensors` (names sorted); data, when present, must fill its shape. */
export function encodeHeader(
  tensors: Record<string, TensorSpec & { data?: ArrayBufferView }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let cursor = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name] as TensorSpec & { data?: ArrayBufferView };
    const want = byteSize(t);
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
  await writeSafetensorsFrom(filePath, tensors, (name) => (tensors[name] as TensorToWrite).data, metadata);
}

/**
 * Writes a file whose tensors are produced one at a time, in header order, by
 * `produce` (e.g. read, transformed, converted): only one tensor is in memory.
 */
export async function writeSafetensorsFrom(
  filePath: string,
  specs: Record<string, TensorSpec>,
  produce: (name: string) => ArrayBufferView | Promise<ArrayBufferView>,
  metadata?: Record<string, string>,
): Promise<void> {
  const handle = await open(filePath, 'w');
  try {
    await handle.write(encodeHeader(specs, metadata));
    for (const name of Object.keys(specs).sort()) {
      const data = await produce(name);
      const want = byteSize(specs[name] as TensorSpec);
      if (data.byteLength !== want)
        throw new AppError('internal', `tensor "${name}": produced ${data.byteLength} bytes, its header says ${want}`);
      await handle.write(bytesOf(data));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes tensors as HF does for large models: shards of at most
 * `maxShardBytes` (a tensor is never split) named model-0000i-of-0000n.safetensors,
 * plus model.safetensors.index.json mapping each tensor to its shard.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: TensorsToWrite,
  maxShardBytes: number,
): Promise<string[]> {
  return writeShardedSafetensorsFrom(dir, tensors, (name) => (tensors[name] as TensorToWrite).data, maxShardBytes);
}

/** writeShardedSafetensors with each tensor produced on demand (see writeSafetensorsFrom); returns the shard names. */
export async function writeShardedSafetensorsFrom(
  dir: string,
  specs: Record<string, TensorSpec>,
  produce: (name: string) => ArrayBufferView | Promise<ArrayBufferView>,
  maxShardBytes: number,
): Promise<string[]> {
  const shards: string[][] = [[]];
  let size = 0;
  for (const name of Object.keys(specs).sort()) {
    const n = byteSize(specs[name] as TensorSpec);
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
    const part: Record<string, TensorSpec> = Object.fromEntries(names.map((n) => [n, specs[n] as TensorSpec]));
    for (const n of names) {
      weightMap[n] = file;
      total += byteSize(specs[n] as TensorSpec);
    }
    await writeSafetensorsFrom(path.join(dir, file), part, produce, { format: 'pt' });
  }
  await writeFile(
    path.join(dir, INDEX_FILE),
    JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2),
  );
  return files;
}
