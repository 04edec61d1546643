// The store as the rest of the app sees it: an async, typed handle on the
// store worker. `call('samplesPage', {...})` posts a sequenced message and
// resolves with the worker's reply; errors come back as AppError. The worker
// loads the query table and migrations from the schema module it is given.
import type { Worker } from 'node:worker_threads';
import { AppError, appErrorFromJson } from '../../shared/errors';
import { startWorker } from '../common/worker';
import type { StoreReady, StoreReply, StoreRequest, StoreWorkerData } from './protocol';
import type { CallArgs, CallResults, QueryName, QueryTable } from './table';

/**
 * A handle on a project database whose queries are the table Q. A layer takes the
 * Store of the queries it uses (`Store<typeof PIPELINE_QUERIES>`); the project's
 * store, typed by the whole table, is one of each.
 */
export interface Store<Q extends QueryTable> {
  readonly file: string;
  readonly readOnly: boolean;
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

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** `readOnly`: read beside the process that holds the project (no migrations, writes refused; see ./database). */
export async function openStore<Q extends QueryTable>(file: string, options: { schema: StoreSchema<Q>; create?: boolean; readOnly?: boolean }): Promise<Store<Q>> {
  const worker: Worker = startWorker(new URL('./store.worker.ts', import.meta.url), {
    workerData: { file, create: options.create ?? false, readOnly: options.readOnly ?? false, schema: options.schema.url.href } satisfies StoreWorkerData,
  });
  const ready = await new Promise<StoreReady>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  if (ready.type === 'failed') {
    await worker.terminate();
    throw appErrorFromJson(ready.error);
  }

  const pending = new Map<number, Pending>();
  let nextSeq = 1;
  let dead: AppError | null = null;
  const failAll = (error: AppError) => {
    dead = error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: StoreReply) => {
    const p = pending.get(reply.seq);
    if (p === undefined) return;
    pending.delete(reply.seq);
    if (reply.type === 'result') p.resolve(reply.value);
    else p.reject(appErrorFromJson(reply.error));
  });
  worker.on('error', (e) => failAll(new AppError('internal', `the database worker for ${file} crashed: ${e.message}`, { cause: e })));
  worker.on('exit', () => failAll(new AppError('conflict', `the project database ${file} is closed`)));

  const send = (msg: StoreRequest): Promise<unknown> => {
    if (dead) return Promise.reject(dead);
    return new Promise((resolve, reject) => {
      pending.set(msg.seq, { resolve, reject });
      worker.postMessage(msg);
    });
  };

  return {
    file,
    readOnly: ready.readOnly,
    damage: ready.damage,
    version: ready.version,
    call: (method, ...args) => send({ type: 'query', seq: nextSeq++, method, args: args[0] }) as Promise<never>,
    async close() {
      if (dead) return;
      await send({ type: 'close', seq: nextSeq++ });
      await worker.terminate();
    },
  };
}
