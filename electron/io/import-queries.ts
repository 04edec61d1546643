// The import job's store queries: staging and final commit of a dataset
// import. Entries are staged unit by unit (resumable); `commitImport` turns
// them into a source, images, samples and problems in one transaction, so a
// run is all-or-nothing. electron/db adds IMPORT_QUERIES to the project's table.
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { ProblemReason, Turn, type ImportResult, type SourceKind } from '../../shared/api';
import { parseJsonColumn } from '../store/json-column';
import type { QueryTable } from '../store/table';

export const StagedProblem = z.object({
  reason: ProblemReason,
  message: z.string(),
  path: z.string().nullable(),
});
export type StagedProblem = z.infer<typeof StagedProblem>;

export const StagedSample = z.object({
  externalId: z.string(),
  conversation: z.array(Turn),
  /** Absolute image paths in order; null where the image failed (see problems). */
  images: z.array(z.string().nullable()),
});
export type StagedSample = z.infer<typeof StagedSample>;

/** One dataset entry as staged (a JSON column of import_entries). */
export const StagedEntry = z.object({
  index: z.int().nonnegative(),
  line: z.int().nullable(),
  externalId: z.string().nullable(),
  /** Null when the entry cannot become a sample (malformed, duplicate id). */
  sample: StagedSample.nullable(),
  problems: z.array(StagedProblem),
});
export type StagedEntry = z.infer<typeof StagedEntry>;

export interface StagedImage {
  path: string;
  sha256: string;
  width: number;
  height: number;
  bytes: number;
}

