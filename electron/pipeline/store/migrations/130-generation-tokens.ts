// What the respond job stores beyond migration 100's generations row (issue
// #4, step 3): the generated token ids (Int32 little-endian) and the side of
// the square attention maps in `attention_maps`, so the blob can be read back.
import type { Migration } from '../../../store/migrations';

export const migration130: Migration = {
  version: 130,
  name: 'generation-tokens',
  up(db) {
    db.exec(`
      ALTER TABLE generations ADD COLUMN token_ids BLOB;
      ALTER TABLE generations ADD COLUMN attention_side INTEGER;
      CREATE INDEX generations_by_model ON generations(model, augmented_id);
    `);
  },
};
