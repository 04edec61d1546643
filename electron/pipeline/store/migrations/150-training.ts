// Training (issue 9): snapshots of the pairs a run trains on (tokenized, so a
// resumed run sees exactly the data of the first), reference log-probs keyed by
// (model id with the reference adapter, pair, token hash) and reused across
// runs, runs with their per-step metrics, and the manifests of the checkpoints
// written under a run's output folder. Owned by electron/pipeline/train.
import type { Migration } from '../../../store/migrations';

export const migration150: Migration = {
  version: 150,
  name: 'training',
  up(db) {
    db.exec(`
      CREATE TABLE train_datasets (
        id INTEGER PRIMARY KEY,
        -- sha256 of every example's key, images and token ids: the same pairs tokenized alike are one dataset.
        hash TEXT NOT NULL UNIQUE,
        -- Where the pairs came from: 'project' or the pairs file's path.
        source TEXT NOT NULL,
        count INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE train_examples (
        dataset_id INTEGER NOT NULL REFERENCES train_datasets(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        -- 'pair-<id>' for a project pair, '<file>:<line>' for a pairs-file line.
        pair_key TEXT NOT NULL,
        -- JSON array of absolute image paths, in <image> order.
        images TEXT NOT NULL,
        -- JSON arrays of token ids: the prompt (one image token per image), chosen and rejected (ending with EOS).
        prompt_ids TEXT NOT NULL,
        chosen_ids TEXT NOT NULL,
        rejected_ids TEXT NOT NULL,
        -- sha256 of the token ids, the images' contents and the image preprocessing.
        token_hash TEXT NOT NULL,
        PRIMARY KEY (dataset_id, idx)
      ) STRICT;

      CREATE TABLE train_reference (
        model TEXT NOT NULL,
        pair_key TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        chosen REAL NOT NULL,
        rejected REAL NOT NULL,
        job_id INTEGER REFERENCES jobs(id),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (model, pair_key, token_hash)
      ) STRICT;

      CREATE TABLE train_runs (
        id INTEGER PRIMARY KEY,
        out_dir TEXT NOT NULL,
        -- sha256 of everything that changes the trained weights (options, model id, dataset hash).
        config_hash TEXT NOT NULL,
        dataset_id INTEGER NOT NULL REFERENCES train_datasets(id),
        model TEXT NOT NULL,
        options TEXT NOT NULL,
        total_steps INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'training' CHECK (state IN ('training','done')),
        result TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (out_dir, config_hash)
      ) STRICT;

      CREATE TABLE train_metrics (
        run_id INTEGER NOT NULL REFERENCES train_runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        job_id INTEGER REFERENCES jobs(id),
        -- TrainStepMetrics (shared/pipeline/train.ts) as JSON.
        metrics TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (run_id, step)
      ) STRICT;

      CREATE TABLE train_checkpoints (
        run_id INTEGER NOT NULL REFERENCES train_runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        dir TEXT NOT NULL,
        -- The checkpoint store's manifest: files with sizes and sha256.
        manifest TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (run_id, step)
      ) STRICT;
    `);
  },
};
