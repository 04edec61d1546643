// The store worker: owns the project's single SQLite connection (the one
// writer), so queries never block the main thread. Runs the named queries of
// the schema module it was started with (see StoreSchema in ./store).
import { parentPort, workerData } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { AppError, toAppError } from '../../shared/errors';
import { openDatabase } from './database';
import { loadSchema } from './schema-module';
import type { StoreReady, StoreReply, StoreRequest, StoreWorkerData } from './protocol';
import { runQuery, type QueryTable } from './table';

/** SQLite failures the user can act on get a kind; the rest are bugs ('internal'). */
function classify(e: unknown, file: string, damaged: boolean): AppError {
  const code = (e as { code?: unknown }).code;
  if (code === 'SQLITE_READONLY') {
    const why = damaged ? 'it failed its integrity check' : 'opened to read beside the process that holds the project';
    return new AppError('conflict', `${file} is open read-only (${why}); changes are not possible`, { subject: file, cause: e });
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return new AppError('bad-file', `${file} is damaged: ${(e as Error).message}`, { subject: file, cause: e });
  return toAppError(e);
}

const port = parentPort!;
const { file, create, readOnly, schema } = workerData as StoreWorkerData;
let db: Database | null = null;
let damaged = false;
let queries: QueryTable = {};
try {
  const tables = await loadSchema(schema);
  queries = tables.queries;
  const opened = openDatabase(file, { create, readOnly, migrations: tables.migrations });
  db = opened.db;
  damaged = opened.damage !== null;
  port.postMessage({ type: 'ready', readOnly: opened.readOnly, damage: opened.damage, version: opened.version } satisfies StoreReady);
} catch (e) {
  port.postMessage({ type: 'failed', error: toAppError(e).toJSON() } satisfies StoreReady);
}

port.on('message', (msg: StoreRequest) => {
  let reply: StoreReply;
  try {
    if (db === null) throw new AppError('internal', `${file} is not open`);
    if (msg.type === 'close') {
      db.close();
      db = null;
      reply = { type: 'result', seq: msg.seq, value: null };
    } else {
      reply = { type: 'result', seq: msg.seq, value: runQuery(queries, db, msg.method, msg.args) };
    }
  } catch (e) {
    reply = { type: 'error', seq: msg.seq, error: classify(e, file, damaged).toJSON() };
  }
  port.postMessage(reply);
  if (msg.type === 'close') port.close();
});
