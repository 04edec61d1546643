// The respond job's engine hosted in a worker thread (issue #4 follow-up): the
// same calls as ModelEngine, forwarded to model-engine.worker.ts, so a
// generation's session.run (seconds per step on a 7B model) never blocks the
// thread running the job: the server's HTTP and events, or Electron's main.
import type { Worker } from 'node:worker_threads';
import { AppError, appErrorFromJson } from '../../../shared/errors';
import { startWorker } from '../../common/worker';
import type { ResponseEngine, ResponseRequest, ResponseResult } from './engine-interface';
import type { EngineCall, EngineCallType, EngineInfo, EngineMessage, EngineReady, EngineReply, EngineResults, EngineWorkerData } from './engine-protocol';
import type { ModelEngineOptions } from './model-engine';

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Body<T extends EngineCallType> = Omit<Extract<EngineCall, { type: T }>, 'seq' | 'type'>;

export interface WorkerEngineOptions extends ModelEngineOptions {
  /** Environment of the worker thread (defaults to this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The worker's ready/failed message, or a 'runtime' failure when it dies first.
 * Only these listeners are removed afterwards: Worker keeps listeners of its own.
 */
function firstWord(worker: Worker, modelDir: string): Promise<EngineReady> {
  return new Promise<EngineReady>((resolve) => {
    const done = (r: EngineReady) => {
      worker.off('message', done).off('error', crashed).off('exit', exited);
      resolve(r);
    };
    const failed = (reason: string) => done({ type: 'failed', error: { kind: 'runtime', message: `the model engine worker ${reason} while opening ${modelDir}` } });
    const crashed = (e: Error) => failed(`crashed (${e.message})`);
    const exited = (code: number) => failed(`exited (code ${code})`);
    worker.on('message', done).on('error', crashed).on('exit', exited);
  });
}

export class WorkerEngine implements ResponseEngine {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closedReason: AppError | undefined;
  /** Resolves with the worker's exit code once it has stopped. */
  readonly exited: Promise<number>;

  private constructor(
    private readonly worker: Worker,
    private readonly info: EngineInfo,
  ) {
    worker.on('message', (m: EngineReply) => this.onReply(m));
    worker.on('error', (e) => this.stop(new AppError('runtime', `the model engine worker crashed: ${e.message}`, { cause: e })));
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.stop(new AppError('runtime', `the model engine worker exited (code ${code})`));
        resolve(code);
      });
    });
  }

  /** Starts the worker and waits until its engine is open; an open that fails rejects with the worker's error kind. */
  static async open(o: WorkerEngineOptions): Promise<WorkerEngine> {
    const { env, ...options } = o;
    const worker = startWorker(new URL('./model-engine.worker.ts', import.meta.url), { workerData: options satisfies EngineWorkerData, ...(env ? { env } : {}) });
    const ready = await firstWord(worker, o.modelDir);
    if (ready.type === 'failed') {
      await worker.terminate();
      throw appErrorFromJson(ready.error);
    }
    return new WorkerEngine(worker, ready.info);
  }

  get modelId(): string {
    return this.info.modelId;
  }

  get layer(): number {
    return this.info.layer;
  }

  /** The execution provider in use, and why the asked-for one was not used (if so). */
  get ep(): { ep: string; fallback: string | undefined } {
    return this.info.ep;
  }

  private onReply(m: EngineReply): void {
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (m.type === 'ok') p.resolve(m.result);
    else p.reject(appErrorFromJson(m.error));
  }

  /** Rejects everything in flight and refuses new calls. */
  private stop(reason: AppError): void {
    this.closedReason ??= reason;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  private call<T extends EngineCallType>(type: T, body: Body<T>, signal?: AbortSignal): Promise<EngineResults[T]> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    const seq = ++this.seq;
    // The reply still comes after a cancel (kind 'cancelled', at the next decode step), so the worker is idle when this settles.
    const cancel = () => this.worker.postMessage({ type: 'cancel', target: seq } satisfies EngineMessage);
    signal?.addEventListener('abort', cancel, { once: true });
    return new Promise<EngineResults[T]>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, seq, type } as EngineMessage);
    }).finally(() => signal?.removeEventListener('abort', cancel));
  }

  /**
   * Images are copied to the worker, not transferred: they stay the caller's.
   * The result's arrays are transferred back. An aborted `signal` stops the
   * generation at its next decode step; it then rejects with kind 'cancelled'.
   */
  async generate(r: ResponseRequest): Promise<ResponseResult> {
    const { signal, ...request } = r;
    if (signal?.aborted) throw new AppError('cancelled', 'the generation was cancelled');
    return this.call('generate', { request }, signal);
  }

  /** Token ids of plain text (no special tokens), from the model's tokenizer in the worker. */
  tokenize(text: string): Promise<number[]> {
    return this.call('tokenize', { text });
  }

  /** Closes the engine's sessions, then the worker exits. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.closedReason) {
      await this.call('close', {}).catch(() => undefined);
      this.stop(new AppError('conflict', `the model engine for ${this.modelId} has been closed`));
    }
    await this.exited;
  }

  /**
   * Stops the worker at once, without closing the engine first: calls in
   * flight reject with kind 'runtime'. Not while a generation runs:
   * onnxruntime-node aborts the whole process when a thread dies inside
   * session.run (cancel it through its signal, then close).
   */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exited;
  }
}
