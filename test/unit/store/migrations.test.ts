// Store opening: migrations (order, atomicity, user_version), refusal of a
// database from a newer version, read-only on a damaged file, recovery of a
// crash's hot journal, query plans.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors';
import { openDatabase } from '../../../electron/store/database';
import { MIGRATIONS } from '../../../electron/db/project.schema';
import { checkMigrationOrder, latestVersion, type Migration } from '../../../electron/store/migrations';
import { countSql, ftsQuery, pageSql } from '../../../electron/store/queries/browse';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'store-'));
const noop = (version: number): Migration => ({ version, name: `m${version}`, up: () => undefined });

describe('migrations', () => {
  it('brings a new database to the latest version and sets user_version', () => {
    const file = path.join(tmp(), 'p.sqlite');
    const { db, version, readOnly } = openDatabase(file, { create: true, migrations: MIGRATIONS });
    expect(version).toBe(latestVersion(MIGRATIONS));
    expect(readOnly).toBe(false);
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion(MIGRATIONS));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    db.close();
  });

  it('accepts gaps and rejects versions that do not increase', () => {
    expect(() => checkMigrationOrder([noop(1), noop(100)])).not.toThrow();
    expect(() => checkMigrationOrder([noop(1), noop(1)])).toThrow(/must come after 1/);
    expect(() => checkMigrationOrder([noop(2), noop(1)])).toThrow(/versions must increase/);
    expect(() => checkMigrationOrder(MIGRATIONS)).not.toThrow();
  });

  it('applies pending migrations in one transaction: a failing one leaves nothing behind', () => {
    const file = path.join(tmp(), 'p.sqlite');
    openDatabase(file, { create: true, migrations: MIGRATIONS }).db.close();
    const failing: Migration[] = [
      ...MIGRATIONS,
      { version: latestVersion(MIGRATIONS) + 1, name: 'adds', up: (db) => db.exec('CREATE TABLE extra (x INTEGER)') },
      {
        version: latestVersion(MIGRATIONS) + 2,
        name: 'breaks',
        up: () => {
          throw new Error('boom');
        },
      },
    ];
    expect(() => openDatabase(file, { migrations: failing })).toThrow(/boom/);
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(latestVersion(MIGRATIONS));
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").pluck().get()).toBe(0);
    db.close();
  });

  it('refuses a database written by a newer version, naming the file', () => {
    const file = path.join(tmp(), 'p.sqlite');
    const { db } = openDatabase(file, { create: true, migrations: MIGRATIONS });
    db.pragma('user_version = 999');
    db.close();
    let error: unknown;
    try {
      openDatabase(file, { migrations: MIGRATIONS });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).kind).toBe('conflict');
    expect((error as AppError).message).toMatch(/newer version.*schema 999/);
    expect((error as AppError).message).toContain(file);
  });

  it('a missing file without create is not-found', () => {
    expect(() => openDatabase(path.join(tmp(), 'none.sqlite'), { migrations: MIGRATIONS })).toThrow(
      expect.objectContaining({ kind: 'not-found' }),
    );
  });
});

