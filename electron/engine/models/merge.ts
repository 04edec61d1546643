// A PEFT LoRA adapter folded into its base model (`mia-dpo merge`): W + s·B·A
// for every adapted module, every other tensor copied byte for byte, written
// as sharded safetensors in each tensor's stored dtype under the base's names,
// beside the base's configs, tokenizer and processor files, so the result is a
// plain llava-hf folder (for this app, transformers or any other runtime).
// Streams tensor by tensor: one tensor (plus its adapter halves) in memory.
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { commitDir, isMissingOrEmpty, tempSibling } from '../../common/durable-fs';
import { fromFloat32, toFloat32 } from '../weights/decode';
import { INDEX_FILE } from '../weights/weight-set';
import { writeShardedSafetensorsFrom, type TensorSpec } from '../weights/writer';
import { Checkpoint } from './checkpoint';
import { canonicalName } from './names';
import { PeftAdapter } from './peft';

/** HF's `max_shard_size="2GB"`: decimal bytes. */
export const DEFAULT_SHARD_BYTES = 2_000_000_000;

/** The base folder's files that describe the model, not its weights: configs, tokenizer, chat template, processor. */
const CARRIED = /\.(json|txt|model|jinja|tiktoken|md)$/;

export interface MergeOptions {
  modelDir: string;
  adapterDir: string;
  outDir: string;
  /** Largest shard in bytes (a tensor is never split); default DEFAULT_SHARD_BYTES. */
  shardBytes?: number;
  /** Called after each tensor is written. */
  onTensor?: (done: number, total: number) => void;
}

export interface MergeResult {
  outDir: string;
  /** Every file written, relative to outDir, sorted. */
  files: string[];
  /** Canonical names of the modules whose weights changed. */
  merged: string[];
  tensors: number;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * A float64 as the float32 nearest to it with ties to odd (round-to-odd): the
 * float32 one step toward zero with its last bit set when inexact. Rounding
 * that once more to float16 or bfloat16 (to nearest even) equals rounding the
 * float64 directly, since float32 keeps more than two extra bits; plain
 * nearest-even to float32 first would round twice.
 */
export function roundToOddF32(x: number): number {
  f32[0] = x;
  if (f32[0] === x || Number.isNaN(x)) return f32[0]!;
  if (Math.abs(f32[0]!) > Math.abs(x)) u32[0] = u32[0]! - 1; // rounded away from zero: step back toward it
  u32[0] = u32[0]! | 1;
  return f32[0]!;
}

/**
 * W [out, in] + scale · B [out, r] · A [r, in], summed in float64. For a float32
 * checkpoint each value is rounded once to float32; for float16 / bfloat16 the
 * float32 result is round-to-odd, so that fromFloat32 rounds it correctly.
 */
export function mergeLora(
  w: Float32Array,
  a: Float32Array,
  b: Float32Array,
  r: number,
  scale: number,
  dtype: 'F32' | 'F16' | 'BF16' = 'F32',
): Float32Array {
  const inF = a.length / r;
  const out = b.length / r;
  if (w.length !== out * inF)
    throw new AppError('internal', `merge: W has ${w.length} values, B·A gives ${out} x ${inF}`);
  const merged = new Float32Array(w.length);
  const row = new Float64Array(inF);
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < inF; j++) row[j] = w[o * inF + j]!;
    for (let k = 0; k < r; k++) {
      const c = scale * b[o * r + k]!;
      if (c === 0) continue;
      const at = k * inF;
      for (let j = 0; j < inF; j++) row[j] = row[j]! + c * a[at + j]!;
    }
    if (dtype === 'F32') merged.set(row, o * inF);
    else for (let j = 0; j < inF; j++) merged[o * inF + j] = roundToOddF32(row[j]!);
  }
  return merged;
}

/**
 * Writes base + adapter to `outDir` (which must not exist or be empty), built
 * under a temporary name, checked to open as a model, then renamed into place.
 */
export async function mergeAdapter(o: MergeOptions): Promise<MergeResult> {
  if (path.resolve(o.outDir) === path.resolve(o.modelDir))
    throw new AppError('bad-input', `${o.outDir}: the merged model must go to a new folder, not over its base`, {
      subject: o.outDir,
    });
  if (!(await isMissingOrEmpty(o.outDir)))
    throw new AppError('bad-input', `${o.outDir}: already exists and is not empty; merge writes a new folder`, {
      subject: o.outDir,
    });
  const shardBytes = o.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(shardBytes > 0)) throw new AppError('bad-input', `shard size ${shardBytes} must be positive`);
  const base = await Checkpoint.open(o.modelDir);
  let adapter: PeftAdapter | undefined;
  const out = path.resolve(o.outDir);
  const tmp = tempSibling(out);
  try {
    adapter = await PeftAdapter.load(o.adapterDir, base);
    const lora = adapter;
    const names = base.weights.names();
    const specs: Record<string, TensorSpec> = {};
    const moduleOf = new Map<string, string>();
    for (const name of names) {
      const ref = base.weights.get(name);
      specs[name] = { dtype: ref.dtype, shape: [...ref.shape] };
      const c = canonicalName(name);
      const module = c?.endsWith('.weight') ? c.slice(0, -'.weight'.length) : undefined;
      if (module !== undefined && lora.modules.has(module)) moduleOf.set(name, module);
    }
    const stored = new Set(moduleOf.values());
    const unstored = [...lora.modules.keys()].filter((m) => !stored.has(m));
    if (unstored.length)
      throw new AppError(
        'unsupported',
        `${o.adapterDir}: cannot merge into weights the base does not store (tied to another tensor): ${unstored.join(', ')}`,
        { subject: o.adapterDir },
      );
    await mkdir(path.dirname(out), { recursive: true });
    await mkdir(tmp);
    let done = 0;
    const shards = await writeShardedSafetensorsFrom(
      tmp,
      specs,
      async (name) => {
        const bytes = await base.weights.read(name);
        const module = moduleOf.get(name);
        o.onTensor?.(++done, names.length);
        if (module === undefined) return bytes;
        const dtype = (specs[name] as TensorSpec).dtype as 'F32' | 'F16' | 'BF16';
        const { a, b } = await lora.read(module);
        return fromFloat32(dtype, mergeLora(toFloat32(dtype, bytes), a, b, lora.config.r, lora.scale, dtype));
      },
      shardBytes,
    );
    const carried: string[] = [];
    for (const e of await readdir(o.modelDir, { withFileTypes: true })) {
      if (!e.isFile() || !CARRIED.test(e.name) || e.name === INDEX_FILE) continue;
      await copyFile(path.join(o.modelDir, e.name), path.join(tmp, e.name));
      carried.push(e.name);
    }
    const check = await Checkpoint.open(tmp);
    await check.close();
    await commitDir(tmp, out);
    return {
      outDir: out,
      files: [...shards, INDEX_FILE, ...carried].sort(),
      merged: [...stored].sort(),
      tensors: names.length,
    };
  } finally {
    await adapter?.close();
    await base.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
