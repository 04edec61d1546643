// The trainers' state (parameters, AdamW moments, accumulated gradients) kept in
// the process's session host (engine/runtime) between runs: values set from
// the caller travel with the next run, each run's carried outputs stay in the
// worker as handles (on the GPU with WebGPU), and only what is asked for is read back.
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import type { DType } from '../onnx/dtype';
import type { OutputLocation } from '../runtime/local';
import { isHandle, wire, type Feed, type TensorData, type TensorHandle, type WireTensor } from '../runtime/protocol';
import { acquireRuntime, type EngineRuntime, type RuntimeLease } from '../runtime/runtime';

export const toWire = (t: ort.Tensor): WireTensor => wire(t.type as DType, t.data as TensorData, t.dims);

/** A caller-side tensor from wire values (the binding checks dtype against the array type; the overloads cannot match a union). */
export const fromWire = (w: WireTensor): ort.Tensor =>
  new ort.Tensor(w.dtype as 'float32', w.data as Float32Array, w.dims);

/** Outputs that carry state from run to run stay on the device; the host applies this only to sessions on WebGPU. */
export function onDevice(outputs: readonly string[]): Record<string, OutputLocation> {
  return Object.fromEntries(outputs.map((n) => [n, 'gpu-buffer' as const]));
}

/** Where a state tensor lives: in the host ('cpu' or 'gpu-buffer'), or still in the caller until the next run sends it. */
export type StateLocation = TensorHandle['location'] | 'caller';

export interface StateRun {
  /** Graph inputs fed from the state: input name -> state name. */
  from: Record<string, string>;
  /** State replaced by outputs kept in the host: state name -> output name. */
  into: Record<string, string>;
  /** Scalar outputs read back (loss, metrics, gradient norm). */
  scalars: readonly string[];
  /** Outputs to compute (default all); must include `into`'s and `scalars`. */
  outputs?: readonly string[];
}

export class HostState {
  private readonly values = new Map<string, WireTensor | TensorHandle>();
  /** Handles replaced by `set` or `zerosLike` (no state refers to them any more), freed with the next run, `flush` or release. */
  private orphans: string[] = [];
  readonly runtime: EngineRuntime;
  private readonly lease: RuntimeLease | undefined;

  constructor(runtime?: EngineRuntime) {
    this.lease = runtime ? undefined : acquireRuntime();
    this.runtime = runtime ?? this.lease!.runtime;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  private replace(name: string, value: WireTensor | TensorHandle): void {
    const old = this.values.get(name);
    if (old && isHandle(old)) this.orphans.push(old.handle);
    this.values.set(name, value);
  }

  /** Sets state from caller tensors; they cross to the host with the next run. */
  set(entries: readonly [string, ort.Tensor][]): void {
    for (const [name, t] of entries) this.replace(name, toWire(t));
  }

  /** Zeros shaped like state `like`, as state `name`. */
  zerosLike(name: string, like: string): void {
    const { dims } = this.get(like);
    this.replace(name, wire('float32', new Float32Array(dims.reduce((p, d) => p * d, 1)), dims));
  }

  private get(name: string): WireTensor | TensorHandle {
    const v = this.values.get(name);
    if (!v) throw new AppError('internal', `the trainer has no state "${name}"`, { subject: name });
    return v;
  }

  /** Runs `session` on the batch and state; carried outputs replace state (kept in the host), scalars come back as numbers. */
  async run(session: string, batch: Record<string, ort.Tensor>, r: StateRun): Promise<Record<string, number>> {
    const feeds: Record<string, Feed> = Object.fromEntries(Object.entries(batch).map(([n, t]) => [n, toWire(t)]));
    for (const [input, name] of Object.entries(r.from)) {
      const v = this.get(name);
      feeds[input] = isHandle(v) ? { handle: v.handle } : v;
    }
    const free = this.orphans;
    this.orphans = [];
    const out = await this.runtime.run(session, feeds, {
      keep: Object.values(r.into),
      free,
      ...(r.outputs ? { outputs: r.outputs } : {}),
    });
    // Freed only once the run has worked (a failed step leaves the state as it was), and before the next run,
    // so between steps the host holds one copy of the state.
    const replaced = Object.keys(r.into).flatMap((name) => {
      const old = this.values.get(name);
      return old && isHandle(old) ? [old.handle] : [];
    });
    for (const [name, output] of Object.entries(r.into)) this.values.set(name, out[output]!);
    if (replaced.length > 0) await this.runtime.free(...replaced);
    const scalars: Record<string, number> = {};
    for (const s of r.scalars) {
      const t = out[s];
      if (!t || isHandle(t)) throw new AppError('internal', `output ${s} is missing`, { subject: s });
      scalars[s] = Number(t.data[0]);
    }
    return scalars;
  }

  /** Frees now the handles `set` and `zerosLike` replaced, instead of with the next run. */
  async flush(): Promise<void> {
    const free = this.orphans;
    this.orphans = [];
    if (free.length > 0) await this.runtime.free(...free);
  }

  /** State `name` as a caller tensor (read back from the GPU through the host when it lives there). */
  async read(name: string): Promise<ort.Tensor> {
    const v = this.get(name);
    return fromWire(isHandle(v) ? await this.runtime.read(v.handle) : { ...v, data: v.data.slice() as TensorData });
  }

  locations(): Record<string, StateLocation> {
    return Object.fromEntries([...this.values].map(([n, v]) => [n, isHandle(v) ? v.location : ('caller' as const)]));
  }

  /** Frees every kept tensor and the given sessions, then the runtime lease (when this state holds one). */
  async release(sessions: readonly string[]): Promise<void> {
    const handles = [...this.orphans, ...[...this.values.values()].flatMap((v) => (isHandle(v) ? [v.handle] : []))];
    this.orphans = [];
    this.values.clear();
    try {
      if (handles.length > 0) await this.runtime.free(...handles);
      for (const s of sessions) await this.runtime.release(s);
    } finally {
      await this.lease?.release();
    }
  }
}
