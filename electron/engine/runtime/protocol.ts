// The messages between the engine's main-side client and its session worker
// (Signal's SQLite-worker pattern): requests are a tagged union carrying a
// sequence number, each answered by exactly one reply with the same number;
// errors cross the thread as {kind, message, subject}. Tensors travel as
// typed arrays (transferred, not copied) or as handles to tensors the worker
// keeps, typically on the GPU.
import type { EpChoice } from '../../../shared/ep';
import type { WireError } from '../../../shared/errors';
import type { DType } from '../onnx/dtype';
import type { ExplicitEp, LocalSessionOptions } from './local';

/** Element storage per dtype, as onnxruntime-node takes and returns it. */
export type TensorData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

export interface WireTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

/** A tensor living in the worker between runs (e.g. a KV cache on the GPU). */
export interface TensorHandle {
  handle: string;
  dtype: DType;
  dims: number[];
  location: 'cpu' | 'gpu-buffer';
}

export type Feed = WireTensor | { handle: string };

/** The in-process session options, with `auto` allowed; `strict` also refuses an EP fallback. */
export interface CreateOptions extends Omit<LocalSessionOptions, 'ep'> {
  ep: EpChoice;
}

export interface SessionInfo {
  /** sha256 of the model bytes and options: the same graph created twice shares one session. */
  id: string;
  ep: ExplicitEp;
  /** Why the requested EP was not used, when it was not. */
  fallbackReason?: string;
  inputNames: string[];
  outputNames: string[];
  /** True when the session already existed in the cache. */
  cached: boolean;
}

export interface EpReport {
  webgpu: { available: boolean; reason?: string };
  cuda: { available: boolean; reason?: string };
}

export interface RunOptions {
  /** Outputs to keep in the worker and return as handles instead of values. */
  keep?: readonly string[];
}

export type Request =
  | { seq: number; type: 'create'; model: Uint8Array; options: CreateOptions }
  | { seq: number; type: 'run'; session: string; feeds: Record<string, Feed>; options: RunOptions }
  | { seq: number; type: 'read'; handle: string }
  | { seq: number; type: 'free'; handles: string[] }
  | { seq: number; type: 'release'; session: string }
  | { seq: number; type: 'detect' }
  | { seq: number; type: 'stats' }
  | { seq: number; type: 'shutdown' };

export type RequestType = Request['type'];

export interface Stats {
  sessions: number;
  handles: number;
}

/** What each request type answers with. */
export interface Results {
  create: SessionInfo;
  run: Record<string, WireTensor | TensorHandle>;
  read: WireTensor;
  free: null;
  release: null;
  detect: EpReport;
  stats: Stats;
  /** What was still live after releasing everything: zero unless a release failed. */
  shutdown: Stats;
}

export type Reply =
  | { seq: number; type: 'ok'; result: Results[RequestType] }
  | { seq: number; type: 'error'; error: WireError }
  /** Unsolicited: something the user should see, e.g. why an EP fell back to CPU. */
  | { seq: null; type: 'log'; level: 'info' | 'warn'; message: string };

export function isHandle(x: WireTensor | TensorHandle): x is TensorHandle {
  return 'handle' in x;
}
