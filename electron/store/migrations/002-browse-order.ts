// A narrow index over sample ids alone: the grid pages with LIMIT/OFFSET, and
// stepping over 50k entries of this index costs about 1 ms where stepping
// over the wide sample rows costs 20-60 ms (bench/browse.bench.ts).
import type { Migration } from './types';

export const migration002: Migration = {
  version: 2,
  name: 'browse-order',
  up(db) {
    db.exec('CREATE INDEX samples_order ON samples(id)');
  },
};
