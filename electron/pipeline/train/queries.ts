// The training tables' queries (migration 150), spread into the project's
// query table: dataset snapshots, reference log-probs, runs, per-step metrics
// and checkpoint manifests. Unit writes of the reference and train jobs
// (insertReference, commitTrainStep) commit with their job's cursor.
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { TrainCheckpoint, TrainStepMetrics, type TrainRun } from '../../../shared/pipeline/train';
import { parseJsonColumn, parseNullableJsonColumn } from '../../store/json-column';
import type { QueryTable } from '../../store/table';
import type { TrainExample } from './data';

const Ids = z.array(z.int());
const Paths = z.array(z.string());
const ObjectColumn = z.record(z.string(), z.unknown());
const ManifestFiles = TrainCheckpoint.shape.files;

/** Stores a snapshot of tokenized pairs, or finds the identical one stored before; returns its id. */
export function saveTrainDataset(db: Database, a: { hash: string; source: string; examples: TrainExample[] }): number {
  const known = db.prepare('SELECT id FROM train_datasets WHERE hash = ?').pluck().get(a.hash) as number | undefined;
  if (known !== undefined) return known;
  return db.transaction(() => {
    const id = Number(
      db
        .prepare('INSERT INTO train_datasets (hash, source, count, created_at) VALUES (?, ?, ?, ?)')
        .run(a.hash, a.source, a.examples.length, Date.now()).lastInsertRowid,
    );
    const insert = db.prepare(
      'INSERT INTO train_examples (dataset_id, idx, pair_key, images, prompt_ids, chosen_ids, rejected_ids, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    a.examples.forEach((e, i) =>
      insert.run(
        id,
        i,
        e.key,
        JSON.stringify(e.images),
        JSON.stringify(e.promptIds),
        JSON.stringify(e.chosenIds),
        JSON.stringify(e.rejectedIds),
        e.tokenHash,
      ),
    );
    return id;
  })();
}

interface ExampleRow {
  dataset_id: number;
  idx: number;
  pair_key: string;
  images: string;
  prompt_ids: string;
  chosen_ids: string;
  rejected_ids: string;
  token_hash: string;
}

/** A dataset's examples in training order (idx). */
export function trainExamples(db: Database, a: { datasetId: number }): TrainExample[] {
  const rows = db
    .prepare('SELECT * FROM train_examples WHERE dataset_id = ? ORDER BY idx')
    .all(a.datasetId) as ExampleRow[];
  return rows.map((r) => {
    const at = (column: string) => ({ table: 'train_examples', row: `${r.dataset_id}/${r.idx}`, column });
    return {
      key: r.pair_key,
      images: parseJsonColumn(Paths, r.images, at('images')),
      promptIds: parseJsonColumn(Ids, r.prompt_ids, at('prompt_ids')),
      chosenIds: parseJsonColumn(Ids, r.chosen_ids, at('chosen_ids')),
      rejectedIds: parseJsonColumn(Ids, r.rejected_ids, at('rejected_ids')),
      tokenHash: r.token_hash,
    };
  });
}

/** Reference log-probs of a dataset's examples under `model`, by idx (null where not computed yet). */
export function datasetReference(
  db: Database,
  a: { datasetId: number; model: string },
): ({ chosen: number; rejected: number } | null)[] {
  const rows = db
    .prepare(
      `SELECT e.idx, r.chosen, r.rejected FROM train_examples e LEFT JOIN train_reference r
         ON r.model = ? AND r.pair_key = e.pair_key AND r.token_hash = e.token_hash
       WHERE e.dataset_id = ? ORDER BY e.idx`,
    )
    .all(a.model, a.datasetId) as { idx: number; chosen: number | null; rejected: number | null }[];
  return rows.map((r) =>
    r.chosen === null || r.rejected === null ? null : { chosen: r.chosen, rejected: r.rejected },
  );
}

export interface ReferenceRow {
  pairKey: string;
  tokenHash: string;
  chosen: number;
  rejected: number;
}

