// The store worker: owns the project's single SQLite connection (the one
// writer), so queries never block the main thread. Runs the named queries of
// the schema module it was started with (see StoreSchema in ./store),
// answering over the typed RPC (common/rpc.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { AppError, toAppError } from '../../shared/errors';
import { serve } from '../common/rpc';
import { openDatabase } from './database';
import { READ_ONLY_WHY, type ReadOnlyReason } from './read-only';
import { loadSchema } from './schema-module';
import type { StoreCalls, StoreReady, StoreWorkerData } from './protocol';
import { runQuery, type QueryTable } from './table';

/** SQLite failures the user can act on get a kind; the rest are bugs ('internal'). */
function classify(e: unknown, file: string, reason: ReadOnlyReason | null): AppError {
  const code = (e as { code?: unknown }).code;
  if (code === 'SQLITE_READONLY') {
    const why = READ_ONLY_WHY[reason ?? 'read-only-files'];
    return new AppError('conflict', `${file} is open read-only (${why}); changes are not possible`, {
      subject: file,
      cause: e,
    });
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
    return new AppError('bad-file', `${file} is damaged: ${(e as Error).message}`, { subject: file, cause: e });
  return toAppError(e);
}

const port = parentPort!;
const { file, create, readOnly, schema } = workerData as StoreWorkerData;
let db: Database | null = null;
let reason: ReadOnlyReason | null = null;
let queries: QueryTable = {};

const open = (): Database => {
  if (db === null) throw new AppError('internal', `${file} is not open`);
  return db;
};

// The client calls only after the ready event below.
const events = serve<StoreCalls, StoreReady>(
  port,
  {
    query: ({ method, args }) => runQuery(queries, open(), method, args),
    close: () => {
      open().close();
      db = null;
      // After this reply is posted: the worker then ends (the client also terminates it).
      setImmediate(() => port.close());
      return null;
    },
  },
  { classify: (e) => classify(e, file, reason) },
);

try {
  const tables = await loadSchema(schema);
  queries = tables.queries;
  const opened = openDatabase(file, { create, readOnly, migrations: tables.migrations });
  db = opened.db;
  reason = opened.reason;
  events.emit({
    type: 'ready',
    readOnly: opened.readOnly,
    reason: opened.reason,
    damage: opened.damage,
    version: opened.version,
  });
} catch (e) {
  events.emit({ type: 'failed', error: toAppError(e).toJSON() });
}
