// The worker-side state: sessions cached by graph hash (sha256 of the model
// bytes and options, reference-counted), and tensors kept between runs by
// handle so KV caches and optimizer state can stay on the GPU and are read
// back only when asked.
import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import type { DType } from '../onnx/dtype';
import type { EpDetector } from './ep';
import { createLocalSession, releaseReaders, toCpuTensor, type ExplicitEp, type LocalSession } from './local';
import type {
  CreateOptions,
  Feed,
  RunOptions,
  SessionInfo,
  Stats,
  TensorData,
  TensorHandle,
  WireTensor,
} from './protocol';

interface Entry {
  session: LocalSession;
  info: Omit<SessionInfo, 'cached'>;
  refs: number;
}

export type Log = (level: 'info' | 'warn', message: string) => void;

/** JSON with object keys sorted, so equal options hash equally whatever their key order. */
function stableJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(stableJson).join(',')}]`;
  if (typeof x === 'object' && x !== null) {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(x);
}

export function graphHash(model: Uint8Array, options: CreateOptions): string {
  return createHash('sha256').update(model).update('\0').update(stableJson(options)).digest('hex');
}

function toWire(t: ort.Tensor, copy: boolean): WireTensor {
  const data = t.data as TensorData;
  return { dtype: t.type as DType, dims: [...t.dims], data: copy ? (data.slice() as TensorData) : data };
}

function fromWire(w: WireTensor): ort.Tensor {
  // The binding checks dtype against the array type; the overloads cannot be matched from a union.
  return new ort.Tensor(w.dtype as 'float32', w.data as Float32Array, w.dims);
}

export class SessionHost {
  private readonly sessions = new Map<string, Promise<Entry>>();
  private readonly handles = new Map<string, ort.Tensor>();
  private nextHandle = 1;

  constructor(
    private readonly detector: EpDetector,
    private readonly log: Log,
  ) {}

  async create(model: Uint8Array, options: CreateOptions): Promise<SessionInfo> {
    const id = graphHash(model, options);
    const existing = this.sessions.get(id);
    if (existing) {
      const entry = await existing;
      entry.refs++;
      return { ...entry.info, cached: true };
    }
    const pending = this.open(id, model, options);
    this.sessions.set(id, pending);
    try {
      return { ...(await pending).info, cached: false };
    } catch (e) {
      this.sessions.delete(id);
      throw e;
    }
  }

  private async open(id: string, model: Uint8Array, options: CreateOptions): Promise<Entry> {
    const { ep: _choice, preferredOutputLocation, ...rest } = options;
    let { ep, fallbackReason } =
      options.strict && options.ep !== 'auto'
        ? { ep: options.ep, fallbackReason: undefined }
        : await this.detector.choose(options.ep);
    // gpu-buffer outputs exist only on WebGPU: elsewhere every output is a CPU tensor.
    const on = (e: ExplicitEp) => ({
      ...rest,
      ep: e,
      ...(e === 'webgpu' && preferredOutputLocation !== undefined ? { preferredOutputLocation } : {}),
    });
    let session: LocalSession;
    try {
      session = await createLocalSession(model, on(ep));
    } catch (e) {
      if (ep === 'cpu' || options.strict) throw e;
      // The EP works, but not for this graph (an op it cannot run): CPU still can.
      fallbackReason = `${ep}: ${(e as Error).message}`;
      ep = 'cpu';
      session = await createLocalSession(model, on(ep));
    }
    if (fallbackReason !== undefined)
      this.log('warn', `execution provider '${options.ep}' unavailable, using cpu: ${fallbackReason}`);
    this.log('info', `session ${id.slice(0, 12)} on ${ep}`);
    const info = {
      id,
      ep,
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      ...(fallbackReason === undefined ? {} : { fallbackReason }),
    };
    return { session, info, refs: 1 };
  }

  private async entry(id: string): Promise<Entry> {
    const e = this.sessions.get(id);
    if (!e)
      throw new AppError('not-found', `no session ${id.slice(0, 12)} in the runtime (released or never created)`, {
        subject: id,
      });
    return e;
  }

  private tensor(handle: string): ort.Tensor {
    const t = this.handles.get(handle);
    if (!t) throw new AppError('not-found', `no tensor handle ${handle} (freed or never kept)`, { subject: handle });
    return t;
  }

  async run(
    id: string,
    feeds: Record<string, Feed>,
    options: RunOptions,
  ): Promise<Record<string, WireTensor | TensorHandle>> {
    try {
      return await this.runOnce(id, feeds, options);
    } finally {
      this.free((options.free ?? []).filter((h) => this.handles.has(h)));
    }
  }

  private async runOnce(
    id: string,
    feeds: Record<string, Feed>,
    options: RunOptions,
  ): Promise<Record<string, WireTensor | TensorHandle>> {
    const { session, info } = await this.entry(id);
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      const t = 'handle' in f ? this.tensor(f.handle) : fromWire(f);
      // A CPU session would read a GPU buffer's bytes as if they were host memory: wrong values, silently.
      if (t.location === 'gpu-buffer' && info.ep !== 'webgpu') {
        throw new AppError(
          'internal',
          `input "${name}" is a tensor on the WebGPU device, but session ${id.slice(0, 12)} runs on ${info.ep}`,
          { subject: name },
        );
      }
      inputs[name] = t;
    }
    const keep = new Set(options.keep ?? []);
    for (const k of [...keep, ...(options.outputs ?? [])]) {
      if (!info.outputNames.includes(k))
        throw new AppError(
          'bad-input',
          `cannot keep or fetch output "${k}": the graph's outputs are ${info.outputNames.join(', ')}`,
        );
    }
    const outputs = await session.run(inputs, options.outputs);
    const result: Record<string, WireTensor | TensorHandle> = {};
    for (const [name, t] of Object.entries(outputs)) {
      if (keep.has(name)) result[name] = this.keep(t);
      else if (t.location === 'gpu-buffer') {
        result[name] = toWire(await toCpuTensor(t), false);
        t.dispose();
      } else {
        result[name] = toWire(t, false);
      }
    }
    return result;
  }

  put(w: WireTensor): TensorHandle {
    return this.keep(fromWire(w));
  }

  private keep(t: ort.Tensor): TensorHandle {
    const handle = `t${this.nextHandle++}`;
    this.handles.set(handle, t);
    return {
      handle,
      dtype: t.type as DType,
      dims: [...t.dims],
      location: t.location === 'gpu-buffer' ? 'gpu-buffer' : 'cpu',
    };
  }

  /** A kept tensor's values; GPU tensors go through a read-back session (never getData(), which aborts). */
  async read(handle: string): Promise<WireTensor> {
    const t = this.tensor(handle);
    return t.location === 'gpu-buffer' ? toWire(await toCpuTensor(t), false) : toWire(t, true);
  }

  free(handles: readonly string[]): void {
    for (const h of handles) {
      this.tensor(h).dispose();
      this.handles.delete(h);
    }
  }

  async release(id: string): Promise<void> {
    const e = await this.entry(id);
    if (--e.refs > 0) return;
    this.sessions.delete(id);
    await e.session.release();
  }

  stats(): Stats {
    return { sessions: this.sessions.size, handles: this.handles.size };
  }

  async shutdown(): Promise<void> {
    this.free([...this.handles.keys()]);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const e of await Promise.allSettled(all)) if (e.status === 'fulfilled') await e.value.session.release();
    await releaseReaders();
  }
}
