// Test helpers for running built graphs: typed feeds in, plain arrays out,
// on CPU or on WebGPU through SwiftShader (strict: a CPU fallback fails).
import ort from 'onnxruntime-node';
import type { DType, Graph } from '../../electron/engine/onnx';
import { serializeModel } from '../../electron/engine/onnx';
import type { ExplicitEp, LocalSessionOptions } from '../../electron/engine/runtime/local';
import { createLocalSession, toCpuTensor } from '../../electron/engine/runtime/local';

/** Points the WebGPU EP at Chromium's software Vulkan driver (call before creating WebGPU sessions). */
export function useSwiftShader(): void {
  process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
}

export interface HostTensor {
  dims: readonly number[];
  data: ArrayLike<number> | ArrayLike<bigint> | Uint8Array;
  dtype?: DType;
}

export function toOrt(t: HostTensor): ort.Tensor {
  const dtype = t.dtype ?? 'float32';
  switch (dtype) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(t.data as ArrayLike<number>), [...t.dims]);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(t.data as ArrayLike<number>), [...t.dims]);
    case 'int64':
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(t.data as ArrayLike<number>, (x) => BigInt(x)),
        [...t.dims],
      );
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(t.data as ArrayLike<number>), [...t.dims]);
    default:
      throw new Error(`test feeds of ${dtype} are not supported`);
  }
}

export interface RunResult {
  dims: number[];
  /** Values as JS numbers (int64 converted, bool as 0/1). */
  values: number[];
}

/** Serialises `g`, runs it once on `ep` and returns every output by name. */
export async function runGraph(
  g: Graph,
  feeds: Record<string, HostTensor>,
  ep: ExplicitEp = 'cpu',
  extra: Omit<LocalSessionOptions, 'ep'> = {},
): Promise<Record<string, RunResult>> {
  const session = await createLocalSession(serializeModel(g), { strict: true, ...extra, ep });
  try {
    const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)])));
    const result: Record<string, RunResult> = {};
    for (const [name, t] of Object.entries(out)) {
      const cpu = await toCpuTensor(t);
      result[name] = { dims: [...cpu.dims], values: Array.from(cpu.data as ArrayLike<number | bigint>, Number) };
    }
    return result;
  } finally {
    await session.release();
  }
}

/** Largest absolute difference, failing loudly on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}
