// A PEFT LoRA adapter folded into its base model (`mia-dpo merge`): W + s·B·A
// for every adapted module, every other tensor copied byte for byte, written
// as sharded safetensors in each tensor's stored dtype under the base's names,
// beside the base's configs, tokenizer, processor and remote-code files, so the
// result is a folder of the base's family (llava-hf, or InternLM-XComposer-2.5
// with its PLoRA and mode adapters untouched) for this app, transformers or any
// other runtime. The family's names come from adapter-base.ts.
// Streams tensor by tensor: one tensor (plus its adapter halves) in memory.
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { commitDir, isMissingOrEmpty, tempSibling } from '../../common/durable-fs';
import { fromFloat32, toFloat32 } from '../weights/decode';
import { INDEX_FILE } from '../weights/weight-set';
import { writeShardedSafetensorsFrom, type TensorSpec } from '../weights/writer';
import { openAdapterBase } from './adapter-base';
import { PeftAdapter } from './peft';

/** HF's `max_shard_size="2GB"`: decimal bytes. */
export const DEFAULT_SHARD_BYTES = 2_000_000_000;

/**
 * The base folder's files that describe the model, not its weights: configs, tokenizer, chat template, processor,
 * and the remote code an IXC2.5 folder loads with (`trust_remote_code`).
 */
const CARRIED = /\.(json|txt|model|jinja|tiktoken|md|py)$/;

export interface MergeOptions {
  modelDir: string;
  adapterDir: string;
  outDir: string;
  /** Largest shard in bytes (a tensor is never split); default DEFAULT_SHARD_BYTES. */
  shardBytes?: number;
  /** Progress: called as each tensor is produced for writing. */
  onTensor?: (done: number, total: number) => void;
  /** Checked before each tensor: an abort stops the merge with the signal's reason (nothing reaches `outDir`). */
  signal?: AbortSignal;
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
  const a64 = Float64Array.from(a);
  const merged = new Float32Array(w.length);
  const row = new Float64Array(inF);
  for (let o = 0; o < out; o++) {
    const wo = o * inF;
    const bo = o * r;
    for (let j = 0; j < inF; j++) row[j] = w[wo + j]!;
    // Four ranks per pass over the row, added in rank order as one at a time would: a quarter of the row traffic.
    let k = 0;
    for (; k + 4 <= r; k += 4) {
      const [c0, c1, c2, c3] = [
        scale * b[bo + k]!,
        scale * b[bo + k + 1]!,
        scale * b[bo + k + 2]!,
        scale * b[bo + k + 3]!,
      ];
      const a0 = k * inF;
      const [a1, a2, a3] = [a0 + inF, a0 + 2 * inF, a0 + 3 * inF];
      for (let j = 0; j < inF; j++)
        row[j] = row[j]! + c0 * a64[a0 + j]! + c1 * a64[a1 + j]! + c2 * a64[a2 + j]! + c3 * a64[a3 + j]!;
    }
    for (; k < r; k++) {
      const c = scale * b[bo + k]!;
      const at = k * inF;
      for (let j = 0; j < inF; j++) row[j] = row[j]! + c * a64[at + j]!;
    }
    if (dtype === 'F32') merged.set(row, wo);
    else for (let j = 0; j < inF; j++) merged[wo + j] = roundToOddF32(row[j]!);
  }
  return merged;
}

/** Refuses an `outDir` that is the base itself or already holds files. */
export async function checkMergeTarget(modelDir: string, outDir: string): Promise<void> {
  if (path.resolve(outDir) === path.resolve(modelDir))
    throw new AppError('bad-input', `${outDir}: the merged model must go to a new folder, not over its base`, {
      subject: outDir,
    });
  if (!(await isMissingOrEmpty(outDir)))
    throw new AppError('bad-input', `${outDir}: already exists and is not empty; merge writes a new folder`, {
      subject: outDir,
    });
}

/**
 * Writes base + adapter to `outDir` (which must not exist or be empty), built
 * under a temporary name, checked to open as a model, then renamed into place.
 */
export async function mergeAdapter(o: MergeOptions): Promise<MergeResult> {
  await checkMergeTarget(o.modelDir, o.outDir);
  const out = path.resolve(o.outDir);
  const tmp = tempSibling(out);
  try {
    await mkdir(path.dirname(out), { recursive: true });
    await mkdir(tmp);
    const result = await writeMerged(o, tmp);
    await commitDir(tmp, out);
    return { ...result, outDir: out };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Builds base + adapter in `dir`, an existing empty folder (a temporary one: the
 * caller renames it into place, e.g. with commitDir), and checks that it opens
 * as a model. `outDir` is only named in errors; the result's outDir is `dir`.
 */
export async function writeMerged(o: MergeOptions, dir: string): Promise<MergeResult> {
  const shardBytes = o.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(shardBytes > 0)) throw new AppError('bad-input', `shard size ${shardBytes} must be positive`);
  const base = await openAdapterBase(o.modelDir);
  let adapter: PeftAdapter | undefined;
  const tmp = dir;
  try {
    adapter = await PeftAdapter.load(o.adapterDir, base);
    const peft = adapter; // narrowed for the closure below
    const names = base.weights.names();
    const specs: Record<string, TensorSpec> = {};
    const moduleOf = new Map<string, string>();
    for (const name of names) {
      const ref = base.weights.get(name);
      specs[name] = { dtype: ref.dtype, shape: [...ref.shape] };
      const c = base.canonical(name);
      const module = c?.endsWith('.weight') ? c.slice(0, -'.weight'.length) : undefined;
      if (module !== undefined && peft.modules.has(module)) moduleOf.set(name, module);
    }
    const stored = new Set(moduleOf.values());
    const unstored = [...peft.modules.keys()].filter((m) => !stored.has(m));
    if (unstored.length)
      throw new AppError(
        'unsupported',
        `${o.adapterDir}: cannot merge into weights the base does not store (tied to another tensor): ${unstored.join(', ')}`,
        { subject: o.adapterDir },
      );
    o.signal?.throwIfAborted();
    let done = 0;
    const shards = await writeShardedSafetensorsFrom(
      tmp,
      specs,
      async (name) => {
        o.signal?.throwIfAborted();
        const bytes = await base.weights.read(name);
        const module = moduleOf.get(name);
        o.onTensor?.(++done, names.length);
        if (module === undefined) return bytes;
        const dtype = (specs[name] as TensorSpec).dtype as 'F32' | 'F16' | 'BF16';
        const { a, b } = await peft.read(module);
        return fromFloat32(dtype, mergeLora(toFloat32(dtype, bytes), a, b, peft.config.r, peft.scale, dtype));
      },
      shardBytes,
    );
    const carried: string[] = [];
    for (const e of await readdir(o.modelDir, { withFileTypes: true })) {
      if (!e.isFile() || !CARRIED.test(e.name) || e.name === INDEX_FILE) continue;
      await copyFile(path.join(o.modelDir, e.name), path.join(tmp, e.name));
      carried.push(e.name);
    }
    await (await openAdapterBase(tmp)).close();
    return {
      outDir: tmp,
      files: [...shards, INDEX_FILE, ...carried].sort(),
      merged: [...stored].sort(),
      tensors: names.length,
    };
  } finally {
    await adapter?.close();
    await base.close();
  }
}