describe('damaged database', () => {
  it('is opened read-only and never written', () => {
    const file = path.join(tmp(), 'p.sqlite');
    const { db } = openDatabase(file, { create: true, migrations: MIGRATIONS });
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) put.run(`key-${i}`, 'x'.repeat(200));
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    // Overwrite the middle of a b-tree page (not the header page) with garbage.
    const pageSize = 4096;
    const pages = readFileSync(file).length / pageSize;
    const fd = openSync(file, 'r+');
    const page = Math.floor(pages / 2);
    writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, page * pageSize + 8);
    closeSync(fd);
    const before = createHash('sha256').update(readFileSync(file)).digest('hex');

    const opened = openDatabase(file, { migrations: MIGRATIONS });
    expect(opened.readOnly).toBe(true);
    expect(opened.damage).not.toBeNull();
    expect(() => opened.db.prepare("INSERT INTO meta (key, value) VALUES ('a', 'b')").run()).toThrow(/readonly/i);
    opened.db.close();
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(before);
  });
  it("a crash's hot rollback journal is rolled back on open, not taken for damage", () => {
    const dir = tmp();
    const file = path.join(dir, 'p.sqlite');
    const made = openDatabase(file, { create: true, migrations: MIGRATIONS });
    const put = made.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    made.db.transaction(() => {
      for (let i = 0; i < 2000; i++) put.run(`key-${i}`, 'x'.repeat(200));
    })();
    made.db.pragma('wal_checkpoint(TRUNCATE)');
    made.db.pragma('journal_mode = DELETE');
    // Mid-transaction, with pages spilled into the file: a copy of file + journal is what a kill leaves.
    made.db.pragma('cache_size = 2');
    made.db.exec("BEGIN; UPDATE meta SET value = 'torn' WHERE key LIKE 'key-%'");
    const crashed = path.join(dir, 'crashed.sqlite');
    const probe = path.join(dir, 'probe.sqlite');
    for (const to of [crashed, probe]) {
      copyFileSync(file, to);
      copyFileSync(`${file}-journal`, `${to}-journal`);
    }
    made.db.exec('ROLLBACK');
    made.db.close();
    // The case is real: a read-only connection cannot check this file.
    const ro = new Database(probe, { readonly: true });
    expect(() => ro.pragma('quick_check')).toThrow(expect.objectContaining({ code: 'SQLITE_READONLY_ROLLBACK' }));
    ro.close();

    const opened = openDatabase(crashed, { migrations: MIGRATIONS });
    expect(opened.readOnly).toBe(false);
    expect(opened.damage).toBeNull();
    expect(existsSync(`${crashed}-journal`)).toBe(false);
    const torn = opened.db.prepare("SELECT count(*) FROM meta WHERE value = 'torn'").pluck().get();
    const kept = opened.db.prepare("SELECT count(*) FROM meta WHERE key LIKE 'key-%'").pluck().get();
    expect([torn, kept]).toEqual([0, 2000]);
    opened.db.close();
  });
});

describe('browse query plans', () => {
  const plan = (db: Database.Database, sql: string, params: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' | ');

  it('use the FTS index for text search and narrow indexes to pick the page of ids', () => {
    const { db } = openDatabase(path.join(tmp(), 'p.sqlite'), { create: true, migrations: MIGRATIONS });
    const text = pageSql({ text: 'red circle' });
    expect(plan(db, text.sql, [...text.params, 10, 0])).toMatch(/samples_fts VIRTUAL TABLE INDEX/);
    const grid = pageSql({});
    expect(plan(db, grid.sql, [10, 0])).toMatch(/SCAN s USING COVERING INDEX samples_order/);
    const bySource = pageSql({ sourceId: 1 });
    expect(plan(db, bySource.sql, [...bySource.params, 10, 0])).toMatch(
      /SEARCH s USING COVERING INDEX samples_by_source/,
    );
    const byProblems = pageSql({ hasProblems: true });
    expect(plan(db, byProblems.sql, [...byProblems.params, 10, 0])).toMatch(
      /SEARCH s USING COVERING INDEX samples_by_problems/,
    );
    // A text-only total reads the FTS index alone; with another filter it joins samples through an index.
    const textCount = countSql({ text: 'red circle' });
    expect(plan(db, textCount.sql, textCount.params)).toMatch(/^SCAN samples_fts VIRTUAL TABLE INDEX/);
    expect(plan(db, textCount.sql, textCount.params)).not.toMatch(/\bs\b|samples /);
    const textBySource = countSql({ text: 'red', sourceId: 1 });
    expect(plan(db, textBySource.sql, textBySource.params)).toMatch(
      /SEARCH s USING COVERING INDEX samples_by_source.*samples_fts VIRTUAL TABLE INDEX|samples_fts VIRTUAL TABLE INDEX.*samples_by_source/,
    );
    db.close();
  });
});

describe('text search query', () => {
  it('requires every word, prefix-matches a last word of 3+ letters, and ignores FTS syntax', () => {
    expect(ftsQuery('red circ')).toBe('"red" "circ"*');
    expect(ftsQuery('a red')).toBe('"a" "red"*');
    expect(ftsQuery('red ci')).toBe('"red" "ci"');
    expect(ftsQuery('NEAR("x" OR y)*')).toBe('"NEAR" "x" "OR" "y"');
    expect(ftsQuery(' -- ')).toBeNull();
  });
});
