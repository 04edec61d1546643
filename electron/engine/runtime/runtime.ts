// The engine's handle on onnxruntime from the caller's thread: a client of the
// session worker (runtime.worker.ts) over the one typed RPC (common/rpc.ts).
// One host per process runs every graph: `acquireRuntime()` hands out leases
// on a shared EngineRuntime, started on first use and disposed with the last
// lease; generation and scoring (engine/generate) create their sessions here.
import { AppError } from '../../../shared/errors';
import { RpcClient } from '../../common/rpc';
import { startWorker } from '../../common/worker';
import type { EpChoice } from '../../../shared/ep';
import type {
  CreateOptions,
  EpReport,
  Feed,
  RunOptions,
  RuntimeCalls,
  RuntimeLogEvent,
  SessionInfo,
  Stats,
  TensorHandle,
  WireTensor,
} from './protocol';
import type { ExplicitEp } from './local';

export type RuntimeLog = (level: 'info' | 'warn', message: string) => void;

export interface RuntimeOptions {
  /** Receives the worker's log lines; defaults to warnings on stderr. */
  log?: RuntimeLog;
  /** Environment of the worker thread (defaults to this process's). */
  env?: NodeJS.ProcessEnv;
}

const defaultLog: RuntimeLog = (level, message) => {
  if (level === 'warn') process.stderr.write(`[runtime] ${message}\n`);
};

const handleOf = (h: string | TensorHandle): string => (typeof h === 'string' ? h : h.handle);

export class EngineRuntime {
  private readonly rpc: RpcClient<RuntimeCalls, RuntimeLogEvent>;
  /** Resolves with the worker's exit code once it has stopped. */
  readonly exited: Promise<number>;

  private constructor(options: RuntimeOptions) {
    const log = options.log ?? defaultLog;
    const worker = startWorker(
      new URL('./runtime.worker.ts', import.meta.url),
      options.env ? { env: options.env } : {},
    );
    this.rpc = new RpcClient(worker, { name: 'session worker', onEvent: (e) => log(e.level, e.message) });
    this.exited = this.rpc.exited;
  }

  /** A runtime of one's own (tests, tools); the app shares one through `acquireRuntime`. */
  static start(options: RuntimeOptions = {}): EngineRuntime {
    return new EngineRuntime(options);
  }

  /** Creates (or reuses, by graph hash) a session; the reply says which EP it got and why not another. */
  createSession(model: Uint8Array, options: CreateOptions): Promise<SessionInfo> {
    return this.rpc.call('create', { model, options });
  }

  /** Outputs named in `options.keep` stay in the worker and come back as handles. */
  run(
    session: string,
    feeds: Record<string, Feed>,
    options: RunOptions = {},
  ): Promise<Record<string, WireTensor | TensorHandle>> {
    return this.rpc.call('run', { session, feeds, options });
  }

  /** Keeps `tensor` in the worker, to be fed by handle to many runs. */
  put(tensor: WireTensor): Promise<TensorHandle> {
    return this.rpc.call('put', { tensor });
  }

  /** The values of a kept tensor (read back from the GPU when it lives there). */
  read(handle: string | TensorHandle): Promise<WireTensor> {
    return this.rpc.call('read', { handle: handleOf(handle) });
  }

  async free(...handles: (string | TensorHandle)[]): Promise<void> {
    await this.rpc.call('free', { handles: handles.map(handleOf) });
  }

  async release(session: string): Promise<void> {
    await this.rpc.call('release', { session });
  }

  /** The EP a choice resolves to in this runtime, and why another was not used. */
  choose(choice: EpChoice): Promise<{ ep: ExplicitEp; fallbackReason?: string }> {
    return this.rpc.call('choose', { choice });
  }

  /** Which GPU providers work here, and why not. */
  detect(): Promise<EpReport> {
    return this.rpc.call('detect', {});
  }

  stats(): Promise<Stats> {
    return this.rpc.call('stats', {});
  }

  /**
   * Releases every session and kept tensor, then stops the worker. The release
   * is queued behind any run in flight, so the worker is never terminated
   * inside session.run (onnxruntime-node would abort the process). Resolves
   * with what was still live after the release (null when the worker was
   * already gone). Safe to call twice.
   */
  async dispose(): Promise<Stats | null> {
    let left: Stats | null = null;
    if (!this.rpc.closed) {
      left = await this.rpc.call('shutdown', {}).catch(() => null);
      this.rpc.fail(new AppError('conflict', 'the runtime has been disposed'));
      await this.rpc.worker.terminate();
    }
    await this.exited;
    return left;
  }
}

/** A share of the process's runtime; `release()` once done with it (the last one stops the worker). */
export interface RuntimeLease {
  readonly runtime: EngineRuntime;
  release(): Promise<void>;
}

let shared: { runtime: EngineRuntime; users: number } | null = null;

/**
 * The process's one session host, started on first use. Each opened model
 * holds a lease and releases its own sessions on close; when no lease is
 * left the worker is disposed, so a CLI command or a test file ends cleanly.
 */
export function acquireRuntime(): RuntimeLease {
  const entry = (shared ??= { runtime: EngineRuntime.start(), users: 0 });
  entry.users++;
  let released = false;
  return {
    runtime: entry.runtime,
    async release() {
      if (released) return;
      released = true;
      if (--entry.users > 0) return;
      if (shared === entry) shared = null;
      await entry.runtime.dispose();
    },
  };
}
