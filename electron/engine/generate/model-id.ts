// The one identity of a model that generations, the feature cache and (later)
// evaluations are keyed by: the base weights, the adapter trained on them and
// the weight format the graphs compute in. Two models that can answer
// differently never share an id, so base and trained answers never mix.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../models/peft';

import type { WeightBlock, WeightFormat } from '../../../shared/weights';

export type { WeightFormat };

export interface ModelIdentity {
  modelDir: string;
  /** The checkpoint's weight files, relative to `modelDir`. */
  weightFiles: readonly string[];
  /** A PEFT adapter folder applied to the base model, if any. */
  adapterDir?: string;
  format: WeightFormat;
  /** Weights per scale for int8/int4 (default 32). */
  block?: WeightBlock;
}

async function hashFile(h: Hash, file: string): Promise<void> {
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    throw new AppError('not-found', `${file}: cannot be read to identify the adapter (${(e as Error).message})`, {
      subject: file,
      cause: e,
    });
  }
}

/**
 * `<folder>@<12 hex>`: the base model's folder name and a hash of its location,
 * config and weight files (name, size, modification time: hashing gigabytes
 * would take minutes). An adapter adds `+<folder>@<12 hex>` from the sha256
 * of its config and weights' contents (small files, so a retrained adapter in
 * the same folder is another model). A format other than fp32 adds `:<format>`
 * (`:int4`, and `:int4-b128` for a block other than 32); fp32 adds nothing, so
 * ids recorded before formats existed still match.
 */
export async function modelId(m: ModelIdentity): Promise<string> {
  const abs = path.resolve(m.modelDir);
  const base = createHash('sha256')
    .update(abs)
    .update(await readFile(path.join(abs, 'config.json')));
  for (const f of [...m.weightFiles].sort()) {
    const s = await stat(path.join(abs, f));
    base.update(`\0${f}:${s.size}:${s.mtimeMs}`);
  }
  let id = `${path.basename(abs)}@${base.digest('hex').slice(0, 12)}`;
  if (m.adapterDir !== undefined) {
    const dir = path.resolve(m.adapterDir);
    const adapter = createHash('sha256');
    await hashFile(adapter, path.join(dir, ADAPTER_CONFIG));
    adapter.update('\0');
    await hashFile(adapter, path.join(dir, ADAPTER_WEIGHTS));
    id += `+${path.basename(dir)}@${adapter.digest('hex').slice(0, 12)}`;
  }
  if (m.format === 'fp32') return id;
  const quantized = m.format === 'int8' || m.format === 'int4';
  return `${id}:${m.format}${quantized && (m.block ?? 32) !== 32 ? `-b${m.block}` : ''}`;
}
