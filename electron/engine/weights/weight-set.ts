// All the tensors of a checkpoint folder, single-file or sharded through
// `model.safetensors.index.json`, behind one lookup by name. Each tensor
// knows its file (relative to the folder) and byte range, which is all an
// ONNX external initializer needs.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { SafetensorsError } from './errors';
import type { TensorEntry } from './header';
import { SafetensorsFile } from './reader';

export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

export interface TensorRef extends TensorEntry {
  /** File name relative to the checkpoint folder. */
  location: string;
}

export class WeightSet {
  readonly dir: string;
  private readonly files: SafetensorsFile[];
  private readonly byName: Map<string, { file: SafetensorsFile; entry: TensorEntry }>;

  constructor(dir: string, files: SafetensorsFile[]) {
    this.dir = dir;
    this.files = files;
    this.byName = new Map(files.flatMap((file) => file.tensors.map((entry) => [entry.name, { file, entry }] as const)));
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The safetensors files, relative to the folder, in the order opened. */
  fileNames(): string[] {
    return this.files.map((f) => f.fileName);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): TensorRef {
    const hit = this.byName.get(name);
    if (!hit) throw new SafetensorsError('tensor-missing', this.dir, `no tensor named "${name}" in the checkpoint`);
    return { ...hit.entry, location: hit.file.fileName };
  }

  async read(name: string): Promise<Uint8Array> {
    const hit = this.byName.get(name);
    if (!hit) throw new SafetensorsError('tensor-missing', this.dir, `no tensor named "${name}" in the checkpoint`);
    return hit.file.read(name);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

/** Opens `dir`'s weights: the index when present, else model.safetensors, else the folder's only .safetensors file. */
export async function openWeights(dir: string): Promise<WeightSet> {
  const indexPath = path.join(dir, INDEX_FILE);
  if (existsSync(indexPath)) return openSharded(dir, indexPath);
  const single = path.join(dir, SINGLE_FILE);
  if (existsSync(single)) return new WeightSet(dir, [await SafetensorsFile.open(single)]);
  const found = existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith('.safetensors')) : [];
  if (found.length === 1) return new WeightSet(dir, [await SafetensorsFile.open(path.join(dir, found[0] as string))]);
  const bin = existsSync(dir)
    ? (await readdir(dir)).some((f) => /^pytorch_model.*\.bin(\.index\.json)?$/.test(f))
    : false;
  const why =
    found.length === 0
      ? `no .safetensors file${bin ? ' (PyTorch .bin weights are not read: convert them to safetensors)' : ''}`
      : `${found.length} .safetensors files but no ${INDEX_FILE}`;
  throw new AppError('not-found', `${dir}: ${why}`, { subject: dir });
}

async function readIndex(indexPath: string): Promise<Record<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new SafetensorsError('index', indexPath, `not valid JSON: ${(e as Error).message}`, e);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new SafetensorsError('index', indexPath, 'weight_map missing or not an object');
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file !== path.basename(file) || file === '..' || file === '.') {
      throw new SafetensorsError(
        'index',
        indexPath,
        `weight_map["${name}"] = ${JSON.stringify(file)} is not a file name in the folder`,
      );
    }
  }
  return map as Record<string, string>;
}

async function openSharded(dir: string, indexPath: string): Promise<WeightSet> {
  const weightMap = await readIndex(indexPath);
  const shardNames = [...new Set(Object.values(weightMap))].sort();
  for (const s of shardNames) {
    if (!existsSync(path.join(dir, s)))
      throw new SafetensorsError('shard-missing', indexPath, `shard ${s} listed in the index does not exist`);
  }
  const files: SafetensorsFile[] = [];
  try {
    for (const s of shardNames) files.push(await SafetensorsFile.open(path.join(dir, s)));
    checkShardAssignment(indexPath, weightMap, files);
  } catch (e) {
    await Promise.all(files.map((f) => f.close()));
    throw e;
  }
  return new WeightSet(dir, files);
}

/** Every tensor in exactly one shard, the one the index names. */
function checkShardAssignment(indexPath: string, weightMap: Record<string, string>, files: SafetensorsFile[]): void {
  for (const f of files) {
    for (const t of f.tensors) {
      const listed = weightMap[t.name];
      if (listed === undefined)
        throw new SafetensorsError(
          'shard-tensor',
          indexPath,
          `tensor "${t.name}" is in ${f.fileName} but not in the index`,
        );
      if (listed !== f.fileName)
        throw new SafetensorsError(
          'shard-tensor',
          indexPath,
          `tensor "${t.name}" is in ${f.fileName} but the index puts it in ${listed}`,
        );
    }
  }
  const byFile = new Map(files.map((f) => [f.fileName, f]));
  for (const [name, file] of Object.entries(weightMap)) {
    if (!byFile.get(file)?.has(name))
      throw new SafetensorsError(
        'shard-tensor',
        indexPath,
        `index puts tensor "${name}" in ${file}, which does not hold it`,
      );
  }
}
