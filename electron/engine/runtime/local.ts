// In-process onnxruntime sessions for an explicit execution provider, created
// from in-memory model bytes. The worker thread and 'auto' EP choice build on
// this; tests and benchmarks use it directly. Also the one safe way to read a
// gpu-buffer tensor back (getData() on one aborts the whole process).
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { ExplicitEp } from '../../../shared/ep';
import { AppError } from '../../../shared/errors';
import type { DType } from '../onnx/dtype';
import { Graph } from '../onnx/graph';
import { op } from '../onnx';
import { serializeModel } from '../onnx/serialize';

export type { ExplicitEp };
export type OutputLocation = 'cpu' | 'gpu-buffer';

export interface LocalSessionOptions {
  ep: ExplicitEp;
  /** Folder that external-data locations are relative to (the checkpoint folder). */
  externalDataFolder?: string;
  /** Keep weights file-backed on CPU (no prepacked copy; peak memory about 1x weights). */
  disablePrepacking?: boolean;
  /** CPU: onnxruntime's arena allocator (default on); off returns freed activations to the system allocator. */
  cpuMemArena?: boolean;
  /** CPU: onnxruntime's memory-pattern planning (default on): one block sized for the graph's planned peak. */
  memPattern?: boolean;
  /**
   * Skip onnxruntime's constant folding: graphs that dequantize int8/int4 weights with Cast + Mul need it,
   * else the Cast of each code initializer is folded into a float32 copy at session creation (decision 0650).
   */
  disableConstantFolding?: boolean;
  /** Fail session creation when any node would fall back to the CPU EP (tests prove GPU coverage with it). */
  strict?: boolean;
  /** Where outputs land: 'gpu-buffer' keeps them on the WebGPU device to feed later runs. */
  preferredOutputLocation?: OutputLocation | Record<string, OutputLocation>;
  intraOpThreads?: number;
  /** CUDA device ordinal. */
  deviceId?: number;
}

export interface LocalSession {
  readonly ep: ExplicitEp;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph; `outputs` limits what is fetched (default every output). */
  run(feeds: Record<string, ort.Tensor>, outputs?: readonly string[]): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

function providers(opts: LocalSessionOptions): ort.InferenceSession.ExecutionProviderConfig[] {
  switch (opts.ep) {
    case 'cpu':
      return ['cpu'];
    case 'webgpu':
      return [{ name: 'webgpu' }, ...(opts.strict ? [] : ['cpu' as const])];
    case 'cuda':
      return [{ name: 'cuda', deviceId: opts.deviceId ?? 0 }, ...(opts.strict ? [] : ['cpu' as const])];
  }
}

function sessionOptions(opts: LocalSessionOptions): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = {};
  if (opts.externalDataFolder !== undefined)
    session.model_external_initializers_file_folder_path = opts.externalDataFolder;
  if (opts.disablePrepacking) session.disable_prepacking = '1';
  if (opts.disableConstantFolding) session['optimization.disable_specified_optimizers'] = 'ConstantFolding';
  if (opts.strict && opts.ep !== 'cpu') session.disable_cpu_ep_fallback = '1';
  // Options must be omitted rather than passed as undefined: the binding throws on undefined.
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: providers(opts),
    extra: { session },
    logSeverityLevel: 3,
  };
  if (opts.preferredOutputLocation !== undefined) o.preferredOutputLocation = opts.preferredOutputLocation;
  if (opts.intraOpThreads !== undefined) o.intraOpNumThreads = opts.intraOpThreads;
  if (opts.cpuMemArena !== undefined) o.enableCpuMemArena = opts.cpuMemArena;
  if (opts.memPattern !== undefined) o.enableMemPattern = opts.memPattern;
  return o;
}

const RTLD_NODELETE = 0x1000;
let vulkanPreloaded = false;

/**
 * When VK_ICD_FILENAMES points at a driver folder that ships its own Vulkan
 * loader (Chromium's SwiftShader: /usr/lib/chromium/libvulkan.so.1) and the
 * system has none, Dawn's dlopen('libvulkan.so.1') fails. Loading that loader
 * first, kept resident, lets the WebGPU EP find it by soname. A no-op elsewhere.
 */
export function preloadVulkanLoader(): void {
  if (vulkanPreloaded) return;
  vulkanPreloaded = true;
  const loader = vulkanLoaderBesideIcd();
  if (loader === null) return;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, loader, VULKAN_DLOPEN_FLAGS);
  } catch {
    // Expected: a plain shared library is not a Node addon ("did not self-register"), yet it stays loaded.
  }
}

/** dlopen flags that keep a preloaded Vulkan loader resident and its symbols global. */
export const VULKAN_DLOPEN_FLAGS = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;

/** The Vulkan loader shipped beside VK_ICD_FILENAMES's driver (Linux), or null when there is none to preload. */
export function vulkanLoaderBesideIcd(): string | null {
  const icd = process.env.VK_ICD_FILENAMES;
  if (process.platform !== 'linux' || !icd) return null;
  const loader = path.join(path.dirname(icd), 'libvulkan.so.1');
  return existsSync(loader) ? loader : null;
}

export async function createLocalSession(model: Uint8Array, opts: LocalSessionOptions): Promise<LocalSession> {
  if (opts.ep === 'webgpu') preloadVulkanLoader();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model, sessionOptions(opts));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new AppError('runtime', `could not create an onnxruntime session on ${opts.ep}: ${msg}`, { cause: e });
  }
  return {
    ep: opts.ep,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds, outputs) {
      try {
        return (await (outputs ? session.run(feeds, [...outputs]) : session.run(feeds))) as Record<string, ort.Tensor>;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new AppError('runtime', `onnxruntime run on ${opts.ep} failed: ${msg}`, { cause: e });
      }
    },
    release: () => session.release(),
  };
}

const readers = new Map<string, Promise<LocalSession>>();

/** A WebGPU session computing Identity for one dtype and rank, with its output on the CPU. */
function identityReader(dtype: DType, rank: number): Promise<LocalSession> {
  const key = `${dtype}/${rank}`;
  let s = readers.get(key);
  if (!s) {
    const g = new Graph('readback');
    const x = g.input(
      'x',
      dtype,
      Array.from({ length: rank }, (_, i) => `d${i}`),
    );
    g.output(op.identity(x), 'y');
    s = createLocalSession(serializeModel(g), { ep: 'webgpu', preferredOutputLocation: 'cpu' });
    readers.set(key, s);
  }
  return s;
}

/**
 * A CPU tensor with the values of `t`. CPU tensors are returned as they are;
 * gpu-buffer tensors are copied through an Identity session on the WebGPU EP.
 */
export async function toCpuTensor(t: ort.Tensor): Promise<ort.Tensor> {
  if (t.location === 'cpu') return t;
  if (t.location !== 'gpu-buffer')
    throw new AppError('unsupported', `cannot read back a tensor stored at '${t.location}'`);
  const reader = await identityReader(t.type as DType, t.dims.length);
  const out = await reader.run({ x: t });
  return out.y!;
}

/** Releases the cached read-back sessions (call before process exit in long-lived tools). */
export async function releaseReaders(): Promise<void> {
  const all = [...readers.values()];
  readers.clear();
  for (const s of all) await (await s).release();
}
