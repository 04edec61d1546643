// Every database operation by name: the store worker runs these on its one
// connection, and callers name them in messages. A later issue adds its
// queries by spreading its own table into QUERIES.
import type { Database } from 'better-sqlite3';
import type { JobState, WireError } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { getImage, getMeta, listProblems, listSources, projectCounts, sampleDetail, samplesPage, setMeta } from './browse';
import { commitImport, discardImport, loadImportState, stageImportUnit } from './import';
import { getJob, insertJob, listJobs, saveCursor, setJobState } from './jobs';
import { PIPELINE_QUERIES } from '../../pipeline/store/queries';
import { RESPOND_QUERIES } from '../../pipeline/respond/queries';

/** A query named for later execution inside another transaction (a job unit's result). */
export interface Write {
  method: string;
  args: unknown;
}

/** Runs a query named at run time (a worker message, a job unit's write). */
export function runQuery(db: Database, method: string, args: unknown): unknown {
  const fn = Object.hasOwn(QUERIES, method) ? (QUERIES as Record<string, (db: Database, args: unknown) => unknown>)[method] : undefined;
  if (fn === undefined) throw new AppError('internal', `unknown store query ${method}`);
  return fn(db, args);
}

function runWrite(db: Database, write: Write): unknown {
  return runQuery(db, write.method, write.args);
}

/** One unit of a job: its result and the job's new cursor commit together, or not at all. */
function commitUnit(db: Database, a: { jobId: number; cursor: unknown; done: number; total: number | null; write: Write | null }): void {
  db.transaction(() => {
    if (a.write) runWrite(db, a.write);
    saveCursor(db, { id: a.jobId, cursor: a.cursor, done: a.done, total: a.total });
  })();
}

/** The last step of a job: its final write (e.g. the import commit) and the state 'done', in one transaction. */
function finishJob(db: Database, a: { jobId: number; write: Write | null }): ReturnType<typeof setJobState> {
  return db.transaction(() => {
    const result = a.write ? runWrite(db, a.write) : null;
    return setJobState(db, { id: a.jobId, state: 'done', result: (result ?? {}) as Record<string, unknown> });
  })();
}

/** Ends a job in a state other than done, with a kind's cleanup write (e.g. drop staging) in the same transaction. */
function endJob(db: Database, a: { jobId: number; state: JobState; error: WireError | null; write: Write | null }): ReturnType<typeof setJobState> {
  return db.transaction(() => {
    if (a.write) runWrite(db, a.write);
    return setJobState(db, { id: a.jobId, state: a.state, error: a.error });
  })();
}

export const QUERIES = {
  getMeta,
  setMeta,
  projectCounts,
  samplesPage,
  sampleDetail,
  listSources,
  listProblems,
  getImage,
  insertJob,
  getJob,
  listJobs,
  setJobState,
  commitUnit,
  finishJob,
  endJob,
  stageImportUnit,
  loadImportState,
  discardImport,
  commitImport,
  ...PIPELINE_QUERIES,
  ...RESPOND_QUERIES,
} satisfies Record<string, (db: Database, args: never) => unknown>;

export type Queries = typeof QUERIES;
export type QueryName = keyof Queries;
export type QueryArgs<M extends QueryName> = Parameters<Queries[M]>[1];
export type QueryResult<M extends QueryName> = ReturnType<Queries[M]>;
