// The store's typed contract: writes are a union over a table's query names
// (a wrong name/arguments pair does not compile: the @ts-expect-error lines
// below fail tsc if it ever does), a larger table's store serves a layer typed
// by a smaller one, and JSON columns that do not match their schema fail naming
// the table, row and column.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MIGRATIONS, type ProjectQueries } from '../../../electron/db/project.schema';
import type { ImportQueries } from '../../../electron/io/import-queries';
import { getJob, insertJob } from '../../../electron/jobs/queries';
import type { RespondQueries } from '../../../electron/pipeline/respond/queries';
import { openDatabase } from '../../../electron/store/database';
import { parseJsonColumn } from '../../../electron/store/json-column';
import type { Store } from '../../../electron/store/store';
import { runQuery, type Write } from '../../../electron/store/table';
import { AppError } from '../../../shared/errors';

const thrown = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
};

describe('typed writes', () => {
  it('accept a query name with its own arguments only', () => {
    const ok: Write<ImportQueries> = { method: 'discardImport', args: { jobId: 1 } };
    // @ts-expect-error commitImport needs kind, path and imagesRoot
    const missing: Write<ImportQueries> = { method: 'commitImport', args: { jobId: 1 } };
    // @ts-expect-error not a query of the import table
    const unknown: Write<ImportQueries> = { method: 'insertResponse', args: { jobId: 1 } };
    // A layer's writes are writes of the project's table.
    const widened: Write<ProjectQueries> = ok;
    expect([missing, unknown, widened].length).toBe(3);
  });

  it('lets the project store stand for a store of any layer table', () => {
    const asRespond = (store: Store<ProjectQueries>): Store<RespondQueries> => store;
    expect(typeof asRespond).toBe('function');
  });

  it('refuses a query name outside the table at run time', () => {
    const { db } = openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'table-')), 'p.sqlite'), {
      create: true,
      migrations: MIGRATIONS,
    });
    const error = thrown(() => runQuery({ getJob }, db, 'dropEverything', {}));
    expect(error.kind).toBe('internal');
    expect(error.message).toMatch(/unknown store query dropEverything/);
    db.close();
  });
});

describe('JSON columns', () => {
  it('name the table, row and column when the JSON is invalid or of the wrong shape', () => {
    const at = { table: 'jobs', row: 7, column: 'cursor' };
    const invalid = thrown(() => parseJsonColumn(z.object({ next: z.int() }), '{"next":', at));
    expect(invalid.kind).toBe('bad-file');
    expect(invalid.message).toMatch(/invalid JSON in jobs row 7, column cursor/);
    const wrong = thrown(() => parseJsonColumn(z.object({ next: z.int() }), '{"next":"3"}', at));
    expect(wrong.message).toMatch(/unexpected value in jobs row 7, column cursor: next:/);
    expect(parseJsonColumn(z.object({ next: z.int() }), '{"next":3}', at)).toEqual({ next: 3 });
  });

  it('are checked when a stored job is read back', () => {
    const { db } = openDatabase(path.join(mkdtempSync(path.join(os.tmpdir(), 'table-')), 'p.sqlite'), {
      create: true,
      migrations: MIGRATIONS,
    });
    const job = insertJob(db, { kind: 'import', label: 'i', params: {}, total: null });
    db.prepare('UPDATE jobs SET result = ? WHERE id = ?').run('[1, 2]', job.id);
    const error = thrown(() => getJob(db, { id: job.id }));
    expect(error.kind).toBe('bad-file');
    expect(error.message).toContain(`jobs row ${job.id}, column result`);
    db.close();
  });
});
