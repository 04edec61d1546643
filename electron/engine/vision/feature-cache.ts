// On-disk cache of vision features (vision tower + projector output per image),
// keyed by image content, model and preprocessing: MIA-DPO's towers are frozen, so
// each image is encoded once. Writes are atomic; damaged entries read as misses.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import { AppError } from '../../../shared/errors';

export interface FeatureKey {
  /** sha256 (hex) of the image file's bytes: see `imageContentHash`. */
  imageSha256: string;
  /** Identifies the weights the features came from (e.g. a hash of the vision tower's tensors). */
  modelId: string;
  /** `preprocessingId(config, options)` of the pixels that went in. */
  preprocessingId: string;
}

export interface Features {
  data: Float32Array;
  dims: number[];
}

/**
 * File layout, little-endian: magic "MIAFEAT1", u32 key length, key (UTF-8),
 * u32 rank, u32 dims[rank], float32 payload, then sha256 of all preceding bytes.
 */
const MAGIC = Buffer.from('MIAFEAT1', 'latin1');
const DIGEST_BYTES = 32;

export interface FeatureCacheOptions {
  /** Told about each damaged entry that was read as a miss (for logs). */
  onCorrupt?: (path: string, reason: string) => void;
}

export class FeatureCache {
  constructor(
    readonly dir: string,
    private readonly options: FeatureCacheOptions = {},
  ) {
    if (endianness() !== 'LE') throw new AppError('unsupported', 'the feature cache needs a little-endian machine');
  }

  /** The entry's file: `<dir>/<2 hex>/<sha256 of the key>.feat`. */
  pathFor(key: FeatureKey): string {
    const name = createHash('sha256').update(keyString(key)).digest('hex');
    return join(this.dir, name.slice(0, 2), `${name}.feat`);
  }

  /** The cached features, or undefined on a miss (absent, truncated, corrupt or for another key). */
  async get(key: FeatureKey): Promise<Features | undefined> {
    const path = this.pathFor(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new AppError('bad-file', `feature cache entry ${path} cannot be read: ${(e as Error).message}`, {
        subject: path,
        cause: e,
      });
    }
    const parsed = parseEntry(bytes, keyString(key));
    if (typeof parsed === 'string') {
      this.options.onCorrupt?.(path, parsed);
      await rm(path, { force: true });
      return undefined;
    }
    return parsed;
  }

  /** Stores features atomically: a reader sees the old entry, the new one, or none, never a partial file. */
  async put(key: FeatureKey, features: Features): Promise<void> {
    const count = features.dims.reduce((a, b) => a * b, 1);
    if (!features.dims.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 32) || count !== features.data.length) {
      throw new AppError(
        'internal',
        `features of dims [${features.dims.join(', ')}] cannot hold ${features.data.length} values`,
      );
    }
    const path = this.pathFor(key);
    await mkdir(dirname(path), { recursive: true });
    const body = encodeEntry(keyString(key), features);
    const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(tmp, 'w');
    try {
      for (const part of body) await file.write(part);
      // Data reaches the disk before the rename makes it visible.
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new AppError('bad-file', `feature cache entry ${path} cannot be written: ${(e as Error).message}`, {
        subject: path,
        cause: e,
      });
    }
  }
}

/** sha256 (hex) of an image's bytes, streamed from disk for paths. */
export async function imageContentHash(input: string | Buffer): Promise<string> {
  const hash = createHash('sha256');
  if (typeof input !== 'string') return hash.update(input).digest('hex');
  try {
    for await (const chunk of createReadStream(input)) hash.update(chunk as Buffer);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AppError(
      missing ? 'not-found' : 'bad-file',
      `image ${input} ${missing ? 'does not exist' : `cannot be read: ${(e as Error).message}`}`,
      {
        subject: input,
        cause: e,
      },
    );
  }
  return hash.digest('hex');
}

function keyString(key: FeatureKey): string {
  return JSON.stringify([key.imageSha256, key.modelId, key.preprocessingId]);
}

function encodeEntry(key: string, features: Features): Buffer[] {
  const keyBytes = Buffer.from(key, 'utf8');
  const header = Buffer.alloc(MAGIC.length + 4 + keyBytes.length + 4 + 4 * features.dims.length);
  let o = MAGIC.copy(header, 0);
  o = header.writeUInt32LE(keyBytes.length, o);
  o += keyBytes.copy(header, o);
  o = header.writeUInt32LE(features.dims.length, o);
  for (const d of features.dims) o = header.writeUInt32LE(d, o);
  const payload = Buffer.from(features.data.buffer, features.data.byteOffset, features.data.byteLength);
  const digest = createHash('sha256').update(header).update(payload).digest();
  return [header, payload, digest];
}

/** The features, or the reason the bytes are not a valid entry for `key`. */
function parseEntry(bytes: Buffer, key: string): Features | string {
  if (bytes.length < MAGIC.length + 8 + DIGEST_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    return 'not a feature cache file';
  const body = bytes.subarray(0, bytes.length - DIGEST_BYTES);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(bytes.subarray(bytes.length - DIGEST_BYTES))) return 'checksum mismatch (truncated or corrupt)';
  let o = MAGIC.length;
  const keyLength = body.readUInt32LE(o);
  o += 4;
  if (o + keyLength + 4 > body.length) return 'header longer than the file';
  if (body.toString('utf8', o, o + keyLength) !== key) return 'entry belongs to another key';
  o += keyLength;
  const rank = body.readUInt32LE(o);
  o += 4;
  if (o + 4 * rank > body.length) return 'header longer than the file';
  const dims: number[] = [];
  for (let i = 0; i < rank; i++, o += 4) dims.push(body.readUInt32LE(o));
  const count = dims.reduce((a, b) => a * b, 1);
  if (body.length - o !== count * 4) return `payload holds ${body.length - o} bytes, dims need ${count * 4}`;
  // Copy into an aligned buffer: the payload's offset in the file need not be a multiple of 4.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(body.subarray(o));
  return { data, dims };
}
