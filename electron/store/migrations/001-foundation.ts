// Foundation schema: project metadata, jobs, imported sources, images
// referenced in place, samples with their conversation, problems, full-text
// search over question/answer, and the staging tables of an import in progress.
import type { Migration } from './types';

export const migration001: Migration = {
  version: 1,
  name: 'foundation',
  up(db) {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        label TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued','running','paused','done','failed','cancelled')),
        params TEXT NOT NULL,
        cursor TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER,
        error TEXT,
        result TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX jobs_state ON jobs(state);

      CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('llava','folder')),
        path TEXT NOT NULL,
        images_root TEXT NOT NULL,
        import_job_id INTEGER NOT NULL REFERENCES jobs(id),
        imported_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        bytes INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        external_id TEXT NOT NULL,
        entry_index INTEGER NOT NULL,
        image_id INTEGER REFERENCES images(id),
        image_count INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        conversation TEXT NOT NULL,
        has_problems INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX samples_by_source ON samples(source_id, id);
      CREATE INDEX samples_by_problems ON samples(has_problems, id);
      CREATE INDEX samples_by_source_problems ON samples(source_id, has_problems, id);

      CREATE TABLE sample_images (
        sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        image_id INTEGER NOT NULL REFERENCES images(id),
        PRIMARY KEY (sample_id, position)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE problems (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        source_id INTEGER REFERENCES sources(id),
        sample_id INTEGER REFERENCES samples(id),
        entry_index INTEGER NOT NULL,
        line INTEGER,
        entry_id TEXT,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        path TEXT
      ) STRICT;
      CREATE INDEX problems_by_job ON problems(job_id, id);
      CREATE INDEX problems_by_source ON problems(source_id, id);
      CREATE INDEX problems_by_sample ON problems(sample_id);

      -- External-content FTS: the text lives once, in samples.
      CREATE VIRTUAL TABLE samples_fts USING fts5(question, answer, content='samples', content_rowid='id');
      CREATE TRIGGER samples_fts_insert AFTER INSERT ON samples BEGIN
        INSERT INTO samples_fts(rowid, question, answer) VALUES (new.id, new.question, new.answer);
      END;
      CREATE TRIGGER samples_fts_delete AFTER DELETE ON samples BEGIN
        INSERT INTO samples_fts(samples_fts, rowid, question, answer) VALUES ('delete', old.id, old.question, old.answer);
      END;

      -- An import in progress: one row per entry read so far, committed unit by
      -- unit so a crashed import resumes; moved to the tables above in one
      -- transaction at the end (all-or-nothing per run).
      CREATE TABLE import_entries (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        entry_index INTEGER NOT NULL,
        entry TEXT NOT NULL,
        PRIMARY KEY (job_id, entry_index)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE import_images (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (job_id, path)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