export function stageImportUnit(
  db: Database,
  a: { jobId: number; entries: StagedEntry[]; images: StagedImage[] },
): void {
  const entry = db.prepare('INSERT OR REPLACE INTO import_entries (job_id, entry_index, entry) VALUES (?, ?, ?)');
  const image = db.prepare(
    'INSERT OR REPLACE INTO import_images (job_id, path, sha256, width, height, bytes) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // Normally inside commitUnit's transaction (this becomes a savepoint); atomic on its own too.
  db.transaction(() => {
    for (const e of a.entries) entry.run(a.jobId, e.index, JSON.stringify(e));
    for (const i of a.images) image.run(a.jobId, i.path, i.sha256, i.width, i.height, i.bytes);
  })();
}

/** What a resumed import needs: ids seen so far (duplicate detection) and images already hashed. */
export function loadImportState(db: Database, a: { jobId: number }): { externalIds: string[]; images: StagedImage[] } {
  const externalIds = (
    db
      .prepare(
        "SELECT json_extract(entry, '$.sample.externalId') AS id FROM import_entries WHERE job_id = ? AND json_extract(entry, '$.sample') IS NOT NULL",
      )
      .all(a.jobId) as { id: string }[]
  ).map((r) => r.id);
  const images = db
    .prepare('SELECT path, sha256, width, height, bytes FROM import_images WHERE job_id = ?')
    .all(a.jobId) as StagedImage[];
  return { externalIds, images };
}

export function discardImport(db: Database, a: { jobId: number }): void {
  db.prepare('DELETE FROM import_entries WHERE job_id = ?').run(a.jobId);
  db.prepare('DELETE FROM import_images WHERE job_id = ?').run(a.jobId);
}

function splitConversation(turns: Turn[]): { question: string; answer: string } {
  const clean = (t: Turn) => t.value.replace(/<image>\s*/g, '').trim();
  return {
    question: turns
      .filter((t) => t.from === 'human')
      .map(clean)
      .join('\n'),
    answer: turns
      .filter((t) => t.from === 'gpt')
      .map(clean)
      .join('\n'),
  };
}

/** The import job's result: its summary as the API declares it. */
export type ImportSummary = ImportResult;

/** All-or-nothing: one transaction (a savepoint inside finishJob's). */
export function commitImport(
  db: Database,
  a: { jobId: number; kind: SourceKind; path: string; imagesRoot: string },
): ImportSummary {
  return db.transaction(() => commitImportRows(db, a))();
}

function commitImportRows(
  db: Database,
  a: { jobId: number; kind: SourceKind; path: string; imagesRoot: string },
): ImportSummary {
  const now = Date.now();
  const sourceId = Number(
    db
      .prepare('INSERT INTO sources (kind, path, images_root, import_job_id, imported_at) VALUES (?, ?, ?, ?, ?)')
      .run(a.kind, a.path, a.imagesRoot, a.jobId, now).lastInsertRowid,
  );
  db.prepare(
    `INSERT INTO images (path, sha256, width, height, bytes)
     SELECT path, sha256, width, height, bytes FROM import_images WHERE job_id = ? AND true
     ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, width = excluded.width, height = excluded.height, bytes = excluded.bytes`,
  ).run(a.jobId);
  const imageIds = new Map<string, number>();
  const idRows = db
    .prepare('SELECT i.id, i.path FROM images i JOIN import_images s ON s.path = i.path WHERE s.job_id = ?')
    .all(a.jobId) as { id: number; path: string }[];
  for (const r of idRows) imageIds.set(r.path, r.id);

  const insertSample = db.prepare(
    'INSERT INTO samples (source_id, external_id, entry_index, image_id, image_count, question, answer, conversation, has_problems) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertSampleImage = db.prepare('INSERT INTO sample_images (sample_id, position, image_id) VALUES (?, ?, ?)');
  const insertProblem = db.prepare(
    'INSERT INTO problems (job_id, source_id, sample_id, entry_index, line, entry_id, reason, message, path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  let entries = 0;
  let imported = 0;
  let flagged = 0;
  let rejected = 0;
  let problems = 0;
  // Keyset pages keep memory bounded on huge imports (and better-sqlite3 forbids writes during iterate()).
  const page = db.prepare(
    'SELECT entry_index AS i, entry FROM import_entries WHERE job_id = ? AND entry_index > ? ORDER BY entry_index LIMIT 2000',
  );
  for (
    let after = -1, rows = page.all(a.jobId, after) as { i: number; entry: string }[];
    rows.length > 0;
    rows = page.all(a.jobId, after) as { i: number; entry: string }[]
  ) {
    after = rows.at(-1)!.i;
    for (const { i, entry: text } of rows) {
      const e = parseJsonColumn(StagedEntry, text, {
        table: 'import_entries',
        row: `job ${a.jobId}, entry ${i}`,
        column: 'entry',
      });
      let sampleId: number | null = null;
      if (e.sample) {
        const ids = e.sample.images.map((p) => (p === null ? null : (imageIds.get(p) ?? null)));
        const present = ids.filter((id): id is number => id !== null);
        const { question, answer } = splitConversation(e.sample.conversation);
        sampleId = Number(
          insertSample.run(
            sourceId,
            e.sample.externalId,
            e.index,
            present[0] ?? null,
            present.length,
            question,
            answer,
            JSON.stringify(e.sample.conversation),
            e.problems.length > 0 ? 1 : 0,
          ).lastInsertRowid,
        );
        present.forEach((id, position) => insertSampleImage.run(sampleId, position, id));
        if (e.problems.length > 0) flagged++;
        else imported++;
      } else rejected++;
      entries++;
      for (const p of e.problems) {
        insertProblem.run(a.jobId, sourceId, sampleId, e.index, e.line, e.externalId, p.reason, p.message, p.path);
        problems++;
      }
    }
  }
  // One bulk statement instead of a per-row trigger (migration 003).
  db.prepare(
    'INSERT INTO samples_fts(rowid, question, answer) SELECT id, question, answer FROM samples WHERE source_id = ?',
  ).run(sourceId);
  discardImport(db, { jobId: a.jobId });
  const samples = imported + flagged;
  return {
    sourceId,
    entries,
    imported,
    flagged,
    rejected,
    samples,
    problems,
    problemEntries: flagged + rejected,
    images: idRows.length,
  };
}

/** The earlier import of the same content from the same path (its job's `contentHash` parameter), if any. */
export function findEarlierImport(
  db: Database,
  a: { path: string; contentHash: string },
): { jobId: number; importedAt: number; samples: number } | null {
  const row = db
    .prepare(
      `SELECT s.import_job_id AS jobId, s.imported_at AS importedAt,
        (SELECT count(*) FROM samples WHERE source_id = s.id) AS samples
       FROM sources s JOIN jobs j ON j.id = s.import_job_id
       WHERE s.path = ? AND json_extract(j.params, '$.contentHash') = ? ORDER BY s.id DESC LIMIT 1`,
    )
    .get(a.path, a.contentHash) as { jobId: number; importedAt: number; samples: number } | undefined;
  return row ?? null;
}

export const IMPORT_QUERIES = {
  stageImportUnit,
  loadImportState,
  discardImport,
  commitImport,
  findEarlierImport,
} satisfies QueryTable;
export type ImportQueries = typeof IMPORT_QUERIES;
