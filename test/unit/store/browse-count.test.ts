// samples.page totals: each filter's count against a count made in JS over the
// rows the test inserted, and the cached count following the data when rows
// are added, removed or changed on the store's connection or on another one.
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SampleFilter } from '../../../shared/api';
import { openDatabase } from '../../../electron/store/database';
import { MIGRATIONS } from '../../../electron/db/project.schema';
import { samplesPage } from '../../../electron/store/queries/browse';

interface Row {
  id: number;
  sourceId: number;
  question: string;
  answer: string;
  hasProblems: boolean;
}

const WORDS = ['red', 'circle', 'square', 'blue', 'dog', 'kitchen', 'redwood', 'circus'];

function open(): { db: Database.Database; file: string } {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'browse-count-')), 'p.sqlite');
  const { db } = openDatabase(file, { create: true, migrations: MIGRATIONS });
  db.prepare(
    "INSERT INTO jobs (id, kind, label, state, params, created_at, updated_at) VALUES (1, 'import', 't', 'done', '{}', 0, 0)",
  ).run();
  for (const id of [1, 2]) {
    db.prepare(
      "INSERT INTO sources (id, kind, path, images_root, import_job_id, imported_at) VALUES (?, 'llava', ?, '/img', 1, 0)",
    ).run(id, `/s${id}.json`);
  }
  db.prepare("INSERT INTO images (id, path, sha256, width, height, bytes) VALUES (1, '/img/a.jpg', ?, 1, 1, 1)").run(
    '0'.repeat(64),
  );
  return { db, file };
}

/** Inserts samples and indexes them in one transaction, as an import commit does. */
function insert(db: Database.Database, rows: Omit<Row, 'id'>[], from: number): Row[] {
  const stmt = db.prepare(
    "INSERT INTO samples (source_id, external_id, entry_index, image_id, image_count, question, answer, conversation, has_problems) VALUES (?, ?, ?, 1, 1, ?, ?, '[]', ?)",
  );
  return db.transaction(() => {
    const out = rows.map((r, i) => {
      const id = Number(
        stmt.run(r.sourceId, `e${from + i}`, from + i, r.question, r.answer, r.hasProblems ? 1 : 0).lastInsertRowid,
      );
      db.prepare('INSERT INTO samples_fts(rowid, question, answer) VALUES (?, ?, ?)').run(id, r.question, r.answer);
      return { ...r, id };
    });
    return out;
  })();
}

function generate(n: number, seed: number): Omit<Row, 'id'>[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const text = (k: number) => Array.from({ length: k }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
  return Array.from({ length: n }, () => ({
    sourceId: next() < 0.5 ? 1 : 2,
    question: text(3),
    answer: text(4),
    hasProblems: next() < 0.3,
  }));
}

/** The oracle: every word of the filter is a token of the text, the last one (3+ letters) as a prefix. */
function expected(rows: Row[], f: SampleFilter): number {
  const words = f.text?.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  return rows.filter((r) => {
    if (f.sourceId !== undefined && r.sourceId !== f.sourceId) return false;
    if (f.hasProblems !== undefined && r.hasProblems !== f.hasProblems) return false;
    const tokens = `${r.question} ${r.answer}`.split(' ');
    return words.every((w, i) =>
      tokens.some((t) => (i === words.length - 1 && w.length >= 3 ? t.startsWith(w) : t === w)),
    );
  }).length;
}

const FILTERS: SampleFilter[] = [
  {},
  { text: 'red' },
  { text: 'circ' },
  { text: 'dog red' },
  { text: 'nothing' },
  { sourceId: 2 },
  { hasProblems: true },
  { text: 'red', sourceId: 1 },
  { text: 'squ', hasProblems: false, sourceId: 2 },
];

const totalOf = (db: Database.Database, filter: SampleFilter, offset = 0) =>
  samplesPage(db, { offset, limit: 5, filter }).total;

describe('samples.page total', () => {
  it('counts every filter as the oracle does, on every page', () => {
    const { db } = open();
    const rows = insert(db, generate(300, 1), 0);
    for (const f of FILTERS) {
      const want = expected(rows, f);
      expect(totalOf(db, f), JSON.stringify(f)).toBe(want);
      // A later page (served from the cached count) reports the same total.
      expect(totalOf(db, f, 20), JSON.stringify(f)).toBe(want);
    }
    // The data exercises prefixes: 'circ' also matches 'circus'.
    expect(expected(rows, { text: 'circ' })).toBeGreaterThan(expected(rows, { text: 'circle' }));
    db.close();
  });

  it('follows an import, a deletion and a changed flag on the same connection', () => {
    const { db } = open();
    let rows = insert(db, generate(200, 2), 0);
    for (const f of FILTERS) totalOf(db, f);
    rows = rows.concat(insert(db, generate(150, 3), 200));
    for (const f of FILTERS) expect(totalOf(db, f, 10), JSON.stringify(f)).toBe(expected(rows, f));

    const gone = rows.filter((r) => r.question.includes('red')).slice(0, 20);
    for (const r of gone) db.prepare('DELETE FROM samples WHERE id = ?').run(r.id);
    rows = rows.filter((r) => !gone.includes(r));
    for (const f of FILTERS) expect(totalOf(db, f), JSON.stringify(f)).toBe(expected(rows, f));

    db.prepare('UPDATE samples SET has_problems = 1 WHERE source_id = 2').run();
    rows = rows.map((r) => (r.sourceId === 2 ? { ...r, hasProblems: true } : r));
    for (const f of FILTERS) expect(totalOf(db, f), JSON.stringify(f)).toBe(expected(rows, f));
    db.close();
  });

  it('follows rows another connection commits', () => {
    const { db, file } = open();
    let rows = insert(db, generate(100, 4), 0);
    for (const f of FILTERS) totalOf(db, f);
    const other = new Database(file);
    rows = rows.concat(insert(other, generate(80, 5), 100));
    other.close();
    for (const f of FILTERS) expect(totalOf(db, f), JSON.stringify(f)).toBe(expected(rows, f));
    db.close();
  });

  it('keeps counts right past the cache size, with many distinct filters in turn', () => {
    const { db } = open();
    const rows = insert(db, generate(120, 6), 0);
    const many: SampleFilter[] = Array.from({ length: 150 }, (_, i) => ({
      text: WORDS[i % WORDS.length]!,
      sourceId: 1 + (i % 2),
      hasProblems: i % 3 === 0,
    }));
    for (let round = 0; round < 2; round++) {
      for (const f of many) expect(totalOf(db, f), JSON.stringify(f)).toBe(expected(rows, f));
    }
    db.close();
  });
});
