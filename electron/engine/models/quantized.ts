// int8 / int4 weights for the language model (issue 15, decision 0650): the
// decoder's linear layers quantized once, tensor by tensor from the user's
// safetensors, into one cached safetensors file that also holds every other
// tensor the text graph reads (embeddings, norms, lm_head, biases: copied as
// stored). The text graph's external data then points into that file only;
// the vision tower and projector keep reading the original checkpoint.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import type { Graph, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import { toFloat32 } from '../weights/decode';
import { SAFETENSORS_DTYPES } from '../weights/dtypes';
import { weightInitializer } from '../weights/external';
import { codeBytes, quantizeMatrix, type QuantBits, type QuantBlock } from '../weights/quantize';
import { openWeights, SINGLE_FILE, type TensorRef } from '../weights/weight-set';
import { writeSafetensorsFrom, type TensorSpec } from '../weights/writer';
import type { ExplicitEp } from '../../../shared/ep';
import type { Checkpoint } from './checkpoint';
import type { Params } from './params';

export interface QuantSpec {
  bits: QuantBits;
  block: QuantBlock;
}

/** Bumped when the file layout or the quantization rule changes: older cache entries are then rebuilt. */
const CACHE_VERSION = '1';
const LINEAR = /^language_model\.model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

/** Whether the text graph reads `name` as quantized codes (a decoder linear weight whose rows split into blocks). */
export function isQuantized(name: string, shape: readonly number[], spec: QuantSpec): boolean {
  return LINEAR.test(name) && shape.length === 2 && shape[1]! % spec.block === 0;
}

export const codesName = (name: string): string => `${name}.q`;
export const scalesName = (name: string): string => `${name}.scales`;

/** The cached quantized text weights of one checkpoint: a folder holding one model.safetensors. */
export interface QuantizedWeights {
  readonly dir: string;
  readonly spec: QuantSpec;
  /** The cache file's tensors (byte ranges only: the file is opened by the sessions, not held here). */
  readonly refs: ReadonlyMap<string, TensorRef>;
  /** Canonical names stored as codes and scales. */
  readonly quantized: ReadonlySet<string>;
  /** Whether this call wrote the file (false: read from the cache). */
  readonly built: boolean;
}

/** Identifies the source: folder, config and every weight file's name, size and modification time. */
async function sourceKey(checkpoint: Checkpoint): Promise<string> {
  const dir = path.resolve(checkpoint.dir);
  const h = createHash('sha256')
    .update(`${CACHE_VERSION}\0${dir}\0`)
    .update(await readFile(path.join(dir, 'config.json')));
  const files = [...new Set(checkpoint.names().map((n) => checkpoint.get(n).location))].sort();
  for (const f of files) {
    const s = await stat(path.join(dir, f));
    h.update(`\0${f}:${s.size}:${s.mtimeMs}`);
  }
  return h.digest('hex');
}

/** The folder inside `cacheRoot` for this checkpoint and format. */
export async function quantizedFolder(checkpoint: Checkpoint, spec: QuantSpec, cacheRoot: string): Promise<string> {
  const key = await sourceKey(checkpoint);
  return path.join(
    cacheRoot,
    `${path.basename(path.resolve(checkpoint.dir))}@${key.slice(0, 16)}-int${spec.bits}-b${spec.block}`,
  );
}

/** The file's layout: codes and scales for quantized linears, every other language-model tensor as stored. */
function layoutOf(
  checkpoint: Checkpoint,
  spec: QuantSpec,
): { layout: Record<string, TensorSpec>; quantized: Set<string> } {
  const layout: Record<string, TensorSpec> = {};
  const quantized = new Set<string>();
  for (const name of checkpoint.names()) {
    if (!name.startsWith('language_model.')) continue;
    const ref = checkpoint.get(name);
    if (isQuantized(name, ref.shape, spec)) {
      const [rows, cols] = ref.shape as [number, number];
      quantized.add(name);
      layout[codesName(name)] = {
        dtype: spec.bits === 8 ? 'I8' : 'U8',
        shape: [rows, codeBytes(rows, cols, spec.bits) / rows],
      };
      layout[scalesName(name)] = { dtype: 'F32', shape: [rows, cols / spec.block] };
    } else {
      layout[name] = { dtype: ref.dtype, shape: [...ref.shape] };
    }
  }
  return { layout, quantized };
}

/**
 * The quantized text weights of `checkpoint`, from `cacheRoot` when an entry for the same source and
 * format is there, else quantized now (one source tensor in memory at a time) and written atomically
 * (a temporary file renamed into place, so an interrupted build leaves no entry).
 */
export async function quantizedWeights(
  checkpoint: Checkpoint,
  spec: QuantSpec,
  cacheRoot: string,
): Promise<QuantizedWeights> {
  const dir = await quantizedFolder(checkpoint, spec, cacheRoot);
  const file = path.join(dir, SINGLE_FILE);
  const { layout, quantized } = layoutOf(checkpoint, spec);
  let built = false;
  if (!existsSync(file)) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new AppError('bad-input', `${dir}: cannot create the weight cache folder (${(e as Error).message})`, {
        subject: dir,
        cause: e,
      });
    }
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await writeSafetensorsFrom(tmp, layout, producer(checkpoint, spec, quantized), {
        format: `int${spec.bits}`,
        block: String(spec.block),
        source: path.resolve(checkpoint.dir),
      });
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    built = true;
  }
  const weights = await openWeights(dir);
  const refs = new Map(weights.names().map((n) => [n, weights.get(n)] as const));
  await weights.close();
  for (const [name, t] of Object.entries(layout)) {
    const want = t.shape.reduce((a, b) => a * b, SAFETENSORS_DTYPES[t.dtype].bytes);
    if (refs.get(name)?.byteLength !== want) {
      throw new AppError(
        'bad-file',
        `${file}: the cached quantized weights lack or misstate "${name}"; delete ${dir} to rebuild it`,
        { subject: file },
      );
    }
  }
  return { dir, spec, refs, quantized, built };
}

