// The engine's handle on onnxruntime from the caller's thread: starts the
// session worker, sends typed requests, matches replies by sequence number,
// rebuilds errors with their kind, forwards the worker's log lines (e.g. why
// an EP fell back to CPU) and disposes of everything on request.
import type { Worker } from 'node:worker_threads';
import { AppError } from '../../../shared/errors';
import { startWorker } from '../../common/worker';
import type { CreateOptions, EpReport, Feed, Reply, Request, RequestType, Results, RunOptions, SessionInfo, Stats, TensorHandle, WireTensor } from './protocol';

export type RuntimeLog = (level: 'info' | 'warn', message: string) => void;

export interface RuntimeOptions {
  /** Receives the worker's log lines; defaults to warnings on stderr. */
  log?: RuntimeLog;
  /** Environment of the worker thread (defaults to this process's). */
  env?: NodeJS.ProcessEnv;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: AppError) => void };
type Body<T extends RequestType> = Omit<Extract<Request, { type: T }>, 'seq' | 'type'>;

const defaultLog: RuntimeLog = (level, message) => {
  if (level === 'warn') process.stderr.write(`[runtime] ${message}\n`);
};

export class EngineRuntime {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closedReason: AppError | undefined;
  /** Resolves with the worker's exit code once it has stopped. */
  readonly exited: Promise<number>;

  private constructor(options: RuntimeOptions) {
    const log = options.log ?? defaultLog;
    this.worker = startWorker(new URL('./runtime.worker.ts', import.meta.url), options.env ? { env: options.env } : {});
    this.worker.on('message', (m: Reply) => this.onReply(m, log));
    this.worker.on('error', (e) => this.close(new AppError('runtime', `the session worker crashed: ${e.message}`, { cause: e })));
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.close(new AppError('runtime', `the session worker exited (code ${code})`));
        resolve(code);
      });
    });
  }

  static start(options: RuntimeOptions = {}): EngineRuntime {
    return new EngineRuntime(options);
  }

  private onReply(m: Reply, log: RuntimeLog): void {
    if (m.type === 'log') return log(m.level, m.message);
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (m.type === 'ok') p.resolve(m.result);
    else p.reject(new AppError(m.error.kind, m.error.message, m.error.subject === undefined ? {} : { subject: m.error.subject }));
  }

  /** Rejects everything in flight and refuses new requests. */
  private close(reason: AppError): void {
    this.closedReason ??= reason;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  private request<T extends RequestType>(type: T, body: Body<T>): Promise<Results[T]> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    const seq = ++this.seq;
    return new Promise<Results[T]>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, seq, type } as Request);
    });
  }

  /** Creates (or reuses, by graph hash) a session; the reply says which EP it got and why not another. */
  createSession(model: Uint8Array, options: CreateOptions): Promise<SessionInfo> {
    return this.request('create', { model, options });
  }

  /** Outputs named in `options.keep` stay in the worker and come back as handles. */
  run(session: string, feeds: Record<string, Feed>, options: RunOptions = {}): Promise<Record<string, WireTensor | TensorHandle>> {
    return this.request('run', { session, feeds, options });
  }

  /** The values of a kept tensor (read back from the GPU when it lives there). */
  read(handle: string | TensorHandle): Promise<WireTensor> {
    return this.request('read', { handle: typeof handle === 'string' ? handle : handle.handle });
  }

  async free(...handles: (string | TensorHandle)[]): Promise<void> {
    await this.request('free', { handles: handles.map((h) => (typeof h === 'string' ? h : h.handle)) });
  }

  async release(session: string): Promise<void> {
    await this.request('release', { session });
  }

  /** Which GPU providers work here, and why not. */
  detect(): Promise<EpReport> {
    return this.request('detect', {});
  }

  stats(): Promise<Stats> {
    return this.request('stats', {});
  }

  /**
   * Releases every session and kept tensor, then stops the worker. Resolves
   * with what was still live after the release (null when the worker was
   * already gone). Safe to call twice.
   */
  async dispose(): Promise<Stats | null> {
    let left: Stats | null = null;
    if (!this.closedReason) {
      left = await this.request('shutdown', {}).catch(() => null);
      this.close(new AppError('conflict', 'the runtime has been disposed'));
      await this.worker.terminate();
    }
    await this.exited;
    return left;
  }
}
