// The store as the rest of the app sees it: an async, typed handle on the
// store worker. `call('samplesPage', {...})` posts a sequenced message and
// resolves with the worker's reply over the typed RPC (common/rpc.ts); errors
// come back as AppError.
import { AppError, appErrorFromJson } from '../../shared/errors';
import { RpcClient } from '../common/rpc';
import { startWorker } from '../common/worker';
import type { StoreCalls, StoreReady, StoreWorkerData } from './protocol';
import type { QueryArgs, QueryName, QueryResult } from './queries';

export interface Store {
  readonly file: string;
  readonly readOnly: boolean;
  readonly damage: string | null;
  readonly version: number;
  call<M extends QueryName>(method: M, ...args: QueryArgs<M> extends undefined ? [] : [QueryArgs<M>]): Promise<QueryResult<M>>;
  close(): Promise<void>;
}

export async function openStore(file: string, options: { create?: boolean } = {}): Promise<Store> {
  const worker = startWorker(new URL('./store.worker.ts', import.meta.url), {
    workerData: { file, create: options.create ?? false } satisfies StoreWorkerData,
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
  const ready = await Promise.race([readyEvent, rpc.exited.then((): StoreReady => ({ type: 'failed', error: (rpc.closed ?? new AppError('internal', `the database worker for ${file} exited`)).toJSON() }))]);
  if (ready.type === 'failed') {
    await worker.terminate();
    throw appErrorFromJson(ready.error);
  }

  return {
    file,
    readOnly: ready.readOnly,
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
