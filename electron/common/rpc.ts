// The one typed RPC between a thread and its worker (Signal's SQLite-worker
// pattern), used by the engine's session worker and the store worker alike:
// requests are a tagged union carrying a sequence number, each answered by
// exactly one reply; errors cross as {kind, message, subject} and are rebuilt
// into AppError; the worker may also post unsolicited events (log lines, a
// ready message). When the worker dies, every pending call fails.
import type { MessagePort, Transferable, Worker } from 'node:worker_threads';
import { AppError, appErrorFromJson, toAppError, type WireError } from '../../shared/errors';

/** A protocol: per request type, what it takes and what it answers with. */
export type CallMap = Record<string, { args: unknown; result: unknown }>;

export type RpcRequest<C extends CallMap> = {
  [K in keyof C & string]: { seq: number; type: K; args: C[K]['args'] };
}[keyof C & string];

export type RpcReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: WireError };

/** Unsolicited: posted by the worker outside any call. */
export interface RpcEvent<E> {
  seq: null;
  event: E;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: AppError) => void };

export interface ClientOptions<E> {
  /** Names the worker in errors ("the session worker crashed: ..."). */
  name: string;
  onEvent?: (event: E) => void;
  /** The error kind of a crash (default 'runtime'). */
  deathKind?: AppError['kind'];
  /** What pending and later calls fail with once the worker has exited (default: "<name> exited (code N)", deathKind). */
  exitError?: (code: number) => AppError;
}

/** The caller's side: typed calls over one worker, matched to replies by sequence number. */
export class RpcClient<C extends CallMap, E = never> {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closedReason: AppError | undefined;
  /** Resolves with the worker's exit code once it has stopped. */
  readonly exited: Promise<number>;

  constructor(
    readonly worker: Worker,
    private readonly options: ClientOptions<E>,
  ) {
    const kind = options.deathKind ?? 'runtime';
    worker.on('message', (m: RpcReply | RpcEvent<E>) => this.onMessage(m));
    worker.on('error', (e) => this.fail(new AppError(kind, `the ${options.name} crashed: ${e.message}`, { cause: e })));
    this.exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        this.fail(options.exitError?.(code) ?? new AppError(kind, `the ${options.name} exited (code ${code})`));
        resolve(code);
      });
    });
  }

  /** Why calls are refused, once the client is closed or its worker died. */
  get closed(): AppError | undefined {
    return this.closedReason;
  }

  private onMessage(m: RpcReply | RpcEvent<E>): void {
    if (m.seq === null) return this.options.onEvent?.(m.event);
    const p = this.pending.get(m.seq);
    if (!p) return;
    this.pending.delete(m.seq);
    if (m.ok) p.resolve(m.result);
    else p.reject(appErrorFromJson(m.error));
  }

  /** Rejects everything in flight with `reason` and refuses new calls. */
  fail(reason: AppError): void {
    this.closedReason ??= reason;
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
  }

  /** Buffers in `transfer` move to the worker (the caller must not use them afterwards). */
  call<K extends keyof C & string>(
    type: K,
    args: C[K]['args'],
    transfer: readonly Transferable[] = [],
  ): Promise<C[K]['result']> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    const seq = ++this.seq;
    return new Promise<C[K]['result']>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ seq, type, args } as RpcRequest<C>, [...transfer]);
    });
  }
}

export type Handlers<C extends CallMap> = {
  [K in keyof C & string]: (args: C[K]['args']) => C[K]['result'] | Promise<C[K]['result']>;
};

export interface ServeOptions {
  /** Buffers of a result to transfer instead of copy (fresh arrays only). */
  transfer?: (result: unknown) => ArrayBuffer[];
  /** Turns a failure into the AppError sent back (default toAppError). */
  classify?: (e: unknown) => AppError;
}

/**
 * The worker's side: answers requests one at a time, in arrival order (an
 * async handler finishes before the next starts), and returns `emit` for
 * unsolicited events.
 */
export function serve<C extends CallMap, E = never>(
  port: MessagePort,
  handlers: Handlers<C>,
  options: ServeOptions = {},
): { emit(event: E): void } {
  const classify = options.classify ?? toAppError;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (req: RpcRequest<C>) => {
    queue = queue.then(async () => {
      try {
        const handler = handlers[req.type] as (args: unknown) => unknown;
        const result = await handler(req.args);
        port.postMessage({ seq: req.seq, ok: true, result } satisfies RpcReply, options.transfer?.(result) ?? []);
      } catch (e) {
        port.postMessage({ seq: req.seq, ok: false, error: classify(e).toJSON() } satisfies RpcReply);
      }
    });
  });
  return { emit: (event) => port.postMessage({ seq: null, event } satisfies RpcEvent<E>) };
}