/**
 * The bytes of each cache tensor in name order: codes or scales quantized from the source tensor, or the
 * source bytes. `X.q` sorts before `X.scales`, so each source tensor is read and quantized once and only
 * its scales wait for their turn.
 */
function producer(checkpoint: Checkpoint, spec: QuantSpec, quantized: ReadonlySet<string>) {
  let pending: { name: string; scales: Float32Array } | undefined;
  return async (name: string): Promise<ArrayBufferView> => {
    const source = name.replace(/\.(q|scales)$/, '');
    if (source === name || !quantized.has(source)) return checkpoint.read(name);
    if (name.endsWith('.scales') && pending?.name === source) return pending.scales;
    const ref = checkpoint.get(source);
    const bytes = await checkpoint.read(source);
    const values =
      ref.dtype === 'F32'
        ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
        : toFloat32(ref.dtype, bytes);
    const q = quantizeMatrix(values, ref.shape[0]!, ref.shape[1]!, spec.bits, spec.block);
    pending = { name: source, scales: q.scales };
    return name.endsWith('.q') ? q.codes : q.scales;
  };
}

/**
 * The float weight [rows, blocks * block] of int8 codes [rows, blocks, block] and scales [rows, blocks, 1]:
 * Cast + Mul, computed at every run (the session must not constant-fold it: LocalSessionOptions.disableConstantFolding).
 * Measured 2-5x faster than onnxruntime's blocked DequantizeLinear kernel on this CPU (decision 0650). int4 stays
 * on DequantizeLinear: the CPU EP has no int4 Reshape or Expand to order the Cast after its layer's input.
 */
export function dequantizeWeight(codes: Value, scales: Value): Value {
  const [rows, blocks, block] = codes.shape as [number, number, number];
  return op.reshape(op.mul(op.cast(codes, 'float32'), scales), [rows, blocks * block]);
}

/**
 * Graph weights from the quantized cache: dequantized as their layer runs for quantized linears, float32 for the rest.
 * `ep` picks the int8 form: Cast + Mul on the CPU; blocked DequantizeLinear on GPUs, where it runs wholly on the device
 * (measured on WebGPU/SwiftShader) while the ordering Reshape's int64 shape nodes would fall back to the CPU.
 */
export function quantizedParams(graph: Graph, q: QuantizedWeights, ep: ExplicitEp = 'cpu'): Params {
  const castForm = q.spec.bits === 8 && ep === 'cpu';
  const cache = new Map<string, Value>();
  // Cast + Mul: codes [rows, blocks, block] and scales [rows, blocks, 1]; blocked DequantizeLinear: [rows, cols]
  // and [rows, blocks] (the same bytes either way).
  const initializers = (name: string): { codes: Value; scales: Value } => {
    const codes = q.refs.get(codesName(name))!;
    const scales = q.refs.get(scalesName(name))!;
    const [rows, blocks] = scales.shape as [number, number];
    return {
      codes: graph.externalInitializer(codesName(name), {
        dtype: q.spec.bits === 8 ? 'int8' : 'int4',
        dims: castForm ? [rows, blocks, q.spec.block] : [rows, blocks * q.spec.block],
        location: codes.location,
        offset: codes.offset,
        length: codes.byteLength,
      }),
      scales: graph.externalInitializer(scalesName(name), {
        dtype: 'float32',
        dims: castForm ? [rows, blocks, 1] : [rows, blocks],
        location: scales.location,
        offset: scales.offset,
        length: scales.byteLength,
      }),
    };
  };
  // Unquantized tensors as stored (bf16 cast to float32): one initializer, which get() casts to float32.
  const stored = new Map<string, Value>();
  const storedOf = (name: string): Value => {
    const hit = stored.get(name);
    if (hit) return hit;
    const ref = q.refs.get(name);
    if (!ref) throw new AppError('bad-file', `${q.dir}: the cached weights have no tensor ${name}`, { subject: name });
    const v = weightInitializer(graph, name, ref);
    stored.set(name, v);
    return v;
  };
  const dequantize = (w: { codes: Value; scales: Value }, x?: Value): Value =>
    castForm
      ? dequantizeWeight(x ? op.after(x, w.codes) : w.codes, w.scales)
      : op.dequantizeBlocked(w.codes, w.scales, q.spec.block);
  const params: Params = {
    graph,
    has: (name) => q.quantized.has(name) || q.refs.has(name),
    get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      let v: Value;
      if (q.quantized.has(name)) {
        v = dequantize(initializers(name));
      } else {
        v = op.cast(storedOf(name), 'float32');
      }
      cache.set(name, v);
      return v;
    },
    weightFor(name, x) {
      if (!q.quantized.has(name) || cache.has(name)) return params.get(name);
      const v = dequantize(initializers(name), x);
      cache.set(name, v);
      return v;
    },
    ...(ep === 'cpu' ? { stored: (name: string) => storedOf(name) } : {}),
  };
  return params;
}
