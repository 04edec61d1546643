// Pair reviews with undo and redo kept in the project (migration 170): every
// action (one pair's accept, reject or edit, or a bulk accept / reject of a
// filter) is one entry of `review_ops` with each touched pair's state before
// and after, written in the same transaction as the change and its history.
// Undo restores the newest entry's "before", redo re-applies the oldest undone
// entry's "after"; a new action drops whatever was undone. Only actions that
// change something are logged, so undo never spends a key press on a no-op.
import type { Database } from 'better-sqlite3';
import type { PairFilter, ReviewOp } from '../../../shared/pipeline/commands';
import { pairWhere } from './pairs';

/** How many actions undo can reach back; older entries are dropped as new ones arrive. */
export const UNDO_DEPTH = 500;
/** How many of an action's pair ids a ReviewOp lists (the UI jumps to the first). */
const OP_PAIR_IDS = 20;

type Action = 'edit' | 'accept' | 'reject';
const REVIEW_OF = { accept: 'accepted', reject: 'rejected' } as const;

interface OpRow {
  id: number;
  action: Action;
  label: string;
  pair_count: number;
  at: number;
}

function opView(db: Database, row: OpRow | undefined): ReviewOp | null {
  if (row === undefined) return null;
  const pairIds = db
    .prepare('SELECT pair_id FROM review_op_pairs WHERE op_id = ? ORDER BY pair_id LIMIT ?')
    .pluck()
    .all(row.id, OP_PAIR_IDS) as number[];
  return { id: row.id, action: row.action, label: row.label, pairs: row.pair_count, pairIds, at: row.at };
}

/** Starts a new action: the redo stack is dropped and the log trimmed to UNDO_DEPTH. */
function newOp(db: Database, action: Action, label: string, pairCount: number, now: number): number {
  db.prepare('DELETE FROM review_ops WHERE undone = 1').run();
  db.prepare('DELETE FROM review_ops WHERE id <= (SELECT max(id) FROM review_ops) - ?').run(UNDO_DEPTH - 1);
  return Number(
    db
      .prepare('INSERT INTO review_ops (action, label, pair_count, at) VALUES (?, ?, ?, ?)')
      .run(action, label, pairCount, now).lastInsertRowid,
  );
}