/** The reference job's unit write: the summed log-probs of a few pairs. */
export function insertReference(db: Database, a: { model: string; jobId: number; rows: ReferenceRow[] }): number {
  const insert = db.prepare(
    'INSERT OR REPLACE INTO train_reference (model, pair_key, token_hash, chosen, rejected, job_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const now = Date.now();
  for (const r of a.rows) insert.run(a.model, r.pairKey, r.tokenHash, r.chosen, r.rejected, a.jobId, now);
  return a.rows.length;
}

interface RunRow {
  id: number;
  out_dir: string;
  config_hash: string;
  dataset_id: number;
  model: string;
  options: string;
  total_steps: number;
  state: 'training' | 'done';
  result: string | null;
  created_at: number;
  updated_at: number;
}

export interface StoredRun extends TrainRun {
  configHash: string;
  datasetId: number;
  result: Record<string, unknown> | null;
}

function toRun(db: Database, r: RunRow): StoredRun {
  const at = (column: string) => ({ table: 'train_runs', row: r.id, column });
  const step = db.prepare('SELECT max(step) FROM train_metrics WHERE run_id = ?').pluck().get(r.id) as number | null;
  const pairs = db.prepare('SELECT count FROM train_datasets WHERE id = ?').pluck().get(r.dataset_id) as number;
  return {
    id: r.id,
    out: r.out_dir,
    model: r.model,
    pairs,
    totalSteps: r.total_steps,
    step: step ?? 0,
    state: r.state,
    options: parseJsonColumn(ObjectColumn, r.options, at('options')),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    configHash: r.config_hash,
    datasetId: r.dataset_id,
    result: parseNullableJsonColumn(ObjectColumn, r.result, at('result')),
  };
}

/** The run of this output folder and configuration, created when new; returns its id. */
export function upsertTrainRun(
  db: Database,
  a: { out: string; configHash: string; datasetId: number; model: string; options: object; totalSteps: number },
): number {
  const known = db
    .prepare('SELECT id FROM train_runs WHERE out_dir = ? AND config_hash = ?')
    .pluck()
    .get(a.out, a.configHash) as number | undefined;
  if (known !== undefined) return known;
  const now = Date.now();
  return Number(
    db
      .prepare(
        'INSERT INTO train_runs (out_dir, config_hash, dataset_id, model, options, total_steps, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(a.out, a.configHash, a.datasetId, a.model, JSON.stringify(a.options), a.totalSteps, now, now)
      .lastInsertRowid,
  );
}

export function trainRun(db: Database, a: { id: number }): StoredRun | null {
  const r = db.prepare('SELECT * FROM train_runs WHERE id = ?').get(a.id) as RunRow | undefined;
  return r === undefined ? null : toRun(db, r);
}

export function trainRuns(db: Database): StoredRun[] {
  return (db.prepare('SELECT * FROM train_runs ORDER BY id DESC').all() as RunRow[]).map((r) => toRun(db, r));
}

export interface CheckpointRecord {
  step: number;
  dir: string;
  files: { name: string; bytes: number; sha256: string }[];
}

export function recordCheckpoint(db: Database, a: { runId: number; checkpoint: CheckpointRecord }): void {
  db.prepare('INSERT OR REPLACE INTO train_checkpoints (run_id, step, dir, manifest, at) VALUES (?, ?, ?, ?, ?)').run(
    a.runId,
    a.checkpoint.step,
    a.checkpoint.dir,
    JSON.stringify(a.checkpoint.files),
    Date.now(),
  );
}

/** The train job's unit write: one step's metrics, and the manifest of the checkpoint written after it, if any. */
export function commitTrainStep(
  db: Database,
  a: { runId: number; jobId: number; metrics: TrainStepMetrics; checkpoint: CheckpointRecord | null },
): void {
  const now = Date.now();
  db.prepare('INSERT OR REPLACE INTO train_metrics (run_id, step, job_id, metrics, at) VALUES (?, ?, ?, ?, ?)').run(
    a.runId,
    a.metrics.step,
    a.jobId,
    JSON.stringify(a.metrics),
    now,
  );
  if (a.checkpoint) recordCheckpoint(db, { runId: a.runId, checkpoint: a.checkpoint });
  db.prepare('UPDATE train_runs SET updated_at = ? WHERE id = ?').run(now, a.runId);
}

export function trainMetrics(db: Database, a: { runId: number; after?: number }): TrainStepMetrics[] {
  const rows = db
    .prepare('SELECT step, metrics FROM train_metrics WHERE run_id = ? AND step > ? ORDER BY step')
    .all(a.runId, a.after ?? 0) as { step: number; metrics: string }[];
  return rows.map((r) =>
    parseJsonColumn(TrainStepMetrics, r.metrics, {
      table: 'train_metrics',
      row: `${a.runId}/${r.step}`,
      column: 'metrics',
    }),
  );
}

export function trainCheckpoints(db: Database, a: { runId: number }): TrainCheckpoint[] {
  const rows = db
    .prepare('SELECT step, dir, manifest, at FROM train_checkpoints WHERE run_id = ? ORDER BY step')
    .all(a.runId) as { step: number; dir: string; manifest: string; at: number }[];
  return rows.map((r) => ({
    step: r.step,
    dir: r.dir,
    at: r.at,
    files: parseJsonColumn(ManifestFiles, r.manifest, {
      table: 'train_checkpoints',
      row: `${a.runId}/${r.step}`,
      column: 'manifest',
    }),
  }));
}

/** The train job's final write (committed with state 'done'): the run is done; returns the job's result. */
export function finishTrainRun(
  db: Database,
  a: { runId: number; result: { runId: number; steps: number; out: string; loss: number | null } },
): { runId: number; steps: number; out: string; loss: number | null } {
  db.prepare("UPDATE train_runs SET state = 'done', result = ?, updated_at = ? WHERE id = ?").run(
    JSON.stringify(a.result),
    Date.now(),
    a.runId,
  );
  return a.result;
}

/** What a model-merge job leaves (it writes no table): its result, returned as the job's. */
export function modelMerged(
  _db: Database,
  a: { runId: number; step: number | null; out: string; tensors: number; merged: number; files: string[] },
): { runId: number; step: number | null; out: string; tensors: number; merged: number; files: string[] } {
  return a;
}

export const TRAIN_QUERIES = {
  saveTrainDataset,
  trainExamples,
  datasetReference,
  insertReference,
  upsertTrainRun,
  trainRun,
  trainRuns,
  recordCheckpoint,
  commitTrainStep,
  trainMetrics,
  trainCheckpoints,
  finishTrainRun,
  modelMerged,
} satisfies QueryTable;
export type TrainQueries = typeof TRAIN_QUERIES;
