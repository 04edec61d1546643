// Evaluation (issue 10): benchmarks imported from local files with their
// items (images in the project cache, rows of `images`), eval runs keyed by
// (model id with adapter and format, benchmark, mode, decoding), and one
// result per run and item. Owned by electron/pipeline/eval.
import type { Migration } from '../../../store/migrations';

export const migration160: Migration = {
  version: 160,
  name: 'evaluation',
  up(db) {
    db.exec(`
      CREATE TABLE benchmarks (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        file TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('tsv','json','jsonl')),
        problems INTEGER NOT NULL,
        imported_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE bench_items (
        id INTEGER PRIMARY KEY,
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id) ON DELETE CASCADE,
        -- 1-based data row in the file.
        row INTEGER NOT NULL,
        -- The row's index column (text: VLMEvalKit indexes are numbers or names).
        idx TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('mcq','yesno','short')),
        question TEXT NOT NULL,
        hint TEXT,
        -- JSON [{letter, text}] in letter order; [] for yes/no and short answers.
        options TEXT NOT NULL,
        answer TEXT NOT NULL,
        category TEXT NOT NULL,
        l2_category TEXT,
        -- JSON array of images.id in prompt order.
        image_ids TEXT NOT NULL,
        prompt TEXT NOT NULL,
        UNIQUE (benchmark_id, idx)
      ) STRICT;
      CREATE INDEX bench_items_by_benchmark ON bench_items(benchmark_id, id);

      CREATE TABLE eval_runs (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        model_id TEXT NOT NULL,
        benchmark_id INTEGER NOT NULL REFERENCES benchmarks(id) ON DELETE CASCADE,
        mode TEXT NOT NULL CHECK (mode IN ('generate','likelihood')),
        -- JSON of the decoding and prompt settings, keys sorted: part of the run key.
        decoding TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (model_id, benchmark_id, mode, decoding)
      ) STRICT;

      CREATE TABLE eval_results (
        run_id INTEGER NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
        item_id INTEGER NOT NULL REFERENCES bench_items(id) ON DELETE CASCADE,
        -- Int32 little-endian, images as one placeholder token each.
        prompt_ids BLOB NOT NULL,
        response TEXT,
        response_ids BLOB,
        prediction TEXT,
        correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
        -- Likelihood mode: JSON letter -> token ids, letter -> summed log-prob.
        option_ids TEXT,
        option_scores TEXT,
        -- JSON per-image mean attention at the attention layer (generate mode).
        per_image_mean TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, item_id)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
