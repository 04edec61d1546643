// Read queries behind the dataset view: a page of the sample grid with its
// filters (source, problems, full-text), one sample in detail, sources,
// problems and image lookups. Indexes for them are in migration 001.
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import {
  Turn,
  type Image,
  type Problem,
  type SampleDetail,
  type SampleFilter,
  type SampleSummary,
  type Source,
} from '../../../shared/api';
import { parseJsonColumn } from '../json-column';

const QUESTION_PREVIEW = 200;

/** Shorter last words match exactly: a 1-2 letter prefix matches most of a dataset and costs a full scan. */
const MIN_PREFIX = 3;

/** User words -> an FTS5 query: every word must match, the last one as a prefix (search as you type). */
export function ftsQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  if (words.length === 0) return null;
  const last = words.length - 1;
  return words.map((w, i) => `"${w}"${i === last && w.length >= MIN_PREFIX ? '*' : ''}`).join(' ');
}

function whereOf(filter: SampleFilter): { sql: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (filter.sourceId !== undefined) {
    conds.push('s.source_id = ?');
    params.push(filter.sourceId);
  }
  if (filter.hasProblems !== undefined) {
    conds.push('s.has_problems = ?');
    params.push(filter.hasProblems ? 1 : 0);
  }
  const match = filter.text === undefined ? null : ftsQuery(filter.text);
  if (match !== null) {
    conds.push('s.id IN (SELECT rowid FROM samples_fts WHERE samples_fts MATCH ?)');
    params.push(match);
  }
  return { sql: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

const SUMMARY_COLUMNS = `s.id, s.source_id AS sourceId, s.external_id AS externalId, s.image_id AS imageId,
  s.image_count AS imageCount, substr(s.question, 1, ${QUESTION_PREVIEW}) AS question, s.has_problems AS hasProblems`;

type SummaryRow = Omit<SampleSummary, 'hasProblems'> & { hasProblems: number };
const toSummary = (r: SummaryRow): SampleSummary => ({ ...r, hasProblems: r.hasProblems === 1 });

/**
 * The page's ids come from a subquery that only touches indexes (samples_order,
 * or the filter's index), then the wide rows are read for those ids alone.
 */
export function pageSql(filter: SampleFilter): { sql: string; params: unknown[] } {
  const where = whereOf(filter);
  // Unfiltered, the planner may not know the narrow index is cheaper than the table (no ANALYZE yet).
  const from = where.sql === '' ? 'samples s INDEXED BY samples_order' : 'samples s';
  return {
    sql: `SELECT ${SUMMARY_COLUMNS} FROM samples s WHERE s.id IN (SELECT s.id FROM ${from} ${where.sql} ORDER BY s.id LIMIT ? OFFSET ?) ORDER BY s.id`,
    params: where.params,
  };
}

/** Distinct filters whose match count is kept per connection; paging and retyping revisit few. */
const COUNT_CACHE_SIZE = 64;

interface CountCache {
  /** The data version the counts were taken at (see dataVersion). */
  version: string;
  counts: Map<string, number>;
}

const countCaches = new WeakMap<Database, CountCache>();

/**
 * Changes the moment any row changes: total_changes() counts this connection's
 * inserts, updates and deletes (the store worker is the one writer), and
 * data_version moves when another connection commits to the file.
 */
export function dataVersion(db: Database): string {
  const changes = db.prepare('SELECT total_changes()').pluck().get() as number;
  const external = db.pragma('data_version', { simple: true }) as number;
  return `${changes}/${external}`;
}

/**
 * The uncached count's query. A text-only filter counts the FTS index alone: every
 * sample is indexed in the transaction that inserts it (electron/io/import-queries.ts) and
 * leaves it through the delete trigger, so its rows are the samples' rows, and
 * skipping the join to samples makes a 33k-match count ~6x cheaper.
 */
export function countSql(filter: SampleFilter): { sql: string; params: unknown[] } {
  const match = filter.text === undefined ? null : ftsQuery(filter.text);
  if (match !== null && filter.sourceId === undefined && filter.hasProblems === undefined) {
    return { sql: 'SELECT count(*) FROM samples_fts WHERE samples_fts MATCH ?', params: [match] };
  }
  const where = whereOf(filter);
  return { sql: `SELECT count(*) FROM samples s ${where.sql}`, params: where.params };
}

/**
 * The number of samples matching a filter. Counting a common prefix walks every
 * match (a third of 100k samples costs ~35 ms), so each distinct filter is
 * counted once per data version and paging through its results reuses it.
 */
export function countMatches(db: Database, filter: SampleFilter): number {
  const version = dataVersion(db);
  let cache = countCaches.get(db);
  if (cache === undefined || cache.version !== version) {
    cache = { version, counts: new Map() };
    countCaches.set(db, cache);
  }
  const key = JSON.stringify([
    filter.sourceId ?? null,
    filter.hasProblems ?? null,
    filter.text === undefined ? null : ftsQuery(filter.text),
  ]);
  const hit = cache.counts.get(key);
  if (hit !== undefined) {
    // Re-inserted so the Map's order is least recently used first.
    cache.counts.delete(key);
    cache.counts.set(key, hit);
    return hit;
  }
  const count = countSql(filter);
  const total = db
    .prepare(count.sql)
    .pluck()
    .get(...count.params) as number;
  if (cache.counts.size >= COUNT_CACHE_SIZE) cache.counts.delete(cache.counts.keys().next().value!);
  cache.counts.set(key, total);
  return total;
}

export function samplesPage(
  db: Database,
  a: { offset: number; limit: number; filter: SampleFilter },
): { total: number; items: SampleSummary[] } {
  const total = countMatches(db, a.filter);
  const page = pageSql(a.filter);
  const rows = db.prepare(page.sql).all(...page.params, a.limit, a.offset) as SummaryRow[];
  return { total, items: rows.map(toSummary) };
}

const PROBLEM_COLUMNS = `id, job_id AS jobId, source_id AS sourceId, sample_id AS sampleId, entry_index AS "index", line,
  entry_id AS entryId, reason, message, path`;

export function sampleDetail(db: Database, a: { id: number }): SampleDetail | null {
  const row = db.prepare(`SELECT ${SUMMARY_COLUMNS}, s.conversation FROM samples s WHERE s.id = ?`).get(a.id) as
    (SummaryRow & { conversation: string }) | undefined;
  if (row === undefined) return null;
  const images = db
    .prepare(
      'SELECT i.id, i.path, i.sha256, i.width, i.height, i.bytes FROM sample_images si JOIN images i ON i.id = si.image_id WHERE si.sample_id = ? ORDER BY si.position',
    )
    .all(a.id) as Image[];
  const problems = db
    .prepare(`SELECT ${PROBLEM_COLUMNS} FROM problems WHERE sample_id = ? ORDER BY id`)
    .all(a.id) as Problem[];
  const { conversation, ...summary } = row;
  return {
    ...toSummary(summary),
    images,
    conversation: parseJsonColumn(z.array(Turn), conversation, { table: 'samples', row: a.id, column: 'conversation' }),
    problems,
  };
}

export function listSources(db: Database): Source[] {
  return db
    .prepare(
      `SELECT src.id, src.kind, src.path, src.images_root AS imagesRoot, src.import_job_id AS importJobId, src.imported_at AS importedAt,
        (SELECT count(*) FROM samples WHERE source_id = src.id) AS sampleCount,
        (SELECT count(DISTINCT entry_index) FROM problems WHERE source_id = src.id) AS problemCount
       FROM sources src ORDER BY src.id`,
    )
    .all() as Source[];
}

export function listProblems(
  db: Database,
  a: { offset: number; limit: number; jobId?: number; sourceId?: number },
): { total: number; items: Problem[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (a.jobId !== undefined) {
    conds.push('job_id = ?');
    params.push(a.jobId);
  }
  if (a.sourceId !== undefined) {
    conds.push('source_id = ?');
    params.push(a.sourceId);
  }
  const where = conds.length ? `WHERE ${conds.join(' AND ')}` : '';
  const total = db
    .prepare(`SELECT count(*) FROM problems ${where}`)
    .pluck()
    .get(...params) as number;
  const items = db
    .prepare(`SELECT ${PROBLEM_COLUMNS} FROM problems ${where} ORDER BY id LIMIT ? OFFSET ?`)
    .all(...params, a.limit, a.offset) as Problem[];
  return { total, items };
}

export function getImage(db: Database, a: { id: number }): Image | null {
  return (
    (db.prepare('SELECT id, path, sha256, width, height, bytes FROM images WHERE id = ?').get(a.id) as
      Image | undefined) ?? null
  );
}

export function projectCounts(db: Database): { sampleCount: number; imageCount: number; problemCount: number } {
  return db
    .prepare(
      'SELECT (SELECT count(*) FROM samples) AS sampleCount, (SELECT count(*) FROM images) AS imageCount, (SELECT count(*) FROM problems) AS problemCount',
    )
    .get() as { sampleCount: number; imageCount: number; problemCount: number };
}

export function getMeta(db: Database): Record<string, string> {
  const rows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export function setMeta(db: Database, a: { values: Record<string, string> }): void {
  const put = db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  );
  // One transaction: with synchronous=FULL each autocommit is an fsync.
  db.transaction(() => {
    for (const [k, v] of Object.entries(a.values)) put.run(k, v);
  })();
}
