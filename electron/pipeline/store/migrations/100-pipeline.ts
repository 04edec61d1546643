// MIA-DPO pipeline schema (issue #4): augmented multi-image samples with their
// composite provenance, generations with stored selection metrics, the
// current decision per generation with its reasons, and preference pairs with
// their edit/accept/reject history. Owned by electron/pipeline.
import type { Migration } from '../../../store/migrations';

export const migration100: Migration = {
  version: 100,
  name: 'pipeline',
  up(db) {
    db.exec(`
      CREATE TABLE augmented_samples (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        plan_id TEXT NOT NULL,
        source_sample_id INTEGER NOT NULL REFERENCES samples(id),
        format TEXT NOT NULL CHECK (format IN ('sequence','grid','pip')),
        image_count INTEGER NOT NULL,
        target_index INTEGER NOT NULL,
        -- JSON array of images.id in prompt order (pip: [host, inset]).
        image_ids TEXT NOT NULL,
        -- Grid and pip: the rendered PNG in the project cache; null for sequence.
        composite_path TEXT,
        provenance TEXT,
        conversation TEXT NOT NULL,
        prompt TEXT NOT NULL,
        ground_truth TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (job_id, plan_id)
      ) STRICT;
      CREATE INDEX augmented_by_source ON augmented_samples(source_sample_id);
      CREATE INDEX augmented_by_format ON augmented_samples(format, image_count);

      CREATE TABLE generations (
        id INTEGER PRIMARY KEY,
        augmented_id INTEGER NOT NULL REFERENCES augmented_samples(id) ON DELETE CASCADE,
        job_id INTEGER REFERENCES jobs(id),
        model TEXT NOT NULL,
        settings TEXT NOT NULL,
        response TEXT NOT NULL,
        token_count INTEGER NOT NULL,
        -- GenerationMetrics (shared/pipeline/types.ts) as JSON: what selection reads.
        metrics TEXT NOT NULL,
        -- Float32 attention maps, one per image, concatenated; null when not kept.
        attention_maps BLOB,
        timing TEXT,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX generations_by_augmented ON generations(augmented_id);

      CREATE TABLE decisions (
        generation_id INTEGER PRIMARY KEY REFERENCES generations(id) ON DELETE CASCADE,
        decision TEXT NOT NULL CHECK (decision IN ('keep','drop')),
        failed TEXT NOT NULL,
        reasons TEXT NOT NULL,
        decided_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE pairs (
        id INTEGER PRIMARY KEY,
        generation_id INTEGER NOT NULL UNIQUE REFERENCES generations(id) ON DELETE CASCADE,
        chosen TEXT NOT NULL,
        rejected TEXT NOT NULL,
        review TEXT NOT NULL DEFAULT 'pending' CHECK (review IN ('pending','accepted','rejected')),
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE pair_history (
        id INTEGER PRIMARY KEY,
        pair_id INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        action TEXT NOT NULL CHECK (action IN ('create','edit','accept','reject')),
        chosen TEXT,
        rejected TEXT,
        at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX pair_history_by_pair ON pair_history(pair_id, id);
    `);
  },
};
