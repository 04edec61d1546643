// Job rows: creation, state changes and the per-unit commit that writes a
// unit's result together with the job's new cursor (one transaction).
import type { Database } from 'better-sqlite3';
import type { JobRecord, JobState, WireError } from '../../../shared/api';

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

/** A job as stored: the runner's record of it (any kind) plus what the runner needs to continue it. */
export interface StoredJob extends JobRecord {
  params: unknown;
  cursor: unknown;
}

function toJob(r: JobRow): StoredJob {
  return {
    id: r.id,
    kind: r.kind,
    label: r.label,
    state: r.state,
    progress: { done: r.done, total: r.total, ratePerSec: 0, etaSec: null },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    error: r.error === null ? null : (JSON.parse(r.error) as WireError),
    result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
    params: JSON.parse(r.params) as unknown,
    cursor: r.cursor === null ? null : (JSON.parse(r.cursor) as unknown),
  };
}

export function insertJob(db: Database, a: { kind: string; label: string; params: unknown; total: number | null }): StoredJob {
  const now = Date.now();
  const info = db
    .prepare('INSERT INTO jobs (kind, label, state, params, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
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
