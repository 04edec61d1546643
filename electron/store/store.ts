// The store as the rest of the app sees it: an async, typed handle on the
// store worker. `call('samplesPage', {...})` posts a sequenced message and
// resolves with the worker's reply; errors come back as AppError.
import type { Worker } from 'node:worker_threads';
import { AppError, appErrorFromJson } from '../../shared/errors';
import { startWorker } from '../common/worker';
import type { StoreReady, StoreReply, StoreRequest, StoreWorkerData } from './protocol';
import type { QueryArgs, QueryName, QueryResult } from './queries';

export interface Store {
  readonly file: string;
  readonly readOnly: boolean;
  readonly damage: string | null;
  readonly version: number;
  call<M extends QueryName>(method: M, ...args: QueryArgs<M> extends undefined ? [] : [QueryArgs<M>]): Promise<QueryResult<M>>;
  close(): Promise<void>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export async function openStore(file: string, options: { create?: boolean } = {}): Promise<Store> {
  const worker: Worker = startWorker(new URL('./store.worker.ts', import.meta.url), {
    workerData: { file, create: options.create ?? false } satisfies StoreWorkerData,
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
