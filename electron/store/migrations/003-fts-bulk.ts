// Samples enter the full-text index in bulk, once per import commit
// (electron/io/import-queries.ts), not row by row through a trigger: an INSERT ... SELECT
// into samples_fts is about 3x faster than the per-row trigger at 50k rows.
// Anything else that inserts samples must index them the same way.
import type { Migration } from './types';

export const migration003: Migration = {
  version: 3,
  name: 'fts-bulk',
  up(db) {
    db.exec('DROP TRIGGER samples_fts_insert');
  },
};
