// Browsing latency at 100k samples through the store worker (what the UI
// waits for): a grid page at random offsets, the same page filtered by
// problems, and full-text searches with their total count. Target p95 < 20 ms.
// Totals are cached per filter until the data changes; the "count uncached"
// case writes before every query so each one counts from scratch.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SampleFilter } from '../shared/api';
import { openDatabase } from '../electron/store/database';
import { MIGRATIONS } from '../electron/db/project.schema';
import { PROJECT_SCHEMA } from '../electron/db';
import { openStore } from '../electron/store/store';
import { ftsQuery, pageSql } from '../electron/store/queries/browse';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const SAMPLES = 100_000;
const ITERATIONS = 300;
const PAGE = 100;

/** A deterministic vocabulary so searches hit common and rare words alike. */
const WORDS = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}`).concat([
  'red',
  'circle',
  'square',
  'blue',
  'dog',
  'kitchen',
]);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function sentence(r: () => number, n: number): string {
  // Skewed choice (r^3): a few words are common, most are rare, like real text.
  return Array.from({ length: n }, () => WORDS[Math.floor(r() ** 3 * WORDS.length)]!).join(' ');
}

/** Fills a project database with SAMPLES rows through the real schema and its full-text index. */
export function populate(file: string): void {
  const { db } = openDatabase(file, { create: true, migrations: MIGRATIONS });
  const r = rng(7);
  db.transaction(() => {
    db.prepare(
      "INSERT INTO jobs (id, kind, label, state, params, created_at, updated_at) VALUES (1, 'import', 'bench', 'done', '{}', 0, 0)",
    ).run();
    db.prepare(
      "INSERT INTO sources (id, kind, path, images_root, import_job_id, imported_at) VALUES (1, 'llava', '/bench.json', '/img', 1, 0)",
    ).run();
    const image = db.prepare('INSERT INTO images (path, sha256, width, height, bytes) VALUES (?, ?, 640, 480, 50000)');
    for (let i = 0; i < 2000; i++) image.run(`/img/${i}.jpg`, i.toString(16).padStart(64, '0'));
    const sample = db.prepare(
      'INSERT INTO samples (source_id, external_id, entry_index, image_id, image_count, question, answer, conversation, has_problems) VALUES (1, ?, ?, ?, 1, ?, ?, ?, ?)',
    );
    for (let i = 0; i < SAMPLES; i++) {
      const q = sentence(r, 12);
      const a = sentence(r, 30);
      sample.run(
        `s${i}`,
        i,
        (i % 2000) + 1,
        q,
        a,
        JSON.stringify([
          { from: 'human', value: q },
          { from: 'gpt', value: a },
        ]),
        r() < 0.02 ? 1 : 0,
      );
    }
    // As an import commit does (migration 003).
    db.prepare('INSERT INTO samples_fts(rowid, question, answer) SELECT id, question, answer FROM samples').run();
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-browse-'));
  const file = path.join(dir, 'project.sqlite');
  const t0 = performance.now();
  populate(file);
  const populateSec = (performance.now() - t0) / 1000;
  const store = await openStore(file, { schema: PROJECT_SCHEMA });
  const r = rng(11);
  // A write between queries moves the data version, so the next count is not cached.
  let tick = 0;
  const write = async () => {
    await store.call('setMeta', { values: { benchTick: String(tick++) } });
  };
  const cases: [string, () => SampleFilter, () => number, (() => Promise<void>)?][] = [
    ['grid page (random offset)', () => ({}), () => Math.floor(r() * (SAMPLES - PAGE))],
    ['grid page, has problems', () => ({ hasProblems: true }), () => Math.floor(r() * 1500)],
    ['text search, common word + total', () => ({ text: 'red' }), () => 0],
    [
      'text search, word + 3-letter prefix + total',
      () => ({ text: `${WORDS[Math.floor(r() * 300)]} ${WORDS[300 + Math.floor(r() * 1600)]!.slice(0, 3)}` }),
      () => 0,
    ],
    [
      'text search, prefix of the commonest words + total',
      () => ({ text: 'w1' + WORDS[Math.floor(r() * 10)]!.slice(1, 2) }),
      () => 0,
    ],
    ['text search, rare word + total', () => ({ text: WORDS[1000 + Math.floor(r() * 900)]! }), () => 0],
    [
      'same prefix search, pages 2+ (random offset)',
      () => ({ text: 'w1' + WORDS[Math.floor(r() * 10)]!.slice(1, 2) }),
      () => PAGE * Math.floor(1 + r() * 50),
    ],
    [
      'prefix of the commonest words, count uncached',
      () => ({ text: 'w1' + WORDS[Math.floor(r() * 10)]!.slice(1, 2) }),
      () => 0,
      write,
    ],
  ];
  const rows: (string | number)[][] = [];
  for (const [name, filter, offset, before] of cases) {
    for (let i = 0; i < 20; i++) await store.call('samplesPage', { offset: offset(), limit: PAGE, filter: filter() });
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      await before?.();
      const start = performance.now();
      const page = await store.call('samplesPage', { offset: offset(), limit: PAGE, filter: filter() });
      times.push(performance.now() - start);
      total = page.total;
    }
    times.sort((a, b) => a - b);
    rows.push([name, percentile(times, 50), percentile(times, 95), total, percentile(times, 95) < 20 ? 'yes' : 'no']);
  }
  // The same grid query on a direct connection: what the worker round trip costs.
  const direct = new Database(file, { readonly: true });
  const stmt = direct.prepare('SELECT id FROM samples ORDER BY id LIMIT ? OFFSET ?');
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    stmt.all(PAGE, Math.floor(r() * (SAMPLES - PAGE)));
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  // Before the count cache and the FTS-only count: every query counted through the join to samples.
  const before = direct
    .prepare('SELECT count(*) FROM samples s WHERE s.id IN (SELECT rowid FROM samples_fts WHERE samples_fts MATCH ?)')
    .pluck();
  const oldTimes: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const filter = { text: 'w1' + WORDS[Math.floor(r() * 10)]!.slice(1, 2) };
    const page = pageSql(filter);
    const start = performance.now();
    before.get(ftsQuery(filter.text));
    direct.prepare(page.sql).all(...page.params, PAGE, 0);
    oldTimes.push(performance.now() - start);
  }
  oldTimes.sort((a, b) => a - b);
  const uncached = rows.find((row) => String(row[0]).endsWith('count uncached'))!;
  direct.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    columns: ['query at 100k samples', 'p50 ms', 'p95 ms', 'total matched', 'p95 < 20 ms'],
    rows,
    notes: [
      `${ITERATIONS} timed queries per case after 20 warm-up, page of ${PAGE}, measured through the store worker (message round trip included)`,
      `baseline: bare \`SELECT id ... LIMIT/OFFSET\` on a direct connection, p50 ${percentile(times, 50).toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms`,
      `before (join count on every query, the commonest-prefix search on a direct connection, no round trip): p50 ${percentile(oldTimes, 50).toFixed(1)} ms, p95 ${percentile(oldTimes, 95).toFixed(1)} ms; uncached now / before p95 ${(Number(uncached[2]) / percentile(oldTimes, 95)).toFixed(2)}`,
      `populating ${SAMPLES} samples and their FTS index: ${populateSec.toFixed(1)} s; peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