/** A person's edit, accept or reject of one pair; false when the pair does not exist or nothing changes. */
export function reviewPair(
  db: Database,
  a: { pairId: number; action: Action; chosen?: string; rejected?: string },
): boolean {
  return db.transaction(() => {
    const before = db.prepare('SELECT review, chosen, rejected FROM pairs WHERE id = ?').get(a.pairId) as
      { review: string; chosen: string; rejected: string } | undefined;
    if (before === undefined) return false;
    const now = Date.now();
    const after =
      a.action === 'edit'
        ? { review: before.review, chosen: a.chosen ?? before.chosen, rejected: a.rejected ?? before.rejected }
        : { ...before, review: REVIEW_OF[a.action] };
    if (after.review === before.review && after.chosen === before.chosen && after.rejected === before.rejected)
      return false;
    const op = newOp(db, a.action, `${a.action} pair ${a.pairId}`, 1, now);
    const edit = a.action === 'edit';
    db.prepare(
      `INSERT INTO review_op_pairs (op_id, pair_id, review_before, review_after, chosen_before, chosen_after, rejected_before, rejected_after)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      op,
      a.pairId,
      before.review,
      after.review,
      edit ? before.chosen : null,
      edit ? after.chosen : null,
      edit ? before.rejected : null,
      edit ? after.rejected : null,
    );
    if (edit)
      db.prepare('UPDATE pairs SET chosen = ?, rejected = ?, updated_at = ? WHERE id = ?').run(
        after.chosen,
        after.rejected,
        now,
        a.pairId,
      );
    else db.prepare('UPDATE pairs SET review = ?, updated_at = ? WHERE id = ?').run(after.review, now, a.pairId);
    db.prepare(
      'INSERT INTO pair_history (pair_id, action, chosen, rejected, at) SELECT id, ?, chosen, rejected, ? FROM pairs WHERE id = ?',
    ).run(a.action, now, a.pairId);
    return true;
  })();
}

/**
 * Accepts or rejects every pair matching `filter` whose review differs (one
 * undoable action). `dryRun` only counts them: the count the UI previews.
 */
export function reviewMany(
  db: Database,
  a: { filter: PairFilter; action: 'accept' | 'reject'; dryRun: boolean },
): { count: number; op: ReviewOp | null } {
  const target = REVIEW_OF[a.action];
  const where = pairWhere(a.filter);
  const matches = `SELECT f.pair_id FROM pair_facets f WHERE ${where.sql} AND f.review != ?`;
  const params = [...where.params, target];
  if (a.dryRun) {
    return {
      count: db
        .prepare(`SELECT count(*) FROM (${matches})`)
        .pluck()
        .get(...params) as number,
      op: null,
    };
  }
  return db.transaction(() => {
    const count = db
      .prepare(`SELECT count(*) FROM (${matches})`)
      .pluck()
      .get(...params) as number;
    if (count === 0) return { count, op: null };
    const now = Date.now();
    const op = newOp(db, a.action, `${a.action} ${count} pair${count === 1 ? '' : 's'}`, count, now);
    db.prepare(
      `INSERT INTO review_op_pairs (op_id, pair_id, review_before, review_after)
       SELECT ?, p.id, p.review, ? FROM pairs p WHERE p.id IN (${matches})`,
    ).run(op, target, ...params);
    db.prepare(
      'UPDATE pairs SET review = ?, updated_at = ? WHERE id IN (SELECT pair_id FROM review_op_pairs WHERE op_id = ?)',
    ).run(target, now, op);
    logHistory(db, op, a.action, now);
    return { count, op: opView(db, db.prepare('SELECT * FROM review_ops WHERE id = ?').get(op) as OpRow) };
  })();
}

function logHistory(db: Database, op: number, action: 'accept' | 'reject' | 'undo' | 'redo', now: number): void {
  db.prepare(
    `INSERT INTO pair_history (pair_id, action, chosen, rejected, at)
     SELECT p.id, ?, p.chosen, p.rejected, ? FROM review_op_pairs r JOIN pairs p ON p.id = r.pair_id WHERE r.op_id = ? ORDER BY p.id`,
  ).run(action, now, op);
}

/** Puts every pair of `op` back to its state on side `side` (before: undo, after: redo). */
function restore(db: Database, op: OpRow, side: 'before' | 'after', now: number): void {
  db.prepare(
    `UPDATE pairs SET review = r.review_${side}, updated_at = ? FROM review_op_pairs r WHERE r.op_id = ? AND pairs.id = r.pair_id`,
  ).run(now, op.id);
  // Texts only for edits: touching them would rewrite every pair's search row (a trigger).
  if (op.action === 'edit')
    db.prepare(
      `UPDATE pairs SET chosen = r.chosen_${side}, rejected = r.rejected_${side} FROM review_op_pairs r WHERE r.op_id = ? AND pairs.id = r.pair_id`,
    ).run(op.id);
}

/** Undoes the newest action not undone yet; null when there is none. */
export function undoReview(db: Database): ReviewOp | null {
  return db.transaction(() => {
    const op = db.prepare('SELECT * FROM review_ops WHERE undone = 0 ORDER BY id DESC LIMIT 1').get() as
      OpRow | undefined;
    if (op === undefined) return null;
    const now = Date.now();
    restore(db, op, 'before', now);
    db.prepare('UPDATE review_ops SET undone = 1 WHERE id = ?').run(op.id);
    logHistory(db, op.id, 'undo', now);
    return opView(db, op);
  })();
}

/** Re-applies the oldest undone action; null when nothing was undone. */
export function redoReview(db: Database): ReviewOp | null {
  return db.transaction(() => {
    const op = db.prepare('SELECT * FROM review_ops WHERE undone = 1 ORDER BY id ASC LIMIT 1').get() as
      OpRow | undefined;
    if (op === undefined) return null;
    const now = Date.now();
    restore(db, op, 'after', now);
    db.prepare('UPDATE review_ops SET undone = 0 WHERE id = ?').run(op.id);
    logHistory(db, op.id, 'redo', now);
    return opView(db, op);
  })();
}

/** What undo and redo would do next. */
export function reviewUndoState(db: Database): { undo: ReviewOp | null; redo: ReviewOp | null } {
  return {
    undo: opView(db, db.prepare('SELECT * FROM review_ops WHERE undone = 0 ORDER BY id DESC LIMIT 1').get() as OpRow),
    redo: opView(db, db.prepare('SELECT * FROM review_ops WHERE undone = 1 ORDER BY id ASC LIMIT 1').get() as OpRow),
  };
}

export const REVIEW_LOG_QUERIES = { reviewPair, reviewMany, undoReview, redoReview, reviewUndoState } satisfies Record<
  string,
  (db: Database, args: never) => unknown
>;
