// Undo and redo of pair reviews kept in the project (issue 11, the Pairs page):
// `review_ops` is the log of review actions, one row per action whether it
// touched one pair (a key press) or thousands (a bulk accept of a filter), and
// `review_op_pairs` the state of each touched pair before and after. Undo
// restores the "before" of the newest action not undone, redo re-applies the
// oldest undone one; a new action drops the undone ones (the redo stack).
// pair_history learns the 'undo' and 'redo' actions (SQLite cannot change a
// CHECK constraint in place, so the table is rebuilt; nothing references it).
import type { Migration } from '../../../store/migrations';

export const migration170: Migration = {
  version: 170,
  name: 'review-undo',
  up(db) {
    db.exec(`
      CREATE TABLE review_ops (
        id INTEGER PRIMARY KEY,
        action TEXT NOT NULL CHECK (action IN ('edit','accept','reject')),
        -- What the curator reads in the undo button, e.g. 'accept pair 12' or 'reject 340 pairs'.
        label TEXT NOT NULL,
        pair_count INTEGER NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
        at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX review_ops_by_undone ON review_ops(undone, id);

      CREATE TABLE review_op_pairs (
        op_id INTEGER NOT NULL REFERENCES review_ops(id) ON DELETE CASCADE,
        pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        review_before TEXT NOT NULL,
        review_after TEXT NOT NULL,
        -- Texts only for edits (NULL: the action left them alone).
        chosen_before TEXT,
        chosen_after TEXT,
        rejected_before TEXT,
        rejected_after TEXT,
        PRIMARY KEY (op_id, pair_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX review_op_pairs_by_pair ON review_op_pairs(pair_id);

      CREATE TABLE pair_history_new (
        id INTEGER PRIMARY KEY,
        pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        action TEXT NOT NULL CHECK (action IN ('create','edit','accept','reject','undo','redo')),
        chosen TEXT,
        rejected TEXT,
        at INTEGER NOT NULL
      ) STRICT;
      INSERT INTO pair_history_new (id, pair_id, action, chosen, rejected, at)
        SELECT id, pair_id, action, chosen, rejected, at FROM pair_history;
      DROP TABLE pair_history;
      ALTER TABLE pair_history_new RENAME TO pair_history;
      CREATE INDEX pair_history_by_pair ON pair_history(pair_id, id);
    `);
  },
};
