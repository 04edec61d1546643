// The store as the rest of the app sees it: an async, typed handle on the
// store worker. `call('samplesPage', {...})` posts a sequenced message and
// resolves with the worker's reply over the typed RPC (common/rpc.ts); errors
// come back as AppError. The worker loads the query table and migrations from
// the schema module it is given.
import { AppError, appErrorFromJson } from '../../shared/errors';
import { RpcClient } from '../common/rpc';
import { startWorker } from '../common/worker';
import type { ReadOnlyReason } from './read-only';
import type { StoreCalls, StoreReady, StoreWorkerData } from './protocol';
import type { CallArgs, CallResults, QueryName, QueryTable } from './table';

/**
 * A handle on a project database whose queries are the table Q. A layer takes the
 * Store of the queries it uses (`Store<typeof PIPELINE_QUERIES>`); the project's
 * store, typed by the whole table, is one of each.
 */
export interface Store<Q extends QueryTable> {
  readonly file: string;
  readonly readOnly: boolean;
  /** Why it is read-only (null when writable). */
  readonly readOnlyReason: ReadOnlyReason | null;
  readonly damage: string | null;
  readonly version: number;
  call<M extends QueryName<Q>>(method: M, ...args: CallArgs<Q>[M]): Promise<CallResults<Q>[M]>;
  close(): Promise<void>;
}

/**
 * The module the store worker imports for its tables: it exports `QUERIES` (a
 * QueryTable) and `MIGRATIONS` (ordered). Q is that table's type; the URL is
 * all that travels to the worker. Made by the composition root (electron/db).
 */
export interface StoreSchema<Q extends QueryTable> {
  readonly url: URL;
  /** Type only: never set. */
  readonly queries?: Q;
}

/** `readOnly`: read beside the process that holds the project (no migrations, writes refused; see ./database). */
export async function openStore<Q extends QueryTable>(
  file: string,
  options: { schema: StoreSchema<Q>; create?: boolean; readOnly?: boolean },
): Promise<Store<Q>> {
  const worker = startWorker(new URL('./store.worker.ts', import.meta.url), {
    workerData: {
      file,
      create: options.create ?? false,
      readOnly: options.readOnly ?? false,
      schema: options.schema.url.href,
    } satisfies StoreWorkerData,
  });
  let announced: (r: StoreReady) => void = () => undefined;
  const readyEvent = new Promise<StoreReady>((resolve) => (announced = resolve));
  const rpc = new RpcClient<StoreCalls, StoreReady>(worker, {
    name: `database worker for ${file}`,
    deathKind: 'internal',
    // Calls after close (or after the worker ended) are refused with this.
    exitError: () => new AppError('conflict', `the project database ${file} is closed`),
    onEvent: (r) => announced(r),
  });
  // A worker that dies before it has said anything fails the open with why.
  const ready = await Promise.race([
    readyEvent,
    rpc.exited.then((): StoreReady => ({
      type: 'failed',
      error: (rpc.closed ?? new AppError('internal', `the database worker for ${file} exited`)).toJSON(),
    })),
  ]);
  if (ready.type === 'failed') {
    await worker.terminate();
    throw appErrorFromJson(ready.error);
  }

  return {
    file,
    readOnly: ready.readOnly,
    readOnlyReason: ready.reason,
    damage: ready.damage,
    version: ready.version,
    call: (method, ...args) => rpc.call('query', { method, args: args[0] }) as Promise<never>,
    async close() {
      if (rpc.closed) return;
      await rpc.call('close', {});
      await worker.terminate();
      await rpc.exited;
    },
  };
}
