// The jobs table's queries, owned by the runner: creation, state changes, and
// the transactions that commit a unit's write with the job's cursor (or a
// job's last write with its end state). electron/db adds them to the project's table.
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { WireError, type JobRecord, type JobState } from '../../shared/api';
import { parseJsonColumn, parseNullableJsonColumn } from '../store/json-column';
import type { AnyWrite, QueryContext, QueryTable } from '../store/table';

interface JobRow {
  id: number;
  kind: string;
  label: string;
  state: JobState;
  params: string;
  cursor: string | null;
  done: number;
  total: number | null;
  error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
}

/** A job as stored: the API shape plus what the runner needs to continue it (checked by the kind's schemas). */
export interface StoredJob extends JobRecord {
  params: unknown;
  cursor: unknown;
}

const JobResult = z.record(z.string(), z.unknown());

function toJob(r: JobRow): StoredJob {
  const at = (column: string) => ({ table: 'jobs', row: r.id, column });
  return {
    id: r.id,
    kind: r.kind,
    label: r.label,
    state: r.state,
    progress: { done: r.done, total: r.total, ratePerSec: 0, etaSec: null },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    error: parseNullableJsonColumn(WireError, r.error, at('error')),
    result: parseNullableJsonColumn(JobResult, r.result, at('result')),
    params: parseJsonColumn(z.unknown(), r.params, at('params')),
    cursor: parseNullableJsonColumn(z.unknown(), r.cursor, at('cursor')),
  };
}

export function insertJob(
  db: Database,
  a: { kind: string; label: string; params: unknown; total: number | null },
): StoredJob {
  const now = Date.now();
  const info = db
    .prepare(
      'INSERT INTO jobs (kind, label, state, params, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    .run(a.kind, a.label, 'queued', JSON.stringify(a.params), a.total, now, now);
  return getJob(db, { id: Number(info.lastInsertRowid) })!;
}

export function getJob(db: Database, a: { id: number }): StoredJob | null {
  const row = db.prepare('SELECT * FROM jobs WHERE id = ?').get(a.id) as JobRow | undefined;
  return row === undefined ? null : toJob(row);
}

export function listJobs(db: Database, a: { states?: JobState[] } = {}): StoredJob[] {
  const rows = db.prepare('SELECT * FROM jobs ORDER BY id DESC').all() as JobRow[];
  const jobs = rows.map(toJob);
  return a.states ? jobs.filter((j) => a.states!.includes(j.state)) : jobs;
}

export function setJobState(
  db: Database,
  a: { id: number; state: JobState; error?: WireError | null; result?: Record<string, unknown> | null },
): StoredJob {
  db.prepare('UPDATE jobs SET state = ?, error = ?, result = COALESCE(?, result), updated_at = ? WHERE id = ?').run(
    a.state,
    a.error ? JSON.stringify(a.error) : null,
    a.result ? JSON.stringify(a.result) : null,
    Date.now(),
    a.id,
  );
  return getJob(db, { id: a.id })!;
}

/** Saves a job's progress point; called by `commitUnit` inside its transaction. */
export function saveCursor(db: Database, a: { id: number; cursor: unknown; done: number; total: number | null }): void {
  db.prepare('UPDATE jobs SET cursor = ?, done = ?, total = ?, updated_at = ? WHERE id = ?').run(
    JSON.stringify(a.cursor),
    a.done,
    a.total,
    Date.now(),
    a.id,
  );
}

/**
 * One unit of a job: its result and the job's new cursor commit together, or not at all.
 * The write is typed where a kind makes it (Write<Q> of the kind's table); here it is run by name.
 */
export function commitUnit(
  db: Database,
  a: { jobId: number; cursor: unknown; done: number; total: number | null; write: AnyWrite | null },
  ctx: QueryContext,
): void {
  db.transaction(() => {
    if (a.write) ctx.run(a.write);
    saveCursor(db, { id: a.jobId, cursor: a.cursor, done: a.done, total: a.total });
  })();
}

/** The last step of a job: its final write (e.g. the import commit) and the state 'done', in one transaction; the write's value is the result. */
export function finishJob(db: Database, a: { jobId: number; write: AnyWrite | null }, ctx: QueryContext): StoredJob {
  return db.transaction(() => {
    const value = a.write ? ctx.run(a.write) : null;
    const result =
      value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    return setJobState(db, { id: a.jobId, state: 'done', result });
  })();
}

/** Ends a job in a state other than done, with a kind's cleanup write (e.g. drop staging) in the same transaction. */
export function endJob(
  db: Database,
  a: { jobId: number; state: JobState; error: WireError | null; write: AnyWrite | null },
  ctx: QueryContext,
): StoredJob {
  return db.transaction(() => {
    if (a.write) ctx.run(a.write);
    return setJobState(db, { id: a.jobId, state: a.state, error: a.error });
  })();
}

export const JOB_QUERIES = {
  insertJob,
  getJob,
  listJobs,
  setJobState,
  commitUnit,
  finishJob,
  endJob,
} satisfies QueryTable;
export type JobQueries = typeof JOB_QUERIES;
