// The requests between the engine's caller-side client and its session worker,
// carried by the one typed RPC (common/rpc.ts). Tensors travel as typed arrays
// (results transferred, not copied) or as handles to tensors the worker keeps
// between runs, typically on the GPU.
import type { EpChoice } from '../../../shared/ep';
import type { DType } from '../onnx/dtype';
import type { ExplicitEp, LocalSessionOptions } from './local';

/** Element storage per dtype, as onnxruntime-node takes and returns it. */
export type TensorData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

export interface WireTensor {
  dtype: DType;
  dims: number[];
  data: TensorData;
}

/** A WireTensor from its parts (the argument order of ort.Tensor's constructor). */
export function wire(dtype: DType, data: TensorData, dims: readonly number[]): WireTensor {
  return { dtype, dims: [...dims], data };
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

/** One GPU EP's state: usable (else why not), and whether it computes in fp16 (else why not: e.g. no shader-f16). */
export interface EpState {
  available: boolean;
  reason?: string;
  fp16: boolean;
  fp16Reason?: string;
}

export interface EpReport {
  webgpu: EpState;
  cuda: EpState;
}

export interface RunOptions {
  /** Outputs to keep in the worker and return as handles instead of values. */
  keep?: readonly string[];
  /** Kept tensors to free once the run is over, whether it worked or not (e.g. the KV cache it consumed). */
  free?: readonly string[];
  /** Outputs to compute and return (default all): a train step that only accumulates skips the optimizer's. */
  outputs?: readonly string[];
}

export interface Stats {
  sessions: number;
  handles: number;
}

/** Every request the session worker answers: what it takes and what it answers with. */
export type RuntimeCalls = {
  create: { args: { model: Uint8Array; options: CreateOptions }; result: SessionInfo };
  run: {
    args: { session: string; feeds: Record<string, Feed>; options: RunOptions };
    result: Record<string, WireTensor | TensorHandle>;
  };
  /** Keeps a tensor in the worker (e.g. LoRA weights fed to every run) so it crosses the thread once. */
  put: { args: { tensor: WireTensor }; result: TensorHandle };
  read: { args: { handle: string }; result: WireTensor };
  free: { args: { handles: string[] }; result: null };
  release: { args: { session: string }; result: null };
  /** The EP that `choice` resolves to here ('auto': CUDA, then WebGPU, then CPU), with why another was not used. */
  choose: { args: { choice: EpChoice }; result: { ep: ExplicitEp; fallbackReason?: string } };
  detect: { args: Record<string, never>; result: EpReport };
  stats: { args: Record<string, never>; result: Stats };
  /** Releases everything; answers with what was still live after (zero unless a release failed). */
  shutdown: { args: Record<string, never>; result: Stats };
};

/** Unsolicited: something the user should see, e.g. why an EP fell back to CPU. */
export interface RuntimeLogEvent {
  level: 'info' | 'warn';
  message: string;
}

export function isHandle(x: WireTensor | TensorHandle): x is TensorHandle {
  return 'handle' in x;
}
