// The review page's queries at 100k pairs against a plain-JS oracle over the
// same rows: random filter / sort / page combinations (fast-check) must give
// the oracle's ids in the oracle's order and its total. The rows are written
// through the pipeline's store queries, so the derived tables are the triggers' work.
import type { Database } from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairsPage } from '../../../electron/pipeline/store/pairs';
import { PIPELINE_QUERIES } from '../../../electron/pipeline/store/queries';
import { openDatabase } from '../../../electron/store/database';
import { MIGRATIONS } from '../../../electron/db/project.schema';
import { PAIR_SORT_KEYS, type PairFilter, type PairSort } from '../../../shared/pipeline/commands';
import { FORMATS } from '../../../shared/pipeline/formats';
import { CHECKS } from '../../../shared/pipeline/types';
import { VOCABULARY, writeSyntheticPairs, type SyntheticPair } from '../../helpers/synthetic-pairs';

const N = 100_000;

let dir: string;
let db: Database;
let rows: SyntheticPair[];
/** Lower-cased words of prompt, chosen and rejected, per row (what the FTS index tokenises). */
let words: Set<string>[];

const tokens = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pairs-oracle-'));
  const file = path.join(dir, 'project.sqlite');
  rows = writeSyntheticPairs(file, N, 5);
  words = rows.map((r) => new Set([...tokens(r.prompt), ...tokens(r.chosen), ...tokens(r.rejected)]));
  db = openDatabase(file, { migrations: MIGRATIONS }).db;
}, 600_000);

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** ftsQuery's meaning (store/queries/browse.ts): every word must occur; the last one, when 3+ letters, as a prefix. */
function textMatches(text: string, have: Set<string>): boolean {
  const wanted = tokens(text);
  return wanted.every((w, i) =>
    i === wanted.length - 1 && w.length >= 3 ? [...have].some((h) => h.startsWith(w)) : have.has(w),
  );
}

function oracle(filter: PairFilter, sort: PairSort, offset: number, limit: number): { total: number; ids: number[] } {
  const hasText = filter.text !== undefined && tokens(filter.text).length > 0;
  const matching = rows.filter(
    (r, k) =>
      (filter.format === undefined || filter.format.includes(r.format)) &&
      (filter.imageCount === undefined || filter.imageCount.includes(r.imageCount)) &&
      (filter.decision === undefined || filter.decision.includes(r.decision ?? 'undecided')) &&
      (filter.review === undefined || filter.review.includes(r.review)) &&
      (filter.failed === undefined || r.failed.includes(filter.failed)) &&
      (!hasText || textMatches(filter.text!, words[k]!)),
  );
  const sign = sort.dir === 'desc' ? -1 : 1;
  const by = sort.by;
  const sorted =
    by === 'id'
      ? matching.sort((a, b) => sign * (a.id - b.id))
      : matching.sort((a, b) => {
          const [x, y] = [a.values[by], b.values[by]];
          if (x === null || y === null) return x === y ? a.id - b.id : x === null ? 1 : -1;
          return x !== y ? sign * (x - y) : a.id - b.id;
        });
  return { total: matching.length, ids: sorted.slice(offset, offset + limit).map((r) => r.id) };
}

const some = <T>(values: readonly T[]) =>
  fc.option(fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: values.length }), { nil: undefined });

const filterArb: fc.Arbitrary<PairFilter> = fc
  .record({
    format: some(FORMATS),
    imageCount: some([2, 3, 4, 5, 6, 9]),
    decision: some(['keep', 'drop', 'undecided'] as const),
    review: some(['pending', 'accepted', 'rejected'] as const),
    failed: fc.option(fc.constantFrom(...CHECKS), { nil: undefined }),
    text: fc.option(
      fc.oneof(
        fc.constantFrom(...VOCABULARY),
        fc.constantFrom(...VOCABULARY).map((w) => w.slice(0, 3)),
        fc
          .tuple(fc.constantFrom(...VOCABULARY.slice(0, 40)), fc.constantFrom(...VOCABULARY))
          .map(([a, b]) => `${a.toUpperCase()} ${b}`),
        fc.constantFrom('image1', 'In Image1', 'dog', 'do', '!!'),
      ),
      { nil: undefined, freq: 3 },
    ),
  })
  .map((f) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as PairFilter);

const sortArb: fc.Arbitrary<PairSort> = fc.record({
  by: fc.constantFrom(...PAIR_SORT_KEYS),
  dir: fc.constantFrom('asc' as const, 'desc' as const),
});
/** Small, deep and past-the-end offsets alike. */
const offsetArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: N }),
  fc.integer({ min: N - 200, max: N + 100 }),
);

describe('pairs page at 100k pairs', () => {
  it('matches the JS oracle for random filters, sorts and pages', () => {
    let nonEmpty = 0;
    fc.assert(
      fc.property(filterArb, sortArb, offsetArb, fc.integer({ min: 1, max: 500 }), (filter, sort, offset, limit) => {
        const got = pairsPage(db, { offset, limit, filter, sort });
        const want = oracle(filter, sort, offset, limit);
        expect(got.total).toBe(want.total);
        expect(got.items.map((p) => p.id)).toEqual(want.ids);
        if (want.ids.length > 0) nonEmpty++;
      }),
      { numRuns: 150, seed: 8 },
    );
    // The generator must reach pages with rows, or the comparison says little.
    expect(nonEmpty).toBeGreaterThan(40);
  });

  it('pages a sort of many ties and NULLs without gaps or repeats, with the oracle', () => {
    // A broad filter sorted descending walks both halves from their own end, seeking each deep page's first value (pairs.ts seekMixed).
    for (const [filter, sort] of [
      [{ format: ['grid'] }, { by: 'exact_ratio', dir: 'desc' }],
      [{ format: ['grid'] }, { by: 'edit_distance_tokens', dir: 'asc' }],
      [{ review: ['pending'] }, { by: 'edit_distance', dir: 'desc' }],
    ] satisfies [PairFilter, PairSort][]) {
      const want = oracle(filter, sort, 0, N);
      const seen: number[] = [];
      for (let offset = 0; offset < want.total; offset += 500)
        seen.push(...pairsPage(db, { offset, limit: 500, filter, sort }).items.map((p) => p.id));
      expect(seen).toEqual(want.ids);
    }
  });

  it('reads what the store holds: decisions and reviews as stored, counts that follow writes', () => {
    const row = rows.find((r) => r.decision === 'drop' && r.review === 'pending')!;
    const view = pairsPage(db, {
      offset: 0,
      limit: 500,
      filter: { text: row.rejected },
      sort: { by: 'id', dir: 'asc' },
    }).items.find((p) => p.id === row.id);
    expect(view).toMatchObject({
      decision: 'drop',
      failed: row.failed,
      review: 'pending',
      reasons: row.failed.map((c) => `${c} failed`),
    });
    const accepted = () =>
      pairsPage(db, { offset: 0, limit: 1, filter: { review: ['accepted'] }, sort: { by: 'id', dir: 'asc' } }).total;
    const before = accepted();
    expect(before).toBe(oracle({ review: ['accepted'] }, { by: 'id', dir: 'asc' }, 0, 1).total);
    PIPELINE_QUERIES.reviewPair(db, { pairId: row.id, action: 'accept' });
    expect(accepted()).toBe(before + 1);
  });
});
